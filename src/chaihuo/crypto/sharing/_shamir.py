"""Shamir's t-of-n secret sharing of 64-byte secrets over the prime field GF(2^521 − 1)."""

# Shamir, "How to Share a Secret" (CACM 1979). The dealer picks f(x) = s + a_1 x + … +
# a_{t−1} x^{t−1} with a_k uniform in GF(p) and gives holder j (x = j, 1 ≤ j ≤ n) the value
# f(j). Any t shares fix f and so s = f(0) by Lagrange interpolation,
#
#     s = Σ_j f(x_j) · Π_{m ≠ j} x_m / (x_m − x_j)     (mod p),
#
# while any t − 1 shares are uniformly distributed whatever s is: information-theoretic
# secrecy, no computational assumption. p = 2^521 − 1 (a Mersenne prime) holds any secret of
# up to 64 bytes (512 bits) as one field element, so a 32-byte key or seed is one polynomial.
# A share is a field element written as 66 big-endian bytes.

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping, Sequence
from typing import Final

from chaihuo.crypto._errors import InvalidCryptoInputError

__all__ = ["SHAMIR_PRIME", "SHARE_BYTES", "shamir_combine", "shamir_split"]

SHAMIR_PRIME: Final = (1 << 521) - 1
SHARE_BYTES: Final = 66
_MAX_SECRET_BYTES: Final = 64
_MAX_HOLDERS: Final = 1 << 16


def shamir_split(secret: bytes, threshold: int, holders: int) -> list[bytes]:
    """Shares f(1) … f(holders) of `secret` (≤ 64 bytes); any `threshold` of them recover it."""
    if not isinstance(secret, bytes) or len(secret) > _MAX_SECRET_BYTES:
        raise InvalidCryptoInputError("a Shamir secret is at most 64 bytes")
    if not 1 <= threshold <= holders <= _MAX_HOLDERS:
        raise InvalidCryptoInputError(
            f"Shamir needs 1 ≤ threshold ≤ holders ≤ {_MAX_HOLDERS}, "
            f"got threshold={threshold}, holders={holders}"
        )
    coefficients = [int.from_bytes(secret, "big")]
    coefficients += [secrets.randbelow(SHAMIR_PRIME) for _ in range(threshold - 1)]
    shares = []
    for x in range(1, holders + 1):
        value = 0
        for coefficient in reversed(coefficients):  # Horner
            value = (value * x + coefficient) % SHAMIR_PRIME
        shares.append(value.to_bytes(SHARE_BYTES, "big"))
    return shares


def shamir_combine(shares: Mapping[int, bytes], threshold: int, size: int) -> bytes:
    """The `size`-byte secret from at least `threshold` shares keyed by holder x (1-based).

    Exactly `threshold` shares (the lowest x) are interpolated; fewer is an error. A share
    that is not a field element, or a secret that does not fit `size` bytes (shares from
    different secrets), raises InvalidCryptoInputError.
    """
    if len(shares) < threshold:
        raise InvalidCryptoInputError(
            f"Shamir needs {threshold} shares to recover a secret, got {len(shares)}"
        )
    points = sorted(shares.items())[:threshold]
    values = [_element(share, x) for x, share in points]
    secret = _at_zero([x for x, _ in points], values)
    if secret >= 1 << (8 * size):
        raise InvalidCryptoInputError("the shares do not interpolate to a secret of this size")
    return secret.to_bytes(size, "big")


def _element(share: bytes, x: int) -> int:
    if not isinstance(share, bytes) or len(share) != SHARE_BYTES or not 1 <= x <= _MAX_HOLDERS:
        raise InvalidCryptoInputError(f"share of holder {x} is not a {SHARE_BYTES}-byte share")
    value = int.from_bytes(share, "big")
    if value >= SHAMIR_PRIME:
        raise InvalidCryptoInputError(f"share of holder {x} is outside the field")
    return value


def _at_zero(xs: Sequence[int], ys: Sequence[int]) -> int:
    """Lagrange interpolation of the points (xs, ys) at x = 0, mod p."""
    if len(set(xs)) != len(xs):
        raise InvalidCryptoInputError("two shares name the same holder")
    weights = _lagrange_at_zero(tuple(xs))
    return sum(y * w for y, w in zip(ys, weights, strict=True)) % SHAMIR_PRIME


@functools.lru_cache(maxsize=64)
def _lagrange_at_zero(xs: tuple[int, ...]) -> tuple[int, ...]:
    """λ_j = Π_{m ≠ j} x_m / (x_m − x_j) mod p: the same for every secret shared among the
    same holders (a secure-aggregation round recovers all its secrets from one set)."""
    weights = []
    for j, x_j in enumerate(xs):
        numerator, denominator = 1, 1
        for m, x_m in enumerate(xs):
            if m != j:
                numerator = numerator * x_m % SHAMIR_PRIME
                denominator = denominator * (x_m - x_j) % SHAMIR_PRIME
        weights.append(numerator * pow(denominator, -1, SHAMIR_PRIME) % SHAMIR_PRIME)
    return tuple(weights)
