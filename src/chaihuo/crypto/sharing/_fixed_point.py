"""Fixed-point encoding of real numbers into Z_2^64 (two's complement, f fractional bits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import EncodingOverflowError, InvalidCryptoInputError
from chaihuo.crypto.sharing._ring import RING_BITS, RingArray, check_ring

__all__ = ["DEFAULT_FRAC_BITS", "FixedPointEncoding"]

# 16 fractional bits, as in CrypTen: resolution 2^-16 ≈ 1.5e-5 (rounding error ≤ 2^-17), and a
# product of two encodings carries 32 fractional bits, leaving 31 integer bits of headroom before
# it wraps (|x·y| < 2^31); truncating it back to f bits is exact within one unit while
# |x·y| < 2^30 (the wrap bit is computed, never guessed: see `_truncation`).
DEFAULT_FRAC_BITS: Final = 16
_MAX_FRAC_BITS: Final = 62


@dataclass(frozen=True, slots=True)
class FixedPointEncoding:
    """x ↦ round(x·2^f) mod 2^64, read back as a signed int64 divided by 2^f.

    Representable: |x| < 2^(63-f) (2^47 for f = 16), resolution 2^-f. The product of two
    encodings has 2f fractional bits, is exact while |x·y| < 2^(63-2f), and must be truncated
    by f bits (see `wrap_split` / truncation pairs) before it is decoded with this encoding.
    """

    frac_bits: int = DEFAULT_FRAC_BITS

    def __post_init__(self) -> None:
        bits = self.frac_bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= _MAX_FRAC_BITS:
            raise InvalidCryptoInputError(f"frac_bits must be an int in [0, 62], got {bits!r}")

    @property
    def scale(self) -> float:
        """2^f, the factor between a real value and its ring representative."""
        return float(1 << self.frac_bits)

    @property
    def max_abs(self) -> float:
        """Exclusive bound on |x| that `encode` accepts: 2^(63-f)."""
        return float(2 ** (RING_BITS - 1 - self.frac_bits))

    @property
    def product_max_abs(self) -> float:
        """Exclusive bound on |x·y| for which a product of two encodings does not wrap."""
        return float(2 ** (RING_BITS - 1 - 2 * self.frac_bits))

    def encode(self, values: npt.ArrayLike) -> RingArray:
        """Encode reals; raises `EncodingOverflowError` for NaN, ±inf or |x| ≥ `max_abs`."""
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidCryptoInputError(f"cannot read real values: {exc}") from exc
        scaled = np.rint(arr * self.scale)
        # 2^63 is exact in float64; rejecting |scaled| >= 2^63 keeps the cast to int64 defined.
        bad = ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0 ** (RING_BITS - 1))
        if bad.any():
            first = arr.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])]
            raise EncodingOverflowError(
                f"{int(bad.sum())} value(s) not encodable with {self.frac_bits} fractional bits "
                f"(|x| must be < 2^{RING_BITS - 1 - self.frac_bits} and finite), e.g. {first!r}"
            )
        return np.asarray(scaled.astype(np.int64).view(np.uint64))

    def decode(self, ring: RingArray) -> npt.NDArray[np.float64]:
        """Decode ring elements with f fractional bits back to float64."""
        signed = check_ring(ring, "ring").view(np.int64)
        return np.asarray(signed.astype(np.float64) / self.scale)
