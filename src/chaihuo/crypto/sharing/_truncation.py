"""Exact truncation of shared fixed-point values: the wrap bit computed, never guessed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import InvalidCryptoInputError
from chaihuo.crypto._random import random_uint64
from chaihuo.crypto.sharing._additive import share
from chaihuo.crypto.sharing._ring import (
    RING_BITS,
    RingArray,
    ShapeLike,
    Shareholder,
    check_ring,
    check_same_shape,
    check_shape,
)

__all__ = [
    "TRUNCATION_INPUT_BITS",
    "TruncationPair",
    "WrapSplit",
    "deal_truncation_pairs",
    "truncation_combine",
    "truncation_mask",
    "truncation_pair_values",
    "wrap_combine",
    "wrap_ot_messages",
    "wrap_split",
]

# A product of two encodings with f fractional bits carries 2f; dividing by 2^f is not linear
# in Z_2^64 because the shares' sum wraps. SecureML's local truncation (each party shifts its
# own share) ignores the wrap and is wildly wrong with probability 2^(l+1−64) per element of
# l bits — at ML magnitudes, one element in a few tens of thousands. Both methods here compute
# the wrap bit exactly instead, for any |x| < 2^62 (TRUNCATION_INPUT_BITS):
#
# Offset. The leader adds 2^62, so x' = x + 2^62 lies in [0, 2^63): its top bit is 0.
#
# Two parties, no dealer. Shares x'_0 + x'_1 = x' + w·2^64 over the integers, with the wrap
# w ∈ {0, 1}. Because msb(x') = 0, w = msb(x'_0) ∨ msb(x'_1) (if exactly one top bit is set,
# the sum's top bit can only be cleared by a carry out): w = 1 − k_0·k_1 with k_i = 1 − msb(x'_i),
# one product of a bit held by each party. Party 0 offers m_c = c·k_0·2^(64−f) − s (c = 0, 1) in
# one oblivious transfer per element; party 1 chooses c = k_1 and learns k_0·k_1·2^(64−f) − s, a
# uniform value; party 0 keeps s. Then x' >> f = (x'_0 >> f) + (x'_1 >> f) − w·2^(64−f) + carry,
# where the low carry is 0 or 1; the leader adds 1, so the result is ⌊x/2^f⌋ or ⌊x/2^f⌋ + 1,
# the upper one with probability ≈ the fraction x/2^f − ⌊x/2^f⌋ (unbiased rounding).
#
# Any number of parties, with a dealer (ABY3's truncation pair, Mohassel & Rindal, CCS 2018,
# §5.1.2, made exact): shares of a uniform r, of r >> f and of the bit msb(r). The parties open
# c = x' + r (uniform: reveals nothing). The wrap of that sum is w = msb(r)·(1 − msb(c)) — a
# public multiple of a shared bit — and x' >> f = (c >> f) − (r >> f) + w·2^(64−f) − borrow,
# borrow ∈ {0, 1} from the low bits, so the result is again ⌊x/2^f⌋ or ⌊x/2^f⌋ + 1, unbiased.

TRUNCATION_INPUT_BITS: Final = 62
"""Truncation is exact (within one unit) for every |x| < 2^62 at 2f fractional bits."""
_OFFSET: Final = np.uint64(1 << TRUNCATION_INPUT_BITS)


@dataclass(eq=False)
class TruncationPair:
    """One party's shares of a dealer's (r, r >> f, msb(r)) for one truncation; single use."""

    r: RingArray
    r_shifted: RingArray
    r_top: RingArray
    frac_bits: int
    _spent: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.r = check_ring(self.r, "pair.r")
        self.r_shifted = check_ring(self.r_shifted, "pair.r_shifted")
        self.r_top = check_ring(self.r_top, "pair.r_top")
        check_same_shape(self.r, self.r_shifted, "truncation pair")
        check_same_shape(self.r, self.r_top, "truncation pair")
        _check_frac_bits(self.frac_bits)


def deal_truncation_pairs(shape: ShapeLike, frac_bits: int, n_parties: int) -> list[TruncationPair]:
    """Dealer: shares of uniform r, r >> f and msb(r), one `TruncationPair` per party."""
    r = random_uint64(check_shape(shape))
    parts = truncation_pair_values(r, frac_bits)
    shares = zip(*(share(part, n_parties) for part in parts), strict=True)
    return [TruncationPair(r_i, rs_i, rt_i, frac_bits) for r_i, rs_i, rt_i in shares]


def truncation_pair_values(r: RingArray, frac_bits: int) -> tuple[RingArray, ...]:
    """The values a pair shares for a uniform r: (r, r >> f, msb(r))."""
    shift = np.uint64(_check_frac_bits(frac_bits))
    return r, np.asarray(r >> shift), np.asarray(r >> np.uint64(RING_BITS - 1))


def truncation_mask(value: RingArray, pair: TruncationPair, holder: Shareholder) -> RingArray:
    """Step 1: this party's share of c = x + 2^62 + r, to be opened by the protocol."""
    x = check_ring(value, "value")
    check_same_shape(x, pair.r, "truncation_mask value vs pair")
    if pair._spent:
        raise InvalidCryptoInputError("truncation pair already used: a pair masks one value")
    pair._spent = True
    masked = x + pair.r
    return np.asarray(masked + _OFFSET if holder.is_leader else masked)


def truncation_combine(pair: TruncationPair, opened: RingArray, holder: Shareholder) -> RingArray:
    """Step 2: share of x / 2^f (⌊·⌋ or ⌊·⌋ + 1) from the opened c = x + 2^62 + r."""
    c = check_ring(opened, "opened")
    check_same_shape(c, pair.r_shifted, "truncation_combine opened vs pair")
    f = pair.frac_bits
    c_clear = np.uint64(1) - (c >> np.uint64(RING_BITS - 1))
    mine = np.asarray(pair.r_top * c_clear * _high_unit(f) - pair.r_shifted)
    if holder.is_leader:
        mine += (c >> np.uint64(f)) - np.uint64(1 << (TRUNCATION_INPUT_BITS - f))
    return mine


@dataclass(frozen=True)
class WrapSplit:
    """A party's part of a two-party truncation: its share shifted, and its clear-top bit."""

    high: RingArray
    clear_top: npt.NDArray[np.uint8]


def wrap_split(value: RingArray, frac_bits: int, holder: Shareholder) -> WrapSplit:
    """Two parties, step 1: x'_i >> f and k_i = 1 − msb(x'_i) (the leader's x' includes 2^62)."""
    x = check_ring(value, "value")
    f = _check_frac_bits(frac_bits)
    if holder.n_parties != 2:
        raise InvalidCryptoInputError(
            f"the wrap-bit truncation is for 2 parties, got {holder.n_parties}; use a "
            "truncation pair (deal_truncation_pairs / truncation_mask / truncation_combine)"
        )
    shifted = np.asarray(x + _OFFSET) if holder.is_leader else x
    top = (shifted >> np.uint64(RING_BITS - 1)).astype(np.uint8)
    return WrapSplit(np.asarray(shifted >> np.uint64(f)), np.uint8(1) - top)


def wrap_ot_messages(
    clear_top: npt.NDArray[np.uint8], frac_bits: int
) -> tuple[npt.NDArray[np.uint64], RingArray]:
    """Party 0: the (m, 2, 2) OT pairs m_c = c·k_0·2^(64−f) − s for its flat bits k_0, and s."""
    bits = np.asarray(clear_top).reshape(-1).astype(np.uint64)
    s = random_uint64(bits.size)
    messages = np.zeros((bits.size, 2, 2), dtype=np.uint64)
    messages[:, 0, 0] = -s
    messages[:, 1, 0] = bits * _high_unit(_check_frac_bits(frac_bits)) - s
    return messages, s


def wrap_combine(
    split: WrapSplit, product: RingArray, frac_bits: int, holder: Shareholder
) -> RingArray:
    """Two parties, step 2: share of x / 2^f from the share of k_0·k_1·2^(64−f)."""
    p = check_ring(product, "wrap product share")
    check_same_shape(split.high, p, "wrap_combine")
    mine = np.asarray(split.high + p)
    if holder.is_leader:  # − 2^(64−f) (the wrap when k_0·k_1 = 0), − the offset, + 1 (rounding)
        f = _check_frac_bits(frac_bits)
        constant = 1 - (1 << (RING_BITS - f)) - (1 << (TRUNCATION_INPUT_BITS - f))
        mine += np.uint64(constant % (1 << RING_BITS))
    return mine


def _high_unit(frac_bits: int) -> np.uint64:
    """2^(64−f): one wrap of the ring after shifting by f."""
    return np.uint64(1 << (RING_BITS - frac_bits))


def _check_frac_bits(frac_bits: int) -> int:
    if (
        isinstance(frac_bits, bool)
        or not isinstance(frac_bits, int)
        or not 0 < frac_bits < TRUNCATION_INPUT_BITS
    ):
        raise InvalidCryptoInputError(f"frac_bits must be an int in [1, 61], got {frac_bits!r}")
    return frac_bits
