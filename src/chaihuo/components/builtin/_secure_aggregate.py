"""`secure_aggregate`: the arbiter learns the sum of guest and host vectors and nothing else."""

# chaihuo.mpc's secure aggregation (Bonawitz et al., CCS 2017): guest and hosts mask their
# vectors in Z_2^64 with pairwise and self masks whose seeds are Shamir-shared; the masks
# cancel in the sum. Every contributor must take part (the threshold is all of them, no
# dropout: a demo of two or three parties has none to spare). The arbiter publishes the sum
# back to the contributors.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.mpc import secagg_client, secagg_server
from chaihuo.runtime import Context

__all__ = ["SECURE_AGGREGATE"]


class SecureAggregateParams(ComponentParams):
    """Each contributor's synthetic vector: its seed and the vector length."""

    seed: int | None = Field(None, description="Contributor's data seed (unused by the arbiter).")
    size: int = Field(100, ge=1, le=10_000_000)


def _domain(ctx: Context) -> bytes:
    return f"chaihuo-secure-aggregate|{ctx.job_id}|{'.'.join(ctx.namespace)}".encode()


def _contribute(
    ctx: Context, params: SecureAggregateParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    values = np.random.default_rng(params.seed).uniform(-10.0, 10.0, params.size)
    secagg_client(ctx.arbiter.sub("sum"), values, domain=_domain(ctx))
    total = np.asarray(ctx.arbiter.get("total"), dtype=np.float64)
    ctx.metrics.log("total_of_sum", float(total.sum()))
    return {"sum": total}


def _aggregate(
    ctx: Context, params: SecureAggregateParams, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    contributors = [*ctx.peers(Role.GUEST).sub("sum"), *ctx.hosts.sub("sum")]
    result = secagg_server(
        contributors, domain=_domain(ctx), shape=(params.size,), threshold=len(contributors),
        deadline_s=None,
    )  # fmt: skip
    total = np.asarray(result.total, dtype=np.float64)
    ctx.peers(Role.GUEST).put("total", total)
    ctx.hosts.put("total", total)
    ctx.metrics.log("contributors", len(contributors))
    ctx.metrics.log("total_of_sum", float(total.sum()))
    return {"sum": total}


SECURE_AGGREGATE = ComponentSpec(
    name="secure_aggregate",
    version="1.0",
    description="Arbiter-side sum of guest and host vectors under pairwise masks.",
    params=SecureAggregateParams,
    runners={Role.GUEST: _contribute, Role.HOST: _contribute, Role.ARBITER: _aggregate},
    outputs=("sum",),
)
