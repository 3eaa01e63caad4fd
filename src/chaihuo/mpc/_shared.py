"""SharedTensor: this party's share of a secret array, with arithmetic, truncation and opening."""

# Values live in Z_2^64 as additive shares (see chaihuo.crypto.sharing). A tensor carries its
# fixed-point scale: `frac_bits` is 0 for exact integers or the session's f for reals. Linear
# operations are local. A product of two shared tensors costs one Beaver triple and one
# round (Beaver 1991; SecureML §4.1 for matrices); when both factors are real it carries 2f
# fractional bits and is truncated back to f (`_truncate`): by an exact wrap bit from one
# oblivious transfer per element for two parties, by a dealer's truncation pair for three or
# more. Each truncation is off by at most 1 ulp (2^-f), never more, while |x·y| < 2^(62-2f)
# (2^30 for f = 16).

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, SupportsIndex

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.sharing import (
    FixedPointEncoding,
    RingArray,
    add_public,
    beaver_combine,
    beaver_mask,
    beaver_matmul_combine,
    beaver_matmul_mask,
    decode_int64,
    encode_int64,
    mul_public,
    mul_public_fixed,
    ring_matmul,
    sub_public,
)
from chaihuo.mpc._errors import InvalidInputError, local_input
from chaihuo.mpc._truncate import truncate

if TYPE_CHECKING:
    from chaihuo.mpc._session import Session

__all__ = ["SharedTensor"]


@dataclass(frozen=True, eq=False)
class SharedTensor:
    """This party's share of a secret array; operators build the MPC computation.

    `x + y`, `x - y`, `-x`, `x * y`, `x @ y` work between shared tensors and with public
    numbers/arrays; `reveal()` opens the value. Every party must run the same operations in
    the same order (they exchange messages).
    """

    __array_ufunc__: ClassVar[None] = None  # numpy defers `array + x` to our __radd__

    session: Session
    share: RingArray
    frac_bits: int

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the secret array."""
        return tuple(self.share.shape)

    @property
    def is_integer(self) -> bool:
        """Whether the value is an exact integer (no fractional bits)."""
        return self.frac_bits == 0

    def _like(self, share: RingArray, frac_bits: int | None = None) -> SharedTensor:
        frac = self.frac_bits if frac_bits is None else frac_bits
        return SharedTensor(self.session, np.asarray(share, dtype=np.uint64), frac)

    # -- local structure -----------------------------------------------------------------

    def __getitem__(
        self, index: SupportsIndex | slice | tuple[SupportsIndex | slice, ...]
    ) -> SharedTensor:
        return self._like(np.asarray(self.share[index]))

    def reshape(self, *shape: int) -> SharedTensor:
        """The same secret with another shape."""
        return self._like(self.share.reshape(*shape))

    @property
    def T(self) -> SharedTensor:  # noqa: N802 - numpy's name
        """Transpose."""
        return self._like(self.share.T)

    def sum(self, axis: int | None = None) -> SharedTensor:
        """Sum of elements (local: sums of shares are shares of the sum)."""
        return self._like(np.asarray(self.share.sum(axis=axis, dtype=np.uint64)))

    # -- linear operations ---------------------------------------------------------------

    def _public(self, value: npt.ArrayLike, frac_bits: int) -> RingArray:
        with local_input("public operand"):
            if frac_bits == 0:
                return encode_int64(value)
            return FixedPointEncoding(frac_bits).encode(value)

    def _other(self, other: object) -> SharedTensor | None:
        if isinstance(other, SharedTensor):
            if other.session is not self.session:
                raise InvalidInputError("operands belong to different sessions")
            return other
        return None

    def _same_scale(self, other: SharedTensor) -> None:
        if other.frac_bits != self.frac_bits or other.shape != self.shape:
            raise InvalidInputError(
                f"operands differ: shape {self.shape}/{other.shape}, "
                f"fractional bits {self.frac_bits}/{other.frac_bits}"
            )

    def __add__(self, other: SharedTensor | npt.ArrayLike) -> SharedTensor:
        shared = self._other(other)
        if shared is not None:
            self._same_scale(shared)
            return self._like(self.share + shared.share)
        public = self._public(other, self.frac_bits)  # type: ignore[arg-type]
        with local_input("public operand"):
            return self._like(add_public(self.share, public, self.session.holder))

    def __radd__(self, other: npt.ArrayLike) -> SharedTensor:
        return self.__add__(other)

    def __neg__(self) -> SharedTensor:
        return self._like(np.negative(self.share))

    def __sub__(self, other: SharedTensor | npt.ArrayLike) -> SharedTensor:
        shared = self._other(other)
        if shared is not None:
            self._same_scale(shared)
            return self._like(self.share - shared.share)
        public = self._public(other, self.frac_bits)  # type: ignore[arg-type]
        with local_input("public operand"):
            return self._like(sub_public(self.share, public, self.session.holder))

    def __rsub__(self, other: npt.ArrayLike) -> SharedTensor:
        return (-self).__add__(other)

    # -- products ------------------------------------------------------------------------

    def __mul__(self, other: SharedTensor | npt.ArrayLike) -> SharedTensor:
        shared = self._other(other)
        if shared is not None:
            if shared.shape != self.shape:
                raise InvalidInputError(f"shapes differ: {self.shape} and {shared.shape}")
            return self._rescale(beaver_multiply(self, shared), self.frac_bits + shared.frac_bits)
        array = np.asarray(other)
        with local_input("public factor"):
            if array.dtype.kind in "biu":
                exact = other if isinstance(other, int) else array
                return self._like(mul_public(self.share, exact))
            product = mul_public_fixed(self.share, array, self.session.encoding)
        return self._rescale(product, self.frac_bits + self.session.frac_bits)

    def __rmul__(self, other: npt.ArrayLike) -> SharedTensor:
        return self.__mul__(other)

    def __matmul__(self, other: SharedTensor | npt.ArrayLike) -> SharedTensor:
        shared = self._other(other)
        if shared is not None:
            return self._rescale(beaver_matmul(self, shared), self.frac_bits + shared.frac_bits)
        right, frac = self._public_matrix(other)  # type: ignore[arg-type]
        with local_input("public matrix"):
            product = ring_matmul(self.share, right)
        return self._rescale(product, self.frac_bits + frac)

    def __rmatmul__(self, other: npt.ArrayLike) -> SharedTensor:
        left, frac = self._public_matrix(other)
        with local_input("public matrix"):
            product = ring_matmul(left, self.share)
        return self._rescale(product, self.frac_bits + frac)

    def _public_matrix(self, other: npt.ArrayLike) -> tuple[RingArray, int]:
        array = np.asarray(other)
        frac = 0 if array.dtype.kind in "biu" else self.session.frac_bits
        return self._public(array, frac), frac

    def _rescale(self, product: RingArray, frac_bits: int) -> SharedTensor:
        """Bring a product with 2f fractional bits back to f (no-op for 0 or f)."""
        f = self.session.frac_bits
        if frac_bits in (0, f):
            return self._like(product, frac_bits)
        if frac_bits != 2 * f:
            raise InvalidInputError(f"unexpected scale of {frac_bits} fractional bits")
        return self._like(truncate(self.session, product, f), f)

    # -- opening and comparison ------------------------------------------------------------

    def reveal(
        self, to: int | None = None
    ) -> npt.NDArray[np.float64] | npt.NDArray[np.int64] | None:
        """Open the value to every party (`to=None`) or to party `to` only (others get None).

        Reals come back as float64 (decoded with f bits), integers as int64.
        """
        if to is not None:
            self.session.check_party(to, "reveal target")
        scope = self.session.scope("reveal")
        if to is None:
            (ring,) = self.session.open_many(scope, [self.share])
        else:
            opened = self.session.open_to(scope, self.share, to)
            if opened is None:
                return None
            ring = opened
        if self.frac_bits == 0:
            return decode_int64(ring).copy()
        return FixedPointEncoding(self.frac_bits).decode(ring)

    def ltz(self) -> SharedTensor:
        """Shared bits [x < 0] as an integer tensor (garbled circuit + OT, see `_compare`)."""
        from chaihuo.mpc._compare import less_than_zero  # noqa: PLC0415 - _compare imports this

        return less_than_zero(self)

    def lt(self, other: SharedTensor | npt.ArrayLike) -> SharedTensor:
        """Shared bits [x < y] (exact while |x − y| < 2^63 in ring units)."""
        return (self - other).ltz()

    def gt(self, other: SharedTensor | npt.ArrayLike) -> SharedTensor:
        """Shared bits [x > y]."""
        return (-self + other).ltz()

    def sign(self) -> SharedTensor:
        """Shared ±1: −1 where x < 0, +1 elsewhere (zero counts as positive)."""
        negative = self.ltz()
        return (negative * -2) + 1


def beaver_multiply(x: SharedTensor, y: SharedTensor) -> RingArray:
    """Share of x·y (unscaled) with one triple and one opening of (e, f) = (x − a, y − b)."""
    session = x.session
    scope = session.scope("mul")
    triple = session.triples.beaver(session, scope, x.shape)
    masked = beaver_mask(x.share, y.share, triple)
    e, f = session.open_many(scope, [masked.e, masked.f])
    return beaver_combine(triple, e, f, session.holder)


def beaver_matmul(x: SharedTensor, y: SharedTensor) -> RingArray:
    """Share of X@Y (unscaled) with one matrix triple and one opening of (E, F)."""
    session = x.session
    if len(x.shape) != 2 or len(y.shape) != 2 or x.shape[1] != y.shape[0]:
        raise InvalidInputError(f"matmul needs (m, k) @ (k, n), got {x.shape} @ {y.shape}")
    scope = session.scope("matmul")
    (rows, inner), cols = x.shape, y.shape[1]
    triple = session.triples.matrix(session, scope, rows, inner, cols)
    masked = beaver_matmul_mask(x.share, y.share, triple)
    e, f = session.open_many(scope, [masked.e, masked.f])
    return beaver_matmul_combine(triple, e, f, session.holder)
