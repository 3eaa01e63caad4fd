"""`secure_add`: FATE's SecureAddExample — a joint sum of two parties' numbers by secret sharing."""

# Guest (party 0) and host (party 1) each draw `data_num` numbers from their own seed, spread
# over `partition` partitions of their computing backend (`values: ones` makes every number 1,
# as FATE's SecureAddExample does: the sum is then 2 × data_num). Both vectors are additively shared
# over Z_2^64 (fixed point, 16 fractional bits); the parties add shares locally, sum them and
# open only the total. With `verify`, each party then shares its own plaintext total so both
# can check the secure result (this reveals each party's total — it is the example's check,
# off in real use).

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.mpc import Session
from chaihuo.runtime import Context

__all__ = ["SECURE_ADD"]

_TOLERANCE_PER_VALUE = 2.0**-16  # two encodings rounded to 2^-17 each


class SecureAddParams(ComponentParams):
    """The seed's parameters: this party's seed, partitions and how many numbers."""

    seed: int = Field(description="This party's random seed (data generation only).")
    partition: int = Field(4, ge=1, le=1024)
    data_num: int = Field(1000, ge=1, le=50_000_000)
    verify: bool = Field(True, description="Exchange plaintext totals to check the result.")
    values: Literal["seeded", "ones"] = Field(
        "seeded", description="seeded: uniform [0, 100) from the seed; ones: FATE's example."
    )


class _Draw:
    """Per-partition generator: numbers of partition i come from seed (seed, i)."""

    def __init__(self, seed: int, total: int, partitions: int, *, ones: bool) -> None:
        self.seed, self.total, self.partitions, self.ones = seed, total, partitions, ones

    def __call__(self, index: int, items: Iterator[tuple[Any, Any]]) -> list[tuple[int, Any]]:
        keys = [key for key, _ in items]
        if self.ones:
            return [(key, 1.0) for key in keys]
        rng = np.random.default_rng([self.seed, index])
        return list(zip(keys, rng.uniform(0.0, 100.0, len(keys)).tolist(), strict=True))


def _numbers(ctx: Context, params: SecureAddParams) -> np.ndarray:
    table = ctx.computing.parallelize(range(params.data_num), partitions=params.partition)
    drawn = table.mapPartitionsWithIndex(
        _Draw(params.seed, params.data_num, params.partition, ones=params.values == "ones")
    )
    return np.array([value for _, value in sorted(drawn.collect())], dtype=np.float64)


def _guest(ctx: Context, params: SecureAddParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return _run(ctx, params, 0)


def _host(ctx: Context, params: SecureAddParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return _run(ctx, params, 1)


def _run(ctx: Context, params: SecureAddParams, index: int) -> dict[str, Any]:
    values = _numbers(ctx, params)
    peer = ctx.hosts[0] if ctx.role == Role.GUEST else ctx.guest
    with Session(index, {1 - index: peer.sub("ss")}) as session:
        x = session.input(0, values if index == 0 else None, shape=(params.data_num,))
        y = session.input(1, values if index == 1 else None, shape=(params.data_num,))
        total = (x + y).sum().reveal()
    secure = float(np.asarray(total).reshape(-1)[0])
    ctx.metrics.log("secure_sum", secure)
    result: dict[str, Any] = {"secure_sum": secure, "values": params.data_num}
    if params.verify:
        peer.put("plain_total", float(values.sum()))
        plain = float(values.sum()) + float(peer.get("plain_total"))  # type: ignore[arg-type]
        error = abs(secure - plain)
        bound = 2 * params.data_num * _TOLERANCE_PER_VALUE
        ctx.metrics.log("plaintext_sum", plain)
        ctx.metrics.log("abs_error", error)
        ctx.metrics.log("match", float(error <= bound))
        result.update(plaintext_sum=plain, abs_error=error, match=error <= bound)
    return {"result": result}


SECURE_ADD = ComponentSpec(
    name="secure_add",
    version="1.0",
    description="Secret-shared sum of guest and host numbers, checked against the plain sum.",
    params=SecureAddParams,
    runners={Role.GUEST: _guest, Role.HOST: _host},
    outputs=("result",),
)
