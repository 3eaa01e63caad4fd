"""ECDH-PSI group operations on the prime-order subgroup of edwards25519 (libsodium via PyNaCl)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final, NewType

from nacl import bindings, exceptions

from chaihuo.crypto._errors import InvalidCryptoInputError, InvalidPointError
from chaihuo.crypto._random import random_below
from chaihuo.crypto.psi._digest import truncated_digest

__all__ = [
    "GROUP_ORDER",
    "POINT_BYTES",
    "SCALAR_BYTES",
    "EcdhScalar",
    "Point",
    "hash_to_point",
    "hash_to_points",
    "point_digests",
    "random_scalar",
    "scalar_mult",
    "scalar_mult_batch",
    "scalar_mult_received",
    "validate_point",
    "validate_points",
]

# DH-PSI (Meadows 1986; Huberman–Franklin–Hogg 1999): each party raises H(id) to its secret
# scalar; (H(x)^a)^b = (H(x)^b)^a, so doubly-blinded values match exactly on common ids, while
# under DDH in a prime-order group a singly-blinded H(x)^a hides x. edwards25519 has order 8·L;
# libsodium's `from_uniform` (Elligator 2) multiplies by the cofactor, landing in the order-L
# subgroup, and `scalarmult_ed25519_noclamp` multiplies by the scalar as given (clamping would
# break commutativity modulo L). Received points must lie in that subgroup: a small-order
# component would let the sender learn the receiver's scalar mod 8.

GROUP_ORDER: Final = 2**252 + 27742317777372353535851937790883648493
"""L, the prime order of the subgroup every PSI point lies in."""

POINT_BYTES: Final = 32
SCALAR_BYTES: Final = 32

Point = NewType("Point", bytes)
"""A 32-byte encoding known to lie in the order-L subgroup (made here, or validated)."""

EcdhScalar = NewType("EcdhScalar", bytes)
"""A secret exponent in [1, L) as 32 little-endian bytes."""


def _prefix(domain: bytes) -> bytes:
    if not isinstance(domain, bytes) or not domain:
        raise InvalidCryptoInputError("the PSI domain separator must be non-empty bytes")
    return len(domain).to_bytes(8, "big") + domain


def hash_to_point(identifier: bytes, domain: bytes) -> Point:
    """H(domain, id) = from_uniform(SHA-512(len-prefixed domain ‖ id)[:32])."""
    return hash_to_points([identifier], domain)[0]


def hash_to_points(identifiers: Sequence[bytes], domain: bytes) -> list[Point]:
    """`hash_to_point` over a batch of ids under one per-job domain separator."""
    base = hashlib.sha512(_prefix(domain))
    points = []
    for identifier in identifiers:
        if not isinstance(identifier, bytes):
            raise InvalidCryptoInputError(f"ids must be bytes, got {type(identifier).__name__}")
        digest = base.copy()
        digest.update(identifier)
        points.append(Point(bindings.crypto_core_ed25519_from_uniform(digest.digest()[:32])))
    return points


def random_scalar() -> EcdhScalar:
    """A fresh secret scalar, uniform in [1, L), from the OS CSPRNG."""
    value = random_below(GROUP_ORDER - 1) + 1
    return EcdhScalar(value.to_bytes(SCALAR_BYTES, "little"))


def validate_point(raw: bytes) -> Point:
    """Accept a received encoding only if it is a canonical, non-identity order-L point."""
    if not isinstance(raw, bytes) or len(raw) != POINT_BYTES:
        got = f"{len(raw)} bytes" if isinstance(raw, bytes) else type(raw).__name__
        raise InvalidPointError(f"a point is {POINT_BYTES} bytes, got {got}")
    if not bindings.crypto_core_ed25519_is_valid_point(raw):
        raise InvalidPointError(
            f"{raw.hex()} is not a canonical point of the prime-order subgroup (or is the identity)"
        )
    return Point(raw)


def validate_points(raws: Sequence[bytes]) -> list[Point]:
    """`validate_point` over a batch; the error names the first bad index."""
    try:
        return [validate_point(raw) for raw in raws]
    except InvalidPointError as exc:
        index = next((i for i, raw in enumerate(raws) if not _is_valid(raw)), -1)
        raise InvalidPointError(f"point #{index}: {exc}") from exc


def scalar_mult(scalar: EcdhScalar, point: Point) -> Point:
    """scalar · point in the order-L subgroup (no clamping)."""
    return scalar_mult_batch(scalar, [point])[0]


def scalar_mult_batch(scalar: EcdhScalar, points: Sequence[Point]) -> list[Point]:
    """scalar · P for every P (points must come from `hash_to_points` or `validate_points`)."""
    _check_scalar(scalar)
    mult = bindings.crypto_scalarmult_ed25519_noclamp
    try:
        return [Point(mult(scalar, point)) for point in points]
    except (exceptions.RuntimeError, exceptions.TypeError) as exc:
        # libsodium refuses non-canonical, small-order and off-subgroup inputs.
        index = next((i for i, point in enumerate(points) if not _is_valid(point)), -1)
        raise InvalidPointError(f"point #{index} is not in the prime-order subgroup") from exc


def scalar_mult_received(scalar: EcdhScalar, raws: Sequence[bytes]) -> list[Point]:
    """scalar · P for points received from a peer, validated by the multiplication itself.

    libsodium's `crypto_scalarmult_ed25519_noclamp` refuses non-canonical encodings,
    small-order points and points outside the order-L subgroup (the same checks as
    `crypto_core_ed25519_is_valid_point`), so a separate validation pass would only repeat
    them; this saves about a third of the work on the receive side of PSI.
    """
    for index, raw in enumerate(raws):
        if not isinstance(raw, bytes) or len(raw) != POINT_BYTES:
            raise InvalidPointError(f"point #{index} is not {POINT_BYTES} bytes")
    return scalar_mult_batch(scalar, [Point(raw) for raw in raws])


def point_digests(points: Sequence[Point]) -> list[bytes]:
    """Truncated SHA-256 of each doubly-blinded point, for `intersect_digests`."""
    return [truncated_digest(point) for point in points]


def _check_scalar(scalar: bytes) -> None:
    if not isinstance(scalar, bytes) or len(scalar) != SCALAR_BYTES:
        raise InvalidCryptoInputError(f"an ECDH scalar is {SCALAR_BYTES} bytes")
    if not 0 < int.from_bytes(scalar, "little") < GROUP_ORDER:
        raise InvalidCryptoInputError("an ECDH scalar must lie in [1, L)")


def _is_valid(raw: object) -> bool:
    return (
        isinstance(raw, bytes)
        and len(raw) == POINT_BYTES
        and bool(bindings.crypto_core_ed25519_is_valid_point(raw))
    )
