"""Beaver triples from a dealer and the local algebra of Beaver multiplication (Beaver 1991)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chaihuo.crypto._errors import InvalidCryptoInputError
from chaihuo.crypto._random import random_uint64
from chaihuo.crypto.sharing._additive import share
from chaihuo.crypto.sharing._ring import (
    RingArray,
    ShapeLike,
    Shareholder,
    check_ring,
    check_same_shape,
    check_shape,
    ring_matmul,
)

__all__ = [
    "BeaverMasked",
    "BeaverTriple",
    "MatrixTriple",
    "beaver_combine",
    "beaver_mask",
    "beaver_matmul_combine",
    "beaver_matmul_mask",
    "deal_beaver_triples",
    "deal_matrix_triples",
]

# Beaver, "Efficient multiparty protocols using circuit randomization" (CRYPTO 1991): with a
# random shared triple c = a·b, the opened e = x − a and f = y − b are uniform (they reveal
# nothing about x, y), and x·y = (e + a)(f + b) = c + e·b + a·f + e·f, linear in the shares of
# a, b, c once e, f are public. The public term e·f is added by the leader alone, folded in as
# e·(b + f). The matrix version (SecureML, Mohassel–Zhang 2017, §4.1) is the same identity with
# @ for ·: X@Y = C + E@B + A@F + E@F. A triple masks exactly one product (two openings with one
# triple reveal x − x'), so a triple refuses a second mask call.
#
# A protocol is: step 1 `beaver_mask` (local) → protocol code sends the `e`, `f` shares to every
# party, each reconstructs e and f → step 2 `beaver_combine` (local).


@dataclass(eq=False)
class BeaverTriple:
    """One party's shares of a random element-wise triple (a, b, c = a·b); single use."""

    a: RingArray
    b: RingArray
    c: RingArray
    _spent: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.a = check_ring(self.a, "triple.a")
        self.b = check_ring(self.b, "triple.b")
        self.c = check_ring(self.c, "triple.c")
        if not self.a.shape == self.b.shape == self.c.shape:
            raise InvalidCryptoInputError(
                f"triple shapes differ: a {self.a.shape}, b {self.b.shape}, c {self.c.shape}"
            )


@dataclass(eq=False)
class MatrixTriple:
    """One party's shares of a random matrix triple A (m×k), B (k×n), C = A@B; single use."""

    a: RingArray
    b: RingArray
    c: RingArray
    _spent: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.a = check_ring(self.a, "triple.a")
        self.b = check_ring(self.b, "triple.b")
        self.c = check_ring(self.c, "triple.c")
        a, b, c = self.a.shape, self.b.shape, self.c.shape
        if len(a) != 2 or len(b) != 2 or a[1] != b[0] or c != (a[0], b[1]):
            raise InvalidCryptoInputError(f"matrix triple shapes do not chain: {a} @ {b} -> {c}")


@dataclass(frozen=True, slots=True)
class BeaverMasked:
    """This party's shares of e = x − a and f = y − b: what the protocol opens."""

    e: RingArray
    f: RingArray


def deal_beaver_triples(shape: ShapeLike, n_parties: int) -> list[BeaverTriple]:
    """Dealer: fresh element-wise triples of `shape`, one `BeaverTriple` per party."""
    dims = check_shape(shape)
    a, b = random_uint64(dims), random_uint64(dims)
    shares = [share(v, n_parties) for v in (a, b, np.asarray(a * b))]
    return [BeaverTriple(*parts) for parts in zip(*shares, strict=True)]


def deal_matrix_triples(rows: int, inner: int, cols: int, n_parties: int) -> list[MatrixTriple]:
    """Dealer: fresh matrix triples A (rows×inner), B (inner×cols), C = A@B, one per party."""
    m, k, n = check_shape((rows, inner, cols))
    a, b = random_uint64((m, k)), random_uint64((k, n))
    shares = [share(v, n_parties) for v in (a, b, ring_matmul(a, b))]
    return [MatrixTriple(*parts) for parts in zip(*shares, strict=True)]


def beaver_mask(x: RingArray, y: RingArray, triple: BeaverTriple) -> BeaverMasked:
    """Step 1 of x·y: shares of e = x − a and f = y − b, to be opened."""
    return _mask(x, y, triple, "beaver_mask")


def beaver_combine(
    triple: BeaverTriple, e: RingArray, f: RingArray, holder: Shareholder
) -> RingArray:
    """Step 2 of x·y: this party's share of c + e·b + f·a (+ e·f by the leader) from opened e, f."""
    e, f = check_ring(e, "e"), check_ring(f, "f")
    check_same_shape(e, triple.a, "beaver_combine e vs triple")
    check_same_shape(f, triple.b, "beaver_combine f vs triple")
    z = np.empty_like(triple.c)
    if holder.is_leader:
        np.add(triple.b, f, out=z)
        np.multiply(z, e, out=z)
    else:
        np.multiply(e, triple.b, out=z)
    z += f * triple.a
    z += triple.c
    return z


def beaver_matmul_mask(x: RingArray, y: RingArray, triple: MatrixTriple) -> BeaverMasked:
    """Step 1 of X@Y: shares of E = X − A and F = Y − B, to be opened."""
    return _mask(x, y, triple, "beaver_matmul_mask")


def _mask(
    x: RingArray, y: RingArray, triple: BeaverTriple | MatrixTriple, caller: str
) -> BeaverMasked:
    x, y = check_ring(x, "x"), check_ring(y, "y")
    check_same_shape(x, triple.a, f"{caller} x vs triple")
    check_same_shape(y, triple.b, f"{caller} y vs triple")
    _spend(triple)
    return BeaverMasked(e=np.asarray(x - triple.a), f=np.asarray(y - triple.b))


def beaver_matmul_combine(
    triple: MatrixTriple, e: RingArray, f: RingArray, holder: Shareholder
) -> RingArray:
    """Step 2 of X@Y: share of C + E@B + A@F (+ E@F by the leader, as E@(B + F))."""
    e, f = check_ring(e, "e"), check_ring(f, "f")
    check_same_shape(e, triple.a, "beaver_matmul_combine e vs triple")
    check_same_shape(f, triple.b, "beaver_matmul_combine f vs triple")
    right = np.add(triple.b, f) if holder.is_leader else triple.b
    z = ring_matmul(e, right)
    z += ring_matmul(triple.a, f)
    z += triple.c
    return z


def _spend(triple: BeaverTriple | MatrixTriple) -> None:
    if triple._spent:
        raise InvalidCryptoInputError("Beaver triple already used: a triple masks one product")
    triple._spent = True
