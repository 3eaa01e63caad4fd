"""The role runners every vertical GLM component shares: guest, hosts and arbiter of a family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.components._spec import RoleRunner
from chaihuo.core import Role
from chaihuo.ml.glm import Family, GlmParams, run_arbiter, run_guest, run_host
from chaihuo.runtime import Context

__all__ = ["glm_runners"]


def glm_runners(family: Family) -> dict[Role, RoleRunner]:
    """Runners of `family`; the guest passes `exposure_colname` when the params have one."""

    def guest(ctx: Context, params: GlmParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
        exposure = getattr(params, "exposure_colname", None)
        return run_guest(ctx, family, params, inputs, exposure_colname=exposure)

    def host(ctx: Context, params: GlmParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return run_host(ctx, family, params, inputs)

    def arbiter(ctx: Context, params: GlmParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return run_arbiter(ctx, family, params, inputs)

    return {Role.GUEST: guest, Role.HOST: host, Role.ARBITER: arbiter}
