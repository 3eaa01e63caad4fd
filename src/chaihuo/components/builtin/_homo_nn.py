"""`homo_nn`: a horizontal multi-layer perceptron declared as layers, trained by FedAvg and kin."""

# The network, its parameters on the wire and what each role learns: chaihuo.ml.homo.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.components.builtin._homo_lr import horizontal_outputs
from chaihuo.core import Role
from chaihuo.ml.homo import MLP, HomoNnParams, run_client, run_server
from chaihuo.runtime import Context

__all__ = ["HOMO_NN"]


class HomoNnComponentParams(HomoNnParams, ComponentParams):
    """homo_nn's parameters (see `HomoNnParams`)."""


def _client(
    ctx: Context, params: HomoNnComponentParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_client(ctx, params, inputs, MLP)


def _server(
    ctx: Context, params: HomoNnComponentParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_server(ctx, params, inputs, MLP)


HOMO_NN = ComponentSpec(
    name="homo_nn",
    version="1.0",
    description="Horizontal neural network: a multi-layer perceptron declared in the job "
    "file (hidden layers of units and activation; sigmoid or softmax output), trained by "
    "clients' local mini-batch SGD and the server's FedAvg / FedProx / FedAdam / FedYogi / "
    "FedAdagrad / SCAFFOLD under dropout-tolerant secure aggregation; parameters cross as "
    "plain floats, never code; optional client-level DP; predicts with `model` + `test`.",
    params=HomoNnComponentParams,
    runners={Role.CLIENT: _client, Role.SERVER: _server},
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.CLIENT, Role.SERVER}),
    produces=horizontal_outputs,
    produces_hint="predictions stay with each client",
)
