"""Additive n-of-n secret sharing over Z_2^64 and the share-local linear operations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import InvalidCryptoInputError
from chaihuo.crypto._random import random_uint64
from chaihuo.crypto.sharing._fixed_point import FixedPointEncoding
from chaihuo.crypto.sharing._ring import (
    RingArray,
    Shareholder,
    check_ring,
    check_same_shape,
    encode_int64,
)

__all__ = [
    "add",
    "add_public",
    "mul_public",
    "mul_public_fixed",
    "neg",
    "reconstruct",
    "share",
    "sub",
    "sub_public",
]

# x = x_0 + ... + x_{n-1} mod 2^64 with x_0..x_{n-2} uniform: any n-1 shares are uniform and
# independent of x (perfect privacy against n-1 colluding parties). Linear maps act share-wise;
# public terms are added by exactly one party (the leader, see `Shareholder`).


def share(secret: RingArray, n_parties: int) -> list[RingArray]:
    """Split a ring array into `n_parties` additive shares (index i goes to party i)."""
    x = check_ring(secret, "secret")
    if isinstance(n_parties, bool) or not isinstance(n_parties, int) or n_parties < 2:
        raise InvalidCryptoInputError(f"n_parties must be an int >= 2, got {n_parties!r}")
    shares = [random_uint64(x.shape) for _ in range(n_parties - 1)]
    last = x.copy()
    for mask in shares:
        np.subtract(last, mask, out=last)
    shares.append(last)
    return shares


def reconstruct(shares: Sequence[RingArray]) -> RingArray:
    """Open a sharing: the sum of all parties' shares mod 2^64."""
    if len(shares) < 2:
        raise InvalidCryptoInputError(f"reconstruct needs >= 2 shares, got {len(shares)}")
    first = check_ring(shares[0], "share 0")
    total = first.copy()
    for i, raw in enumerate(shares[1:], start=1):
        part = check_ring(raw, f"share {i}")
        check_same_shape(first, part, "reconstruct")
        np.add(total, part, out=total)
    return total


def add(left: RingArray, right: RingArray) -> RingArray:
    """Share of x + y from shares of x and y (local, no communication)."""
    a, b = check_ring(left, "left"), check_ring(right, "right")
    check_same_shape(a, b, "add")
    return np.asarray(a + b)


def sub(left: RingArray, right: RingArray) -> RingArray:
    """Share of x − y from shares of x and y."""
    a, b = check_ring(left, "left"), check_ring(right, "right")
    check_same_shape(a, b, "sub")
    return np.asarray(a - b)


def neg(value: RingArray) -> RingArray:
    """Share of −x from a share of x."""
    return np.asarray(np.negative(check_ring(value, "value")))


def add_public(value: RingArray, public: RingArray, holder: Shareholder) -> RingArray:
    """Share of x + c for a public ring array c: only the leader adds c, the others copy."""
    x = check_ring(value, "value")
    c = _public_operand(x, public)
    return np.asarray(x + c) if holder.is_leader else x.copy()


def sub_public(value: RingArray, public: RingArray, holder: Shareholder) -> RingArray:
    """Share of x − c for a public ring array c: only the leader subtracts c."""
    x = check_ring(value, "value")
    c = _public_operand(x, public)
    return np.asarray(x - c) if holder.is_leader else x.copy()


def mul_public(value: RingArray, factor: int | npt.ArrayLike) -> RingArray:
    """Share of k·x for a public integer k (or integer array, broadcast), every party alike.

    A Python int of any size is taken mod 2^64, so negative factors work in two's complement.
    """
    x = check_ring(value, "value")
    if isinstance(factor, int) and not isinstance(factor, bool):
        return np.asarray(x * np.uint64(factor % (1 << 64)))
    k = encode_int64(factor)
    _check_broadcast(x, k)
    return np.asarray(x * k)


def mul_public_fixed(
    value: RingArray, factor: npt.ArrayLike, encoding: FixedPointEncoding
) -> RingArray:
    """Share of x·s for a public real s (or real array), carrying 2f fractional bits.

    The factor is encoded with `encoding`; the result must be truncated by f bits (the wrap-bit
    truncation for two parties or a truncation pair) before it decodes with `encoding`.
    """
    x = check_ring(value, "value")
    s = encoding.encode(factor)
    _check_broadcast(x, s)
    return np.asarray(x * s)


def _public_operand(x: RingArray, public: RingArray) -> RingArray:
    c = check_ring(public, "public")
    _check_broadcast(x, c)
    return c


def _check_broadcast(x: RingArray, operand: RingArray) -> None:
    try:
        shape = np.broadcast_shapes(x.shape, operand.shape)
    except ValueError as exc:
        raise InvalidCryptoInputError(
            f"public operand of shape {operand.shape} does not broadcast to share {x.shape}"
        ) from exc
    if shape != x.shape:
        raise InvalidCryptoInputError(
            f"public operand of shape {operand.shape} would enlarge share {x.shape} to {shape}"
        )
