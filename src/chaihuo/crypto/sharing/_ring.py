"""The ring Z_2^64 as numpy uint64 arrays: validation, int64 embedding, wrap-around matmul."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, SupportsIndex, TypeAlias

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import EncodingOverflowError, InvalidCryptoInputError

__all__ = [
    "RING_BITS",
    "RingArray",
    "ShapeLike",
    "Shareholder",
    "check_ring",
    "check_same_shape",
    "check_shape",
    "decode_int64",
    "encode_int64",
    "ring_matmul",
]

RingArray: TypeAlias = npt.NDArray[np.uint64]
"""An element (or array of elements) of Z_2^64; signed values live in two's complement."""

ShapeLike: TypeAlias = SupportsIndex | Sequence[SupportsIndex]
"""An array shape: one length or a sequence of lengths (Python or numpy integers)."""

RING_BITS: Final = 64

# Exact float64 matmul split (below): a ring element is cut into four 16-bit limbs, so a limb
# product is < 2^32 and a sum of 4k of them stays < 2^53 (exact in float64) while k < 2^19.
_LIMB_BITS: Final = 16
_LIMB_COUNT: Final = 4
_LIMB_MASK: Final = np.uint64((1 << _LIMB_BITS) - 1)
_MAX_LIMB_INNER: Final = 1 << 19
# Below about 2^22 multiply-adds numpy's own integer loop beats ten BLAS calls (measured).
_BLAS_MIN_WORK: Final = 1 << 22


@dataclass(frozen=True, slots=True)
class Shareholder:
    """This party's position among the `n_parties` holders of a sharing.

    Party 0 is the *leader*: the one party that adds public terms (constants, e·f in Beaver
    multiplication, the opened value in truncation), so every such term is counted exactly once.
    """

    index: int
    n_parties: int

    def __post_init__(self) -> None:
        if isinstance(self.n_parties, bool) or not isinstance(self.n_parties, int):
            raise InvalidCryptoInputError(f"n_parties must be an int, got {self.n_parties!r}")
        if self.n_parties < 2:
            raise InvalidCryptoInputError(f"n_parties must be >= 2, got {self.n_parties}")
        if isinstance(self.index, bool) or not isinstance(self.index, int):
            raise InvalidCryptoInputError(f"party index must be an int, got {self.index!r}")
        if not 0 <= self.index < self.n_parties:
            raise InvalidCryptoInputError(
                f"party index {self.index} out of range for {self.n_parties} parties"
            )

    @property
    def is_leader(self) -> bool:
        """Whether this party adds the public terms of a protocol step."""
        return self.index == 0


def check_ring(value: object, name: str) -> RingArray:
    """Return `value` as a uint64 array, or raise if it is not already a ring element."""
    if isinstance(value, np.ndarray | np.generic) and value.dtype == np.uint64:
        return np.asarray(value, dtype=np.uint64)
    kind = getattr(value, "dtype", type(value).__name__)
    raise InvalidCryptoInputError(f"{name} must be a numpy uint64 array (ring element), got {kind}")


def check_same_shape(first: RingArray, second: RingArray, what: str) -> None:
    """Raise unless two shares (or share and mask) have identical shapes."""
    if first.shape != second.shape:
        raise InvalidCryptoInputError(f"{what}: shapes differ, {first.shape} vs {second.shape}")


def check_shape(shape: ShapeLike) -> tuple[int, ...]:
    """Normalise an array shape (int or tuple of non-negative ints), or raise."""
    try:
        dims = tuple(shape) if isinstance(shape, Sequence) else (shape,)
        normal = tuple(operator.index(d) for d in dims)
    except TypeError as exc:
        raise InvalidCryptoInputError(f"shape entries must be ints, got {shape!r}") from exc
    if any(isinstance(d, bool) for d in dims) or any(d < 0 for d in normal):
        raise InvalidCryptoInputError(f"shape entries must be ints >= 0, got {shape!r}")
    return normal


def encode_int64(values: npt.ArrayLike) -> RingArray:
    """Embed signed integers into Z_2^64 (two's complement); raises if outside int64."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidCryptoInputError(f"cannot read integers: {exc}") from exc
    if arr.dtype == np.uint64:
        if arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise EncodingOverflowError("uint64 value above the int64 range")
        return arr.astype(np.uint64)
    if arr.dtype == object:
        try:
            arr = np.asarray(values, dtype=np.int64)
        except (OverflowError, TypeError, ValueError) as exc:
            raise EncodingOverflowError(f"integer outside the int64 range: {exc}") from exc
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise InvalidCryptoInputError(f"encode_int64 needs integers, got dtype {arr.dtype}")
    return np.asarray(arr.astype(np.int64).view(np.uint64))


def decode_int64(ring: RingArray) -> npt.NDArray[np.int64]:
    """Read ring elements as signed int64 (the inverse of `encode_int64`)."""
    return np.asarray(check_ring(ring, "ring").view(np.int64))


def ring_matmul(left: RingArray, right: RingArray) -> RingArray:
    """Matrix product in Z_2^64, exact with wrap-around.

    numpy's integer matmul wraps correctly but runs a scalar loop; for large 2-D products this
    uses the limb split Σ_{i+j<4} 2^{16(i+j)} (A_i @ B_j) with float64 BLAS, exact because every
    partial sum is an integer below 2^53 (same idea as CrypTen's GPU integer matmul).
    """
    a = check_ring(left, "left")
    b = check_ring(right, "right")
    if a.ndim == 0 or b.ndim == 0:
        raise InvalidCryptoInputError("ring_matmul needs arrays of at least one dimension")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise InvalidCryptoInputError(f"ring_matmul: shapes {a.shape} and {b.shape} do not align")
    inner = a.shape[-1]
    work = a.size * (b.size // max(inner, 1))
    if a.ndim != 2 or b.ndim != 2 or work < _BLAS_MIN_WORK or inner >= _MAX_LIMB_INNER:
        return np.asarray(np.matmul(a, b))
    return _limb_matmul(a, b)


def _limb_matmul(a: RingArray, b: RingArray) -> RingArray:
    a_limbs = [_limb(a, i) for i in range(_LIMB_COUNT)]
    b_limbs = [_limb(b, j) for j in range(_LIMB_COUNT)]
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.uint64)
    for total in range(_LIMB_COUNT):
        acc = a_limbs[0] @ b_limbs[total]
        for i in range(1, total + 1):
            acc += a_limbs[i] @ b_limbs[total - i]
        out += acc.astype(np.uint64) << np.uint64(_LIMB_BITS * total)
    return out


def _limb(x: RingArray, position: int) -> npt.NDArray[np.float64]:
    return ((x >> np.uint64(_LIMB_BITS * position)) & _LIMB_MASK).astype(np.float64)
