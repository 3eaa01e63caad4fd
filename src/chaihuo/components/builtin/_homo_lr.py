"""`homo_lr`: horizontal logistic regression of clients and a server (FedAvg and successors)."""

# Protocol, strategies, secure aggregation, DP and what each role learns: chaihuo.ml.homo.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.ml.homo import HomoLrParams, run_client, run_server
from chaihuo.runtime import Context

__all__ = ["HOMO_LR", "horizontal_outputs"]


class HomoLrComponentParams(HomoLrParams, ComponentParams):
    """homo_lr's parameters (see `HomoLrParams`)."""


def _client(
    ctx: Context, params: HomoLrComponentParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_client(ctx, params, inputs)


def _server(
    ctx: Context, params: HomoLrComponentParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_server(ctx, params, inputs)


def horizontal_outputs(role: Role, raw_params: Mapping[str, Any]) -> frozenset[str]:
    """A horizontal learner's outputs: the model everywhere, predictions on clients; only
    predictions when it predicts (`predict_only`, or 0 rounds / trees)."""
    predict = bool(raw_params.get("predict_only")) or 0 in (
        raw_params.get("rounds"),
        raw_params.get("num_trees"),
    )
    if role is Role.CLIENT:
        return frozenset({"predictions"} if predict else {"model", "predictions"})
    return frozenset() if predict else frozenset({"model"})


HOMO_LR = ComponentSpec(
    name="homo_lr",
    version="1.0",
    description="Horizontal logistic regression: clients train the global model on their own "
    "rows each round, a server combines their updates (FedAvg, FedProx, FedAdam, FedYogi, "
    "FedAdagrad, SCAFFOLD) under dropout-tolerant secure aggregation, optional client-level DP; "
    "binary or multinomial; predicts with `model` + `test`.",
    params=HomoLrComponentParams,
    runners={Role.CLIENT: _client, Role.SERVER: _server},
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.CLIENT, Role.SERVER}),
    produces=horizontal_outputs,
    produces_hint="predictions stay with each client",
)
