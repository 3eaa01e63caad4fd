"""Fixed point of SSHE LR: per-column feature scales, the logit scale, and share rescaling."""

# Integers everywhere (no ring wrap-around): a secret x is split as x = a + b over Z, with one
# share uniform on [0, 2^(β+σ)) when |x| < 2^β, so each share alone is within statistical
# distance 2^−σ of a value independent of x ("statistical" additive sharing, as in the
# Paillier-based protocols of Damgård–Nielsen and SecureML §4.2). Products with plaintext
# integers and Paillier sums stay exact, and dividing a sharing by 2^k is each party rounding
# its own share: the sum is off by at most one unit, never wildly wrong as ring truncation can
# be. The cost is that shares are Python integers, which only ever hold d-length weight
# vectors and b-length batch vectors (never a matrix).
#
# Scales. Party P encodes feature column j as X̃_ij = round(X_ij · 2^fx_j), with fx_j chosen
# per column so that |X̃| < 2^B (B = `floating_point_precision`): every column keeps B
# significant bits whatever its range, and the Paillier exponents (the cost of every
# encrypted product) are B + 1 bits. Weight j is held at scale 2^(F − fx_j), so every product
# X̃_ij·w̃_j — and hence every logit — is at the one public scale 2^F. Only the owner knows its
# fx_j; the gradient it hands over is rescaled homomorphically to the public scale first.

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FX_MAX",
    "FX_MIN",
    "G_SIGMA",
    "SHARE_BITS",
    "SIGMA",
    "V_BITS",
    "Z_BITS",
    "F",
    "Quantized",
    "Rational",
    "encode_reals",
    "grad_bits",
    "quantize",
    "quantize_like",
    "rescale",
    "split_share",
]

F: Final = 40
"""Fractional bits of every logit and residual on the wire (2^−40 ≈ 9.1e−13)."""
Z_BITS: Final = 16
"""|logit| < 2^16 is assumed; a run that leaves that range has diverged (`_train` stops it)."""
V_BITS: Final = F + Z_BITS + 3
"""Bound on the residual v = κ·e·2^F (κ = 4 for the Taylor sigmoid, |4e| ≤ |z| + 2)."""
SIGMA: Final = 40
"""Statistical hiding of every masked row value (each is masked once)."""
G_SIGMA: Final = 48
"""Statistical hiding of masked gradients (their masks also hide the weights as they add up)."""
FX_MAX: Final = 24
FX_MIN: Final = -16
"""Range of per-column feature scales: |x| below 2^−8 or above 2^31 loses relative precision."""
SHARE_BITS: Final = 128
"""The non-owner's initial weight share is uniform below 2^128."""


@dataclass(frozen=True)
class Quantized:
    """Integer features X̃ = round(X·2^fx) with one scale fx_j per column."""

    values: npt.NDArray[np.int64]
    shifts: npt.NDArray[np.int64]

    @property
    def reals(self) -> npt.NDArray[np.float64]:
        """X̃·2^−fx: the features the protocol actually uses."""
        return np.ldexp(self.values.astype(np.float64), -self.shifts.astype(np.int32))

    def weight_shifts(self) -> npt.NDArray[np.int64]:
        """Fractional bits of each weight: F − fx_j."""
        return F - self.shifts


def quantize(features: npt.NDArray[np.float64], bits: int) -> Quantized:
    """Scale column j by 2^fx_j so that max_i |x_ij|·2^fx_j < 2^bits, then round (clamped to
    ±(2^bits − 1), so shifted to non-negative the exponents have bits + 1 bits)."""
    peak = np.max(np.abs(features), axis=0) if features.shape[0] else np.zeros(features.shape[1])
    _, exponent = np.frexp(peak)  # peak = m·2^e with ½ ≤ m < 1, so peak < 2^e
    shifts = np.clip(bits - exponent.astype(np.int64), FX_MIN, FX_MAX).astype(np.int64)
    values = np.rint(np.ldexp(features, shifts[np.newaxis, :].astype(np.int32)))
    top = float((1 << bits) - 1)
    return Quantized(np.clip(values, -top, top).astype(np.int64), shifts)


def quantize_like(features: npt.NDArray[np.float64], shifts: npt.NDArray[np.int64]) -> Quantized:
    """Other rows (validation, test) at the training columns' scales, so the weights apply."""
    values = np.rint(np.ldexp(features, shifts[np.newaxis, :].astype(np.int32)))
    if values.size and float(np.abs(values).max()) >= 2.0**62:
        raise ValueError("a feature value is far outside its training-time range")
    return Quantized(values.astype(np.int64), shifts.copy())


def encode_reals(values: npt.NDArray[np.float64], frac_bits: int) -> list[int]:
    """round(x·2^frac_bits) as exact Python integers."""
    return [int(v) for v in np.rint(np.ldexp(values, frac_bits)).tolist()]


def grad_bits(rows: int, bits: int, reveal: bool) -> int:
    """Bound on |X̃^T v| (rescaled to the public scale in shared mode)."""
    extra = 0 if reveal else 2 * (FX_MAX - FX_MIN)
    return max(rows, 1).bit_length() + bits + 1 + V_BITS + extra


def split_share(value: int) -> tuple[int, int]:
    """(owner's share, other's share) of `value` with the other's uniform below 2^SHARE_BITS."""
    other = secrets.randbits(SHARE_BITS)
    return value - other, other


class Rational:
    """A public real c as K/2^P with ≥ 60 significant bits: c·x rounds exactly on integers."""

    def __init__(self, value: float) -> None:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"scale factor {value!r} must be finite and non-negative")
        if value == 0:
            self.numerator, self.shift = 0, 0
            return
        _, exponent = math.frexp(value)
        self.shift = max(0, 62 - exponent)
        self.numerator = round(math.ldexp(value, self.shift))

    def apply(self, value: int) -> int:
        """round(c·value), ties upward: the rounding error is at most ½."""
        if self.shift == 0:
            return self.numerator * value
        return (self.numerator * value + (1 << (self.shift - 1))) >> self.shift


def rescale(values: Sequence[int], factor: Rational) -> list[int]:
    """round(c·x) for every share x (each party rounds its own share: the sum is off ≤ 1)."""
    return [factor.apply(v) for v in values]
