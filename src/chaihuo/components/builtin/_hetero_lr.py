"""`hetero_lr`: vertical logistic regression with an arbiter (Taylor loss, OvR multi-class)."""

# Protocol and what each role learns: chaihuo.ml.glm (module comments of guest, host, arbiter).

from __future__ import annotations

from chaihuo.components._spec import ComponentParams, ComponentSpec, learner_outputs
from chaihuo.components.builtin._glm_runners import glm_runners
from chaihuo.core import Role
from chaihuo.ml.glm import LOGISTIC, GlmParams

__all__ = ["HETERO_LR"]


class HeteroLrParams(GlmParams, ComponentParams):
    """FATE's hetero LR parameters (see `GlmParams`)."""


HETERO_LR = ComponentSpec(
    name="hetero_lr",
    version="1.0",
    description="Vertical logistic regression (guest, hosts, arbiter; Paillier, masked "
    "gradients); one-vs-rest for more than two classes; predicts with `model` + `test`.",
    params=HeteroLrParams,
    runners=glm_runners(LOGISTIC),
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.GUEST, Role.HOST, Role.ARBITER}),
    produces=learner_outputs,
    produces_hint="predictions stay with the guest",
)
