"""RSA blind signatures for RSA-PSI: key policy, FDH, blind/sign/unblind, CRT correctness."""

from __future__ import annotations

from math import gcd, lcm

import pytest

from chaihuo.crypto._errors import InvalidCryptoInputError, KeyPolicyError
from chaihuo.crypto.psi import (
    RSAPrivateKey,
    RSAPublicKey,
    generate_rsa_key,
    intersect_digests,
    rsa_blind,
    rsa_full_domain_hash,
    rsa_sign,
    rsa_signature_digests,
    rsa_unblind,
    rsa_verify,
)

DOMAIN = b"job-42/rsa-psi"


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return generate_rsa_key(1024, allow_insecure_test_key=True)


def test_default_key_is_2048_bits_with_consistent_crt_parameters() -> None:
    key = generate_rsa_key()
    n, e = key.public.n, key.public.e
    assert n.bit_length() == 2048 and e == 65537 and not key.public.insecure_test_key
    assert key.p * key.q == n and key.p != key.q
    assert gcd(e, (key.p - 1) * (key.q - 1)) == 1
    assert (key.d * e) % lcm(key.p - 1, key.q - 1) == 1
    assert key.dp == key.d % (key.p - 1) and key.dq == key.d % (key.q - 1)
    assert (key.q * key.q_inv) % key.p == 1
    assert str(key.p) not in repr(key) and str(key.d) not in repr(key)


@pytest.mark.parametrize("bits", [512, 1023, 1025, 1536])
def test_test_keys_have_the_exact_bit_length(bits: int) -> None:
    key = generate_rsa_key(bits, allow_insecure_test_key=True)
    assert key.public.bits == bits and key.public.insecure_test_key


def test_small_keys_are_refused(key: RSAPrivateKey) -> None:
    with pytest.raises(KeyPolicyError, match="2048"):
        generate_rsa_key(1024)
    with pytest.raises(KeyPolicyError, match="512"):
        generate_rsa_key(256, allow_insecure_test_key=True)
    with pytest.raises(KeyPolicyError, match="1024 bits refused"):
        RSAPublicKey(key.public.n)  # e.g. a peer's key off the wire
    with pytest.raises(InvalidCryptoInputError):
        RSAPublicKey(key.public.n + 1, insecure_test_key=True)


def test_blind_sign_unblind_equals_direct_signature(key: RSAPrivateKey) -> None:
    public = key.public
    messages = rsa_full_domain_hash([f"id{i}".encode() for i in range(50)], public, DOMAIN)
    blinded, unblinders = rsa_blind(messages, public)
    assert all(b != m for b, m in zip(blinded, messages, strict=True))
    assert rsa_blind(messages[:1], public)[0] != blinded[:1]  # fresh blinding each time
    signatures = rsa_unblind(rsa_sign(blinded, key), unblinders, public)
    assert signatures == rsa_sign(messages, key)
    assert signatures == [pow(m, key.d, public.n) for m in messages]
    assert all(rsa_verify(messages, signatures, public))
    assert not any(rsa_verify(messages[:3], [s ^ 1 for s in signatures[:3]], public))


def test_full_domain_hash_is_deterministic_in_range_and_separated(key: RSAPrivateKey) -> None:
    public = key.public
    first = rsa_full_domain_hash([b"alice", b"bob"], public, DOMAIN)
    assert first == rsa_full_domain_hash([b"alice", b"bob"], public, DOMAIN)
    assert first[0] != first[1]
    assert all(0 <= h < public.n for h in first)
    assert first != rsa_full_domain_hash([b"alice", b"bob"], public, b"job-43/rsa-psi")
    # The hash spans the whole of Z_N, not just a 256-bit corner of it.
    assert max(first).bit_length() > public.bits - 64
    with pytest.raises(InvalidCryptoInputError, match="domain"):
        rsa_full_domain_hash([b"a"], public, b"")


def test_out_of_range_inputs_are_rejected(key: RSAPrivateKey) -> None:
    n = key.public.n
    for bad in (n, -1, 1.5, True):
        with pytest.raises(InvalidCryptoInputError, match=r"\[0, N\)"):
            rsa_sign([bad], key)  # type: ignore[list-item]
    with pytest.raises(InvalidCryptoInputError, match="unblinders"):
        rsa_unblind([1, 2], [1], key.public)


def test_rsa_psi_round_trip_finds_the_intersection(key: RSAPrivateKey) -> None:
    public = key.public
    server_ids = [f"user{i}".encode() for i in range(120)]
    client_ids = [f"user{i}".encode() for i in range(80, 200)]
    server_digests = rsa_signature_digests(
        rsa_sign(rsa_full_domain_hash(server_ids, public, DOMAIN), key), public
    )
    blinded, unblinders = rsa_blind(rsa_full_domain_hash(client_ids, public, DOMAIN), public)
    client_signatures = rsa_unblind(rsa_sign(blinded, key), unblinders, public)
    local = rsa_signature_digests(client_signatures, public)
    found = {client_ids[i] for i in intersect_digests(local, server_digests)}
    assert found == set(client_ids) & set(server_ids)


def test_private_key_parameters_must_match(key: RSAPrivateKey) -> None:
    with pytest.raises(InvalidCryptoInputError, match="do not match"):
        RSAPrivateKey(key.public, key.p + 2, key.q, key.d, key.dp, key.dq, key.q_inv)
