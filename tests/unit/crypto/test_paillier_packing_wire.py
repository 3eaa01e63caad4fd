"""Packing (BatchCrypt layout) and the ciphertext wire format, including R06/R07 rejections."""

from __future__ import annotations

import struct

import gmpy2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaihuo.crypto import (
    EncodingOverflowError,
    ExponentMismatchError,
    InvalidCiphertextError,
    KeyMismatchError,
)
from chaihuo.crypto.paillier import (
    EncryptedVector,
    FixedPoint,
    PackedVector,
    PackingScheme,
    PaillierKeyPair,
    packed_from_bytes,
    packed_to_bytes,
    vector_from_bytes,
    vector_to_bytes,
)

SCHEME = PackingScheme(value_bits=32, headroom_bits=8, exponent=0)
RNG = np.random.default_rng(11)


@settings(max_examples=200)
@given(
    rows=st.lists(
        st.lists(st.integers(-(2**31) + 1, 2**31 - 1), min_size=3, max_size=3),
        min_size=1,
        max_size=20,
    ),
    additions=st.integers(1, 256),
)
def test_pack_unpack_is_identity(rows: list[list[int]], additions: int) -> None:
    matrix = np.array(rows, dtype=np.int64)
    packed = SCHEME.pack(matrix)
    assert SCHEME.unpack(packed, 3, 1) == matrix.ravel().tolist()
    # Summing the same plaintext `additions` times scales each slot and removes all offsets.
    summed = [p * additions for p in packed]
    assert SCHEME.unpack(summed, 3, additions) == (matrix.ravel() * additions).tolist()


def test_packed_encryption_sums_and_decrypts(keys: PaillierKeyPair) -> None:
    pk, sk = keys
    scheme = PackingScheme(value_bits=40, headroom_bits=12, exponent=20)
    rows = RNG.normal(size=(50, 2))
    packed = PackedVector.encrypt(pk, rows, scheme)
    np.testing.assert_allclose(packed.decrypt(sk).reshape(-1, 2), rows, atol=2.0**-20)
    np.testing.assert_allclose(packed.sum().decrypt(sk), rows.sum(axis=0), atol=50 * 2.0**-20)
    both = packed[:10] + packed[10:20]
    np.testing.assert_allclose(
        both.decrypt(sk).reshape(-1, 2), rows[:10] + rows[10:20], atol=2.0**-19
    )


def test_slot_headroom_is_enforced(keys2048: PaillierKeyPair) -> None:
    scheme = PackingScheme(value_bits=8, headroom_bits=2, exponent=0)
    packed = PackedVector.encrypt(keys2048.public_key, np.ones((5, 1), dtype=np.int64), scheme)
    with pytest.raises(EncodingOverflowError, match="headroom"):
        packed.sum()


def test_compress_packs_ciphertexts_homomorphically(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    scheme = PackingScheme(value_bits=48, headroom_bits=0, exponent=24)
    values = RNG.normal(size=70)
    vector = EncryptedVector.encrypt(pk, values, FixedPoint(24, 47))
    packed = PackedVector.compress(vector, scheme)
    assert len(packed) == -(-70 // scheme.slots(pk))
    np.testing.assert_allclose(packed.decrypt(sk), values, atol=2.0**-24)


def test_vector_wire_round_trip_rerandomizes_results(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    vector = EncryptedVector.encrypt(pk, np.arange(5), FixedPoint(0))
    result = vector + vector
    assert not result.fresh
    wire = vector_to_bytes(result)
    parsed = vector_from_bytes(wire, pk, expected_exponent=0)
    assert parsed.decrypt_int(sk) == [0, 2, 4, 6, 8]
    assert {int(c) for c in parsed.values}.isdisjoint(int(c) for c in result.values)
    header = len(wire) - 5 * pk.ciphertext_bytes
    assert len(wire) - header == 5 * pk.ciphertext_bytes


def _with_ciphertext(wire: bytes, pk: object, value: int) -> bytes:
    width = pk.ciphertext_bytes  # type: ignore[attr-defined]
    return wire[: len(wire) - width] + value.to_bytes(width, "big")


def test_malformed_ciphertexts_are_rejected(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    wire = vector_to_bytes(EncryptedVector.encrypt(pk, [1, 2], FixedPoint(0)))
    n, nsq = int(pk.n), int(pk.nsquare)
    for bad in (0, nsq, nsq + 5, 2 ** (16 * pk.byte_length) - 1, int(sk.p), n):
        with pytest.raises(InvalidCiphertextError):
            vector_from_bytes(_with_ciphertext(wire, pk, bad), pk)
    with pytest.raises(InvalidCiphertextError):
        pk.check_ciphertexts([-1])
    with pytest.raises(InvalidCiphertextError, match="bytes"):
        vector_from_bytes(wire[:-1], pk)
    with pytest.raises(InvalidCiphertextError, match="bytes"):
        vector_from_bytes(wire + b"\0", pk)
    with pytest.raises(InvalidCiphertextError):
        vector_from_bytes(b"CHEV", pk)
    with pytest.raises(InvalidCiphertextError):
        vector_from_bytes(b"XXXX" + wire[4:], pk)
    with pytest.raises(ExponentMismatchError):
        vector_from_bytes(wire, pk, expected_exponent=24)
    assert gmpy2.gcd(int(sk.p), n) != 1


def test_foreign_key_ciphertexts_are_rejected(
    keys2048: PaillierKeyPair, other_keys: PaillierKeyPair
) -> None:
    theirs = vector_to_bytes(EncryptedVector.encrypt(other_keys.public_key, [7], FixedPoint(0)))
    with pytest.raises(KeyMismatchError):
        vector_from_bytes(theirs, keys2048.public_key)


def test_forged_bound_and_width_are_rejected(keys2048: PaillierKeyPair) -> None:
    pk = keys2048.public_key
    wire = bytearray(vector_to_bytes(EncryptedVector.encrypt(pk, [7], FixedPoint(0))))
    forged_bound = bytearray(wire)
    struct.pack_into(">H", forged_bound, 7, 4000)
    with pytest.raises(InvalidCiphertextError, match="bound"):
        vector_from_bytes(bytes(forged_bound), pk)
    forged_width = bytearray(wire)
    struct.pack_into(">H", forged_width, 49, 10)
    with pytest.raises(InvalidCiphertextError, match="width"):
        vector_from_bytes(bytes(forged_width), pk)


def test_packed_wire_round_trip(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    rows = RNG.integers(-1000, 1000, size=(4, 3))
    packed = PackedVector.encrypt(pk, rows, SCHEME).sum()
    parsed = packed_from_bytes(packed_to_bytes(packed), pk)
    assert parsed.decrypt_int(sk) == rows.sum(axis=0).tolist()
    with pytest.raises(InvalidCiphertextError):
        packed_from_bytes(b"CHPV\x01" + b"\0" * 30, pk)
