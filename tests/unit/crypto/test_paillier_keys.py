"""R22/R23: key policy, key generation, encryption randomness and CRT decryption."""

from __future__ import annotations

import time

import gmpy2
import numpy as np
import pytest

from chaihuo.crypto import KeyPolicyError
from chaihuo.crypto.paillier import (
    EncryptedVector,
    FixedPoint,
    PaillierKeyPair,
    PaillierPublicKey,
    generate_keypair,
)


@pytest.mark.parametrize("bits", [512, 1024, 1536, 2040])
def test_keys_below_2048_bits_are_refused(bits: int) -> None:
    with pytest.raises(KeyPolicyError, match="at least 2048"):
        generate_keypair(bits)


def test_small_keys_need_the_explicit_test_flag() -> None:
    keys = generate_keypair(512, allow_insecure_test_key=True)
    assert keys.public_key.key_bits == 512


def test_default_key_is_2048_bits_with_equal_length_distinct_primes(
    keys2048: PaillierKeyPair,
) -> None:
    sk = keys2048.private_key
    assert keys2048.public_key.key_bits == 2048
    assert sk.p != sk.q
    assert sk.p.bit_length() == sk.q.bit_length() == 1024
    assert gmpy2.is_prime(sk.p) and gmpy2.is_prime(sk.q)
    assert sk.p * sk.q == keys2048.public_key.n


def test_200_keygens_are_exact_length_and_unique() -> None:
    moduli = set()
    for _ in range(200):
        keys = generate_keypair(2048)
        assert keys.public_key.key_bits == 2048
        assert keys.private_key.p.bit_length() == keys.private_key.q.bit_length() == 1024
        moduli.add(int(keys.public_key.n))
    assert len(moduli) == 200


def test_4096_bit_keys_are_available() -> None:
    pk, sk = generate_keypair(4096)
    assert pk.key_bits == 4096
    vector = EncryptedVector.encrypt(pk, np.array([3, -4]), FixedPoint(0))
    assert vector.decrypt_int(sk) == [3, -4]


def test_ten_thousand_encryptions_of_one_value_are_distinct(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    vector = EncryptedVector.encrypt(pk, np.full(10_000, 42), FixedPoint(0))
    assert len({int(c) for c in vector.values}) == 10_000
    assert set(vector[::997].decrypt_int(sk)) == {42}


def test_key_holder_and_public_encryption_decrypt_alike(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    values = np.arange(-100, 100)
    by_holder = EncryptedVector.encrypt(sk, values, FixedPoint(0))
    by_public = EncryptedVector.encrypt(pk, values, FixedPoint(0))
    assert by_holder.decrypt_int(sk) == by_public.decrypt_int(sk) == values.tolist()


def test_rerandomized_ciphertexts_differ_and_decrypt_the_same(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    vector = EncryptedVector.encrypt(pk, np.arange(50), FixedPoint(0))
    fresh = vector.rerandomize()
    assert all(a != b for a, b in zip(vector.values, fresh.values, strict=True))
    assert fresh.decrypt_int(sk) == list(range(50))


def test_fingerprint_is_sha256_of_n_and_public_key_round_trips(keys2048: PaillierKeyPair) -> None:
    pk = keys2048.public_key
    parsed = PaillierPublicKey.from_bytes(pk.to_bytes())
    assert parsed == pk and parsed.fingerprint == pk.fingerprint
    assert len(pk.fingerprint) == 32


def test_public_key_parsing_applies_the_policy() -> None:
    small = generate_keypair(1024, allow_insecure_test_key=True).public_key
    with pytest.raises(KeyPolicyError):
        PaillierPublicKey.from_bytes(small.to_bytes())
    with pytest.raises(KeyPolicyError):
        PaillierPublicKey.from_bytes((2**2047 + 2).to_bytes(256, "big"))


def test_obfuscator_reserve_is_consumed_once_and_refills(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    reserve = pk.reserve
    reserve.fill(8)
    assert len(reserve) == 8
    taken = list(reserve._items)
    vector = EncryptedVector.encrypt(sk, np.arange(5), FixedPoint(0))
    assert len(reserve) == 3
    n, nsq = int(pk.n), int(pk.nsquare)
    assert [int(c) for c in vector.values] == [
        (n * m + 1) * int(r) % nsq for m, r in zip(range(5), taken, strict=False)
    ]
    assert vector.decrypt_int(sk) == [0, 1, 2, 3, 4]
    reserve.refill_in_background(target=40)
    deadline = time.monotonic() + 30
    while len(reserve) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    reserve.stop()
    assert len(reserve) >= 40
    used = EncryptedVector.encrypt(pk, np.zeros(len(reserve), dtype=np.int64), FixedPoint(0))
    assert len(reserve) == 0 and used.decrypt_int(sk) == [0] * len(used)
