"""The integer coding of each tree's gradients and hessians, packed one plaintext per row."""

# Every split decision, federated or not, is taken on integer sums of quantised gradients, so
# the plaintext reference and the protocol agree bit for bit. Per row, with P fractional bits:
#     g_i = round(g·2^P) + offset ≥ 0      (offset = bound·2^P, bound ≥ |g|: 1 when |g| ≤ 1
#                                            (logistic, softmax), else max|g| rounded up to a
#                                            power of two)
#     h_i = round(h·2^P) ≥ 0
# and one plaintext carries all three sums a histogram needs (SecureBoost+'s g/h packing):
#     m_i = g_i·2^(HB+CB) + h_i·2^CB + 1
# where CB and HB bound the row count and the hessian sum of `rows` rows, so any sum of m_i
# over a set of rows splits back into (Σg_i, Σh_i, count) without carries.

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError

__all__ = ["Coded", "GradientCoding"]

Vector = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Coded:
    """One tree's integer g_i, h_i and c_i (1: the row is in the tree's sample) per row."""

    gi: Ints
    hi: Ints
    ci: Ints


@dataclass(frozen=True)
class GradientCoding:
    """How one tree's g and h become non-negative integers and one packed plaintext per row."""

    precision: int
    offset: int
    count_bits: int
    hess_bits: int
    grad_bits: int

    @classmethod
    def for_tree(cls, g: Vector, h: Vector, precision: int) -> GradientCoding:
        """The coding of this tree's gradients (bounds of `len(g)` rows)."""
        rows = len(g)
        largest = float(np.max(np.abs(g), initial=0.0))
        bound = 1 if largest <= 1 else 1 << math.ceil(math.log2(largest))
        offset = bound << precision
        hess_max = int(np.max(np.rint(np.ldexp(h, precision)), initial=0.0))
        coding = cls(
            precision=precision,
            offset=offset,
            count_bits=rows.bit_length(),
            hess_bits=(rows * max(hess_max, 1)).bit_length(),
            grad_bits=(rows * 2 * offset).bit_length(),
        )
        if max(coding.grad_bits, coding.hess_bits) > 62:
            raise InvalidInputError(
                f"gradient sums of {rows} rows need {coding.grad_bits} bits at "
                f"precision_bits={precision}: lower precision_bits or scale the label",
                public=True,
            )
        return coding

    @property
    def slot_bits(self) -> int:
        """Bits of one packed sum (g, h, count) over any set of the tree's rows."""
        return self.grad_bits + self.hess_bits + self.count_bits

    def encode(self, g: Vector, h: Vector, sample: npt.NDArray[np.bool_] | None = None) -> Coded:
        """g_i, h_i as int64 (exact: |values| < 2^(precision + bound bits)) and c_i; rows out
        of the tree's `sample` (row subsampling) are all zeros: they add nothing to any sum."""
        gi = np.rint(np.ldexp(g, self.precision)).astype(np.int64) + self.offset
        hi = np.rint(np.ldexp(h, self.precision)).astype(np.int64)
        ci = np.ones(len(g), dtype=np.int64)
        if sample is not None:
            gi[~sample], hi[~sample], ci[~sample] = 0, 0, 0
        return Coded(gi, hi, ci)

    def pack(self, coded: Coded) -> list[int]:
        """One plaintext per row: g_i·2^(HB+CB) + h_i·2^CB + c_i (c_i = 1 for a row in the
        tree's sample; a row left out is all zeros)."""
        g_shift, h_shift = self.hess_bits + self.count_bits, self.count_bits
        rows = zip(coded.gi.tolist(), coded.hi.tolist(), coded.ci.tolist(), strict=True)
        return [(g << g_shift) + (h << h_shift) + c for g, h, c in rows]

    def unpack(self, sums: list[int]) -> tuple[Ints, Ints, Ints]:
        """(Σg_i, Σh_i, count) of packed sums."""
        count_mask, hess_mask = (1 << self.count_bits) - 1, (1 << self.hess_bits) - 1
        g_shift = self.hess_bits + self.count_bits
        counts = [s & count_mask for s in sums]
        hess = [(s >> self.count_bits) & hess_mask for s in sums]
        grads = [s >> g_shift for s in sums]
        return (
            np.array(grads, dtype=np.int64),
            np.array(hess, dtype=np.int64),
            np.array(counts, dtype=np.int64),
        )
