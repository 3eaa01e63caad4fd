"""`millionaires`: Yao's millionaires problem between guest and host under a garbled circuit."""

# The guest garbles a comparator for two `bits`-bit unsigned values and the host evaluates it,
# obtaining its input labels by oblivious transfer; both learn only whether the guest's value
# is greater (semi-honest security).

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.mpc import millionaires
from chaihuo.runtime import Context

__all__ = ["MILLIONAIRES"]


class MillionairesParams(ComponentParams):
    """This party's private fortune."""

    value: int = Field(ge=0, description="This party's fortune, an unsigned integer.")
    bits: int = Field(64, ge=1, le=256)

    @model_validator(mode="after")
    def _fits(self) -> MillionairesParams:
        if self.value >> self.bits:
            raise ValueError(f"value does not fit in {self.bits} bits")
        return self


def _run(ctx: Context, params: MillionairesParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    if ctx.role == Role.GUEST:
        answer = millionaires(ctx.hosts[0].sub("yao"), params.value, "garbler", bits=params.bits)
    else:
        answer = millionaires(ctx.guest.sub("yao"), params.value, "evaluator", bits=params.bits)
    ctx.metrics.log("guest_richer", float(answer))
    return {"result": {"guest_richer": bool(answer)}}


MILLIONAIRES = ComponentSpec(
    name="millionaires",
    version="1.0",
    description="Whether the guest's fortune exceeds the host's; nothing else is revealed.",
    params=MillionairesParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST), _run),
    outputs=("result",),
)
