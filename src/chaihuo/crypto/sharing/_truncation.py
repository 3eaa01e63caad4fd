"""Truncation of shared fixed-point values after multiplication (SecureML and truncation pairs)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
    "TruncationPair",
    "deal_truncation_pairs",
    "truncate_local",
    "truncation_combine",
    "truncation_failure_bound",
    "truncation_mask",
]

# A product of two encodings with f fractional bits carries 2f; dividing by 2^f is not linear
# in Z_2^64, so it needs care.
#
# Two parties — SecureML (Mohassel & Zhang, IEEE S&P 2017, §4.1, Theorem 1): party 0 shifts its
# share arithmetically, x_0 >> f; party 1 computes −((−x_1) >> f). Writing s_0, s_1 for the
# signed readings of x_0 and −x_1, x = s_0 − s_1 holds over the integers unless s_0 − s_1 wraps,
# which for |x| < 2^{l_x} and a uniform share happens with probability ≤ 2^{l_x+1-64}; otherwise
# ⌊s_0/2^f⌋ − ⌊s_1/2^f⌋ is ⌊x/2^f⌋ or ⌊x/2^f⌋ + 1: at most one unit in the last place (1 ulp).
# A failure gives a wildly wrong value, so keep |x| (at 2f fractional bits) far below 2^63.
#
# n > 2 parties — the local trick needs the whole of x to sit in two shares, so n-party
# truncation uses a dealer's *truncation pair* (ABY3, Mohassel & Rindal, CCS 2018, §5.1.2):
# shares of a uniform r and of r' = −((−r) >> f). The parties open c = x − r (uniform, so it
# reveals nothing), and the leader adds c >> f to its share of r'. This is the SecureML split
# applied to the two "shares" (c, r), so the same bound holds: ≤ 1 ulp with probability
# ≥ 1 − 2^{l_x+1-64}. It works for any n ≥ 2. Like a Beaver triple, a pair masks one value.


@dataclass(eq=False)
class TruncationPair:
    """One party's shares of a dealer's (r, −((−r) >> f)) for one truncation; single use."""

    r: RingArray
    r_shifted: RingArray
    frac_bits: int
    _spent: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.r = check_ring(self.r, "pair.r")
        self.r_shifted = check_ring(self.r_shifted, "pair.r_shifted")
        check_same_shape(self.r, self.r_shifted, "truncation pair")
        _check_frac_bits(self.frac_bits)


def truncation_failure_bound(value_bits: int) -> float:
    """Upper bound 2^{l_x+1-64} on the chance that truncating |x| < 2^{l_x} is wildly wrong."""
    if isinstance(value_bits, bool) or not isinstance(value_bits, int) or value_bits < 0:
        raise InvalidCryptoInputError(f"value_bits must be an int >= 0, got {value_bits!r}")
    return min(1.0, 2.0 ** (value_bits + 1 - RING_BITS))


def truncate_local(value: RingArray, frac_bits: int, holder: Shareholder) -> RingArray:
    """SecureML two-party truncation of a share by `frac_bits` (no communication).

    Only for exactly two parties; with more, use a `TruncationPair`.
    """
    x = check_ring(value, "value")
    shift = _check_frac_bits(frac_bits)
    if holder.n_parties != 2:
        raise InvalidCryptoInputError(
            f"local truncation is only correct for 2 parties, got {holder.n_parties}; "
            "use deal_truncation_pairs / truncation_mask / truncation_combine"
        )
    if holder.is_leader:
        return _arithmetic_shift(x, shift)
    return np.asarray(np.negative(_arithmetic_shift(np.negative(x), shift)))


def deal_truncation_pairs(shape: ShapeLike, frac_bits: int, n_parties: int) -> list[TruncationPair]:
    """Dealer: shares of uniform r and r' = −((−r) >> f), one `TruncationPair` per party."""
    shift = _check_frac_bits(frac_bits)
    r = random_uint64(check_shape(shape))
    r_shifted = np.asarray(np.negative(_arithmetic_shift(np.negative(r), shift)))
    pairs = zip(share(r, n_parties), share(r_shifted, n_parties), strict=True)
    return [TruncationPair(r_i, rs_i, shift) for r_i, rs_i in pairs]


def truncation_mask(value: RingArray, pair: TruncationPair) -> RingArray:
    """Step 1: this party's share of c = x − r, to be opened by the protocol."""
    x = check_ring(value, "value")
    check_same_shape(x, pair.r, "truncation_mask value vs pair")
    if pair._spent:
        raise InvalidCryptoInputError("truncation pair already used: a pair masks one value")
    pair._spent = True
    return np.asarray(x - pair.r)


def truncation_combine(pair: TruncationPair, opened: RingArray, holder: Shareholder) -> RingArray:
    """Step 2: share of x >> f from the opened c = x − r (the leader adds c >> f)."""
    c = check_ring(opened, "opened")
    check_same_shape(c, pair.r_shifted, "truncation_combine opened vs pair")
    if not holder.is_leader:
        return pair.r_shifted.copy()
    return np.asarray(_arithmetic_shift(c, pair.frac_bits) + pair.r_shifted)


def _arithmetic_shift(x: RingArray, shift: int) -> RingArray:
    return np.asarray((x.view(np.int64) >> np.int64(shift)).view(np.uint64))


def _check_frac_bits(frac_bits: int) -> int:
    if isinstance(frac_bits, bool) or not isinstance(frac_bits, int) or not 0 < frac_bits < 63:
        raise InvalidCryptoInputError(f"frac_bits must be an int in [1, 62], got {frac_bits!r}")
    return frac_bits
