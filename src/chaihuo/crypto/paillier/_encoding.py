"""Fixed-point encoding into Z_n with one protocol-wide exponent and overflow detection."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import EncodingOverflowError, InvalidCryptoInputError

__all__ = ["FixedPoint", "decode_signed", "to_residues"]

_INT64_SAFE_BITS = 62


@dataclass(frozen=True, slots=True)
class FixedPoint:
    """A real x is carried as the integer round(x·2^exponent), signed, reduced into Z_n.

    `exponent` is fixed per protocol (it travels in clear with every ciphertext, so a
    per-value exponent would leak magnitudes). `value_bits` bounds every encoded operand:
    |round(x·2^exponent)| < 2^value_bits, checked on encode. Encrypted vectors carry the
    resulting bound through every operation and refuse any operation whose result could
    reach n/3, so decoding never returns a silently wrapped number.
    """

    exponent: int = 24
    value_bits: int = 64

    def __post_init__(self) -> None:
        if not 0 <= self.exponent <= 256:
            raise InvalidCryptoInputError(f"fixed-point exponent {self.exponent} not in [0, 256]")
        if not 1 <= self.value_bits <= 8192:
            raise InvalidCryptoInputError(f"value_bits {self.value_bits} not in [1, 8192]")

    def encode(self, values: npt.ArrayLike, exponent: int | None = None) -> list[int]:
        """Signed integers round(x·2^e) for every value (exact for integer inputs)."""
        e = self.exponent if exponent is None else exponent
        array = np.asarray(values)
        if array.dtype == object:
            return [self._check(self._encode_object(item, e)) for item in array.ravel().tolist()]
        if array.dtype.kind in "biu":
            wide = array.astype(np.uint64 if array.dtype.kind == "u" else np.int64)
            return [self._check(int(v) << e) for v in np.ravel(wide).tolist()]
        if array.dtype.kind != "f":
            raise InvalidCryptoInputError(f"cannot encode values of dtype {array.dtype}")
        flat = np.ravel(array).astype(np.float64)
        if not np.all(np.isfinite(flat)):
            raise EncodingOverflowError("cannot encode NaN or infinity")
        scaled = np.rint(np.ldexp(flat, e))
        limit = float(2 ** min(self.value_bits, _INT64_SAFE_BITS))
        if flat.size and float(np.max(np.abs(scaled))) < limit:
            return [int(v) for v in scaled.astype(np.int64).tolist()]
        return [self._check(int(v)) for v in scaled.tolist()]

    def _encode_object(self, item: object, e: int) -> int:
        if isinstance(item, bool | np.bool_):
            return int(item) << e
        if isinstance(item, int | np.integer):
            return int(item) << e
        if isinstance(item, float | np.floating):
            if not math.isfinite(float(item)):
                raise EncodingOverflowError("cannot encode NaN or infinity")
            return round(math.ldexp(float(item), e))
        raise InvalidCryptoInputError(f"cannot encode a {type(item).__name__}")

    def _check(self, value: int) -> int:
        if abs(value) >> self.value_bits:
            raise EncodingOverflowError(
                f"value needs {abs(value).bit_length()} bits, above value_bits={self.value_bits}"
            )
        return value


def to_residues(signed: Sequence[int], n: int) -> list[int]:
    """Map signed integers into [0, n): negatives become n − |v|."""
    return [v % n for v in signed]


def decode_signed(residues: Sequence[int], n: int) -> list[int]:
    """Inverse of to_residues on (−n/3, n/3); anything in the middle third is an overflow."""
    max_int = n // 3
    out = []
    for index, value in enumerate(residues):
        v = int(value)
        if v <= max_int:
            out.append(v)
        elif v >= n - max_int:
            out.append(v - n)
        else:
            raise EncodingOverflowError(
                f"decrypted value {index} lies in the overflow band (n/3, 2n/3): "
                "an operation exceeded the encodable range"
            )
    return out


def to_floats(signed: Sequence[int], exponent: int) -> npt.NDArray[np.float64]:
    """Scale signed fixed-point integers back to floats."""
    try:
        return np.array([math.ldexp(v, -exponent) for v in signed], dtype=np.float64)
    except OverflowError as exc:
        raise EncodingOverflowError("decoded value does not fit a float64") from exc
