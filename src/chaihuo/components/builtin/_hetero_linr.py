"""`hetero_linr`: vertical linear regression (squared loss) with an arbiter, as FATE's."""

# Protocol and what each role learns: chaihuo.ml.glm (module comments of guest, host, arbiter).

from __future__ import annotations

from chaihuo.components._spec import ComponentParams, ComponentSpec, learner_outputs
from chaihuo.components.builtin._glm_runners import glm_runners
from chaihuo.core import Role
from chaihuo.ml.glm import LINEAR, GlmParams

__all__ = ["HETERO_LINR"]


class HeteroLinrParams(GlmParams, ComponentParams):
    """FATE's hetero LinR parameters (see `GlmParams`)."""


HETERO_LINR = ComponentSpec(
    name="hetero_linr",
    version="1.0",
    description="Vertical linear regression (guest, hosts, arbiter; Paillier, masked "
    "gradients); predicts with `model` + `test`.",
    params=HeteroLinrParams,
    runners=glm_runners(LINEAR),
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.GUEST, Role.HOST, Role.ARBITER}),
    produces=learner_outputs,
    produces_hint="predictions stay with the guest",
)
