"""`hetero_poisson`: vertical Poisson regression (log link, optional exposure) with an arbiter."""

# Protocol and what each role learns: chaihuo.ml.glm (module comments of guest, host, arbiter).
# Hosts send [[exp(u_h)]]; the guest forms [[μ]] = e·exp(u_g)·[[exp(u_h)]], so one host only
# (FATE's restriction). FATE's dvisits example names an exposure column the data lacks: a
# missing `exposure_colname` column means exposure 1 (with a warning).

from __future__ import annotations

from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec, learner_outputs
from chaihuo.components.builtin._glm_runners import glm_runners
from chaihuo.core import Role
from chaihuo.ml.glm import POISSON, GlmParams

__all__ = ["HETERO_POISSON"]


class HeteroPoissonParams(GlmParams, ComponentParams):
    """FATE's hetero Poisson parameters (see `GlmParams`) and the guest's exposure column."""

    exposure_colname: str | None = Field(
        None, description="Guest feature column holding the exposure e (μ = e·exp(Xw))."
    )


HETERO_POISSON = ComponentSpec(
    name="hetero_poisson",
    version="1.0",
    description="Vertical Poisson regression (guest, one host, arbiter; Paillier, masked "
    "gradients); optional exposure; predicts with `model` + `test`.",
    params=HeteroPoissonParams,
    runners=glm_runners(POISSON),
    optional_inputs=("train", "validate", "test", "model"),
    outputs=("model", "predictions"),
    required_roles=frozenset({Role.GUEST, Role.HOST, Role.ARBITER}),
    produces=learner_outputs,
    produces_hint="predictions stay with the guest",
)
