"""`hetero_linr`: vertical linear regression (squared loss) with an arbiter, as FATE's."""

# Protocol and what each role learns: chaihuo.ml.glm (module comments of guest, host, arbiter).

from __future__ import annotations

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.components.builtin._glm_runners import glm_runners
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
)
