"""Unsigned integers to little-endian bit vectors (bit i of the value is element i) and back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import InvalidCryptoInputError

__all__ = ["bits_to_int", "bits_to_ints", "int_to_bits", "ints_to_bits"]

BitArray = npt.NDArray[np.uint8]


def _check_width(width: int) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise InvalidCryptoInputError(f"width must be a positive int, got {width!r}")
    return width


def int_to_bits(value: int, width: int) -> BitArray:
    """The `width` little-endian bits of the unsigned int `value`, shape (width,)."""
    bits: BitArray = ints_to_bits([value], width)[0]
    return bits


def ints_to_bits(values: Sequence[int] | npt.NDArray[np.integer], width: int) -> BitArray:
    """Little-endian bits of unsigned ints, shape values.shape + (width,)."""
    _check_width(width)
    # A list is read as Python ints (dtype=object): numpy would turn a mix of ints above
    # and below 2^63 into float64 and silently lose bits.
    array = values if isinstance(values, np.ndarray) else np.array(values, dtype=object)
    if array.dtype.kind in "iu" and array.dtype != np.bool_ and width <= 64:
        return _small_ints_to_bits(array, width)
    flat = [_as_uint(value, width) for value in array.reshape(-1).tolist()]
    nbytes = (width + 7) // 8
    raw = b"".join(value.to_bytes(nbytes, "little") for value in flat)
    packed = np.frombuffer(raw, dtype=np.uint8).reshape(len(flat), nbytes)
    bits = np.unpackbits(packed, axis=1, count=width, bitorder="little")
    return bits.reshape((*array.shape, width))


def _as_uint(value: object, width: int) -> int:
    if not isinstance(value, int):
        raise InvalidCryptoInputError(f"expected an integer, got {value!r}")
    if not 0 <= value < 1 << width:
        raise InvalidCryptoInputError(f"value {value} does not fit in {width} unsigned bits")
    return int(value)


def _small_ints_to_bits(array: npt.NDArray[np.integer], width: int) -> BitArray:
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= 1 << width:
            bad = low if low < 0 else high
            raise InvalidCryptoInputError(f"value {bad} does not fit in {width} unsigned bits")
    shifts = np.arange(width, dtype=np.uint64)
    bits = (array.astype(np.uint64)[..., None] >> shifts) & np.uint64(1)
    return bits.astype(np.uint8)


def _check_bits(bits: npt.ArrayLike) -> BitArray:
    array = np.asarray(bits)
    if array.dtype != np.bool_ and array.dtype.kind not in "iu":
        raise InvalidCryptoInputError(f"bits must be integers or booleans, got {array.dtype}")
    if array.ndim == 0 or array.shape[-1] == 0:
        raise InvalidCryptoInputError(f"bits need a non-empty last axis, got shape {array.shape}")
    if int(array.min()) < 0 or int(array.max()) > 1:
        raise InvalidCryptoInputError("bits must be 0 or 1")
    return array.astype(np.uint8)


def bits_to_int(bits: npt.ArrayLike) -> int:
    """The unsigned int whose little-endian bits are the 1-D array `bits`."""
    array = _check_bits(bits)
    if array.ndim != 1:
        raise InvalidCryptoInputError(f"bits_to_int needs a 1-D array, got shape {array.shape}")
    return bits_to_ints(array[None, :])[0]


def bits_to_ints(bits: npt.ArrayLike) -> list[int]:
    """Unsigned ints of the rows of a 2-D little-endian bit array (n, width)."""
    array = _check_bits(bits)
    if array.ndim != 2:
        raise InvalidCryptoInputError(f"bits_to_ints needs a 2-D array, got shape {array.shape}")
    packed = np.packbits(array, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]
