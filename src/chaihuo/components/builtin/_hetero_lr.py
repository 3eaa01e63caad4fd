"""`hetero_lr`: vertical logistic regression with an arbiter (Taylor loss, OvR multi-class)."""

# Protocol and what each role learns: chaihuo.ml.glm (module comments of guest, host, arbiter).

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.ml.glm import LOGISTIC, GlmParams, run_arbiter, run_guest, run_host
from chaihuo.runtime import Context

__all__ = ["HETERO_LR"]


class HeteroLrParams(GlmParams, ComponentParams):
    """FATE's hetero LR parameters (see `GlmParams`)."""


def _guest(ctx: Context, params: HeteroLrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_guest(ctx, LOGISTIC, params, inputs)


def _host(ctx: Context, params: HeteroLrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_host(ctx, LOGISTIC, params, inputs)


def _arbiter(ctx: Context, params: HeteroLrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_arbiter(ctx, LOGISTIC, params, inputs)


HETERO_LR = ComponentSpec(
    name="hetero_lr",
    version="1.0",
    description="Vertical logistic regression (guest, hosts, arbiter; Paillier, masked "
    "gradients); one-vs-rest for more than two classes; predicts with `model` + `test`.",
    params=HeteroLrParams,
    runners={Role.GUEST: _guest, Role.HOST: _host, Role.ARBITER: _arbiter},
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
)
