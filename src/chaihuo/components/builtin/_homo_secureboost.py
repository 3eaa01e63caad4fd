"""`homo_secureboost`: horizontal gradient-boosted trees of clients and a server."""

# Binning, histograms, splits and what each role learns: chaihuo.ml.homoboost.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.components.builtin._homo_lr import horizontal_outputs
from chaihuo.core import Role
from chaihuo.ml.homoboost import HomoBoostParams, run_client, run_server
from chaihuo.runtime import Context

__all__ = ["HOMO_SECUREBOOST"]


class HomoSecureBoostParams(HomoBoostParams, ComponentParams):
    """homo_secureboost's parameters (see `HomoBoostParams`)."""


def _client(
    ctx: Context, params: HomoSecureBoostParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_client(ctx, params, inputs)


def _server(
    ctx: Context, params: HomoSecureBoostParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_server(ctx, params, inputs)


HOMO_SECUREBOOST = ComponentSpec(
    name="homo_secureboost",
    version="1.0",
    description="Horizontal gradient-boosted trees: quantile cuts of the union by bisection "
    "on securely summed counts, per level the clients' (g, h, count) histograms summed "
    "securely (smaller child asked, sibling by subtraction), splits and leaves found by the "
    "server with XGBoost's formulas; binary or softmax; the same trees as the plaintext "
    "reference on the union; predicts with `model` + `test`.",
    params=HomoSecureBoostParams,
    runners={Role.CLIENT: _client, Role.SERVER: _server},
    optional_inputs=("train", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.CLIENT, Role.SERVER}),
    produces=horizontal_outputs,
    produces_hint="predictions stay with each client",
)
