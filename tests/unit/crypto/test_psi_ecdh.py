"""ECDH-PSI group operations on the prime-order subgroup of edwards25519."""

from __future__ import annotations

from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings

from chaihuo.crypto._errors import InvalidCryptoInputError, InvalidPointError
from chaihuo.crypto.psi import (
    DIGEST_BYTES,
    GROUP_ORDER,
    EcdhScalar,
    Point,
    hash_to_point,
    hash_to_points,
    intersect_digests,
    point_digests,
    random_scalar,
    scalar_mult,
    scalar_mult_batch,
    scalar_mult_received,
    validate_point,
    validate_points,
)

DOMAIN = b"job-42/psi"
IDENTITY = (1).to_bytes(32, "little")
ORDER_TWO = (2**255 - 19 - 1).to_bytes(32, "little")  # (0, -1), the point of order 2


def _times(k: int, point: bytes) -> bytes:
    return bytes(bindings.crypto_scalarmult_ed25519_noclamp(k.to_bytes(32, "little"), point))


@settings(max_examples=25)
@given(st.binary(max_size=64))
def test_hash_to_point_lands_in_the_prime_order_subgroup(identifier: bytes) -> None:
    point = hash_to_point(identifier, DOMAIN)
    assert bindings.crypto_core_ed25519_is_valid_point(point)
    # (L + 1)·P = P exactly when L·P is the identity (libsodium refuses to output L·P itself).
    assert _times(GROUP_ORDER + 1, point) == point


def test_subgroup_check_catches_a_torsion_component() -> None:
    point = hash_to_point(b"alice", DOMAIN)
    mixed = bindings.crypto_core_ed25519_add(point, ORDER_TWO)
    assert not bindings.crypto_core_ed25519_is_valid_point(mixed)
    with pytest.raises(InvalidPointError, match="prime-order subgroup"):
        validate_point(mixed)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.binary(max_size=20), min_size=1, max_size=8))
def test_double_blinding_commutes(ids: list[bytes]) -> None:
    a, b = random_scalar(), random_scalar()
    points = hash_to_points(ids, DOMAIN)
    assert scalar_mult_batch(b, scalar_mult_batch(a, points)) == scalar_mult_batch(
        a, scalar_mult_batch(b, points)
    )


def test_hash_is_deterministic_and_domain_separated() -> None:
    assert hash_to_point(b"alice", DOMAIN) == hash_to_point(b"alice", DOMAIN)
    assert hash_to_point(b"alice", DOMAIN) != hash_to_point(b"alice", b"job-43/psi")
    assert hash_to_point(b"alice", DOMAIN) != hash_to_point(b"bob", DOMAIN)
    # The domain is length-prefixed, so moving bytes between domain and id changes the point.
    assert hash_to_point(b"c", b"ab") != hash_to_point(b"bc", b"a")
    assert hash_to_points([b"x", b"y"], DOMAIN) == [hash_to_point(i, DOMAIN) for i in (b"x", b"y")]


def test_random_scalars_are_in_range_and_fresh() -> None:
    scalars = {random_scalar() for _ in range(200)}
    assert len(scalars) == 200
    assert all(0 < int.from_bytes(s, "little") < GROUP_ORDER for s in scalars)


@pytest.mark.parametrize(
    "raw",
    [IDENTITY, ORDER_TWO, b"\xff" * 32, b"\x00" * 32, b"\x01" * 31, b"", "not bytes"],
    ids=["identity", "order-two", "non-canonical", "zero", "short", "empty", "str"],
)
def test_invalid_points_are_rejected(raw: bytes) -> None:
    with pytest.raises(InvalidPointError):
        validate_point(raw)


def test_batch_validation_names_the_bad_index() -> None:
    good = hash_to_points([b"a", b"b"], DOMAIN)
    assert validate_points(list(good)) == good
    with pytest.raises(InvalidPointError, match="#1"):
        validate_points([good[0], ORDER_TWO, good[1]])


def test_scalar_mult_refuses_unvalidated_bad_points_and_bad_scalars() -> None:
    scalar = random_scalar()
    with pytest.raises(InvalidPointError, match="#0"):
        scalar_mult(scalar, cast(Point, IDENTITY))
    point = hash_to_point(b"a", DOMAIN)
    for bad in (b"\x00" * 32, GROUP_ORDER.to_bytes(32, "little"), b"\x01" * 31):
        with pytest.raises(InvalidCryptoInputError, match="scalar"):
            scalar_mult(cast(EcdhScalar, bad), point)


def test_domain_and_ids_are_type_checked() -> None:
    with pytest.raises(InvalidCryptoInputError, match="domain"):
        hash_to_point(b"a", b"")
    with pytest.raises(InvalidCryptoInputError, match="bytes"):
        hash_to_points(cast(list[bytes], ["a"]), DOMAIN)


def test_ecdh_psi_round_trip_finds_the_intersection() -> None:
    guest_ids = [f"user{i}".encode() for i in range(300)]
    host_ids = [f"user{i}".encode() for i in range(200, 450)]
    a, b = random_scalar(), random_scalar()
    # guest → host: H(x)^a; host returns H(x)^ab and sends H(y)^b; guest raises those to a.
    guest_once = scalar_mult_batch(a, hash_to_points(guest_ids, DOMAIN))
    guest_twice = scalar_mult_batch(b, validate_points(list(guest_once)))
    host_once = scalar_mult_batch(b, hash_to_points(host_ids, DOMAIN))
    host_twice = scalar_mult_batch(a, validate_points(list(host_once)))
    local, remote = point_digests(guest_twice), point_digests(host_twice)
    assert all(len(d) == DIGEST_BYTES for d in local)
    found = {guest_ids[i] for i in intersect_digests(local, remote)}
    assert found == set(guest_ids) & set(host_ids)


def test_intersect_rejects_malformed_remote_digests() -> None:
    with pytest.raises(InvalidCryptoInputError, match="16-byte"):
        intersect_digests([b"\x00" * 16], [b"short"])


@pytest.mark.parametrize(
    "bad",
    [
        b"\x01" + b"\x00" * 31,  # the identity
        bytes.fromhex(
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
        ),  # order 8
        bytes([0xED] + [0xFF] * 30 + [0x7F]),  # non-canonical encoding
        b"\x00" * 31,  # wrong length
    ],
)
def test_received_points_are_validated_by_the_multiplication(bad: bytes) -> None:
    good = hash_to_points([b"x"], b"d")[0]
    with pytest.raises(InvalidPointError):
        scalar_mult_received(random_scalar(), [good, bad])


def test_points_off_the_prime_order_subgroup_are_refused_on_receipt() -> None:
    torsion = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
    shifted = bindings.crypto_core_ed25519_add(hash_to_points([b"x"], b"d")[0], torsion)
    with pytest.raises(InvalidPointError, match="#0"):
        scalar_mult_received(random_scalar(), [shifted])
    scalar = random_scalar()
    point = hash_to_points([b"y"], b"d")[0]
    assert scalar_mult_received(scalar, [point]) == scalar_mult_batch(scalar, [point])
