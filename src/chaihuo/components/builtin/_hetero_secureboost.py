"""`hetero_secureboost`: vertical gradient boosting of a guest (labels) and hosts (SecureBoost)."""

# Protocol, objectives and what each role learns: chaihuo.ml.boost.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import ComponentParams, ComponentSpec, learner_outputs
from chaihuo.core import Role
from chaihuo.ml.boost import BoostParams, run_guest, run_host
from chaihuo.runtime import Context

__all__ = ["HETERO_SECUREBOOST"]


class HeteroSecureBoostParams(BoostParams, ComponentParams):
    """SecureBoost's parameters (see `BoostParams`)."""


def _guest(
    ctx: Context, params: HeteroSecureBoostParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_guest(ctx, params, inputs)


def _host(
    ctx: Context, params: HeteroSecureBoostParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    return run_host(ctx, params, inputs)


HETERO_SECUREBOOST = ComponentSpec(
    name="hetero_secureboost",
    version="1.0",
    description="Vertical gradient-boosted trees of a guest (labels) and one or more hosts: "
    "gradients encrypted under the guest's key, hosts' thresholds kept on the hosts; binary "
    "softmax or squared-error objective; validation early stopping; predicts with `model` + "
    "`test`.",
    params=HeteroSecureBoostParams,
    runners={Role.GUEST: _guest, Role.HOST: _host},
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.GUEST, Role.HOST}),
    produces=learner_outputs,
    produces_hint="predictions stay with the guest",
)
