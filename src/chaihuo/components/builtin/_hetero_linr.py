"""`hetero_linr`: vertical linear regression (squared loss) with an arbiter, as FATE's."""

# Protocol and what each role learns: chaihuo.ml.glm (module comments of guest, host, arbiter).

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.ml.glm import LINEAR, GlmParams, run_arbiter, run_guest, run_host
from chaihuo.runtime import Context

__all__ = ["HETERO_LINR"]


class HeteroLinrParams(GlmParams, ComponentParams):
    """FATE's hetero LinR parameters (see `GlmParams`)."""


def _guest(ctx: Context, params: HeteroLinrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_guest(ctx, LINEAR, params, inputs)


def _host(ctx: Context, params: HeteroLinrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_host(ctx, LINEAR, params, inputs)


def _arbiter(ctx: Context, params: HeteroLinrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_arbiter(ctx, LINEAR, params, inputs)


HETERO_LINR = ComponentSpec(
    name="hetero_linr",
    version="1.0",
    description="Vertical linear regression (guest, hosts, arbiter; Paillier, masked "
    "gradients); predicts with `model` + `test`.",
    params=HeteroLinrParams,
    runners={Role.GUEST: _guest, Role.HOST: _host, Role.ARBITER: _arbiter},
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
)
