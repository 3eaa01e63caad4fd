"""`hetero_sshe_lr`: arbiter-free two-party vertical LR (secret sharing + Paillier, CAESAR)."""

# Protocol, sigmoid approximation and what each role learns: chaihuo.ml.sshe (package and
# role module comments).

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import ComponentParams, ComponentSpec, learner_outputs
from chaihuo.core import Role
from chaihuo.ml.sshe import SsheParams, run_guest, run_host
from chaihuo.runtime import Context

__all__ = ["HETERO_SSHE_LR"]


class HeteroSsheLrParams(SsheParams, ComponentParams):
    """FATE's hetero_sshe_lr parameters (see `SsheParams`)."""


def _guest(ctx: Context, params: HeteroSsheLrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_guest(ctx, params, inputs)


def _host(ctx: Context, params: HeteroSsheLrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return run_host(ctx, params, inputs)


HETERO_SSHE_LR = ComponentSpec(
    name="hetero_sshe_lr",
    version="1.0",
    description="Vertical logistic regression of one guest and one host without an arbiter "
    "(weights secret-shared, cross products under Paillier); one-vs-rest for more than two "
    "classes; predicts with `model` + `test`.",
    params=HeteroSsheLrParams,
    runners={Role.GUEST: _guest, Role.HOST: _host},
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.GUEST, Role.HOST}),
    produces=learner_outputs,
    produces_hint="predictions stay with the guest",
)
