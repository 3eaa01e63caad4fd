"""RSA blind signatures for RSA-PSI: keys, full-domain hash, blind, CRT sign, unblind, verify."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import gmpy2

from chaihuo.crypto._errors import CryptoError, InvalidCryptoInputError, KeyPolicyError
from chaihuo.crypto._random import random_below, random_bytes
from chaihuo.crypto.psi._digest import truncated_digest

__all__ = [
    "MIN_RSA_BITS",
    "RSA_PUBLIC_EXPONENT",
    "RSAPrivateKey",
    "RSAPublicKey",
    "generate_rsa_key",
    "rsa_blind",
    "rsa_full_domain_hash",
    "rsa_sign",
    "rsa_signature_digests",
    "rsa_unblind",
    "rsa_verify",
]

# RSA-PSI (De Cristofaro & Tsudik, "Practical private set intersection protocols with linear
# complexity", FC 2010) rests on Chaum's blind signatures (1982): the client sends
# m·r^e mod N for a uniform unit r, the server returns (m·r^e)^d = m^d·r, and the client
# divides by r to get m^d without the server seeing m. Messages are a full-domain hash into
# Z_N (Bellare–Rogaway 1993), so signatures are deterministic and comparable across parties.

MIN_RSA_BITS: Final = 2048
RSA_PUBLIC_EXPONENT: Final = 65537
_MIN_TEST_BITS: Final = 512
# 128 extra hash bits make H mod N statistically close to uniform on Z_N (bias ≤ 2^-128).
_FDH_EXTRA_BITS: Final = 128
_FDH_LABEL: Final = b"chaihuo/psi/rsa-fdh/v1"
_PRIME_CHECK_REPS: Final = 40

_Mpz: TypeAlias = Any  # gmpy2.mpz; gmpy2 ships no type stubs


@dataclass(frozen=True, slots=True)
class RSAPublicKey:
    """Modulus N and exponent e; moduli below 2048 bits need `insecure_test_key=True`."""

    n: int
    e: int = RSA_PUBLIC_EXPONENT
    insecure_test_key: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or not isinstance(self.e, int):
            raise InvalidCryptoInputError("an RSA public key needs integer n and e")
        if self.n % 2 == 0 or self.e % 2 == 0 or not 3 <= self.e < self.n:
            raise InvalidCryptoInputError("an RSA public key needs odd n and odd e in [3, n)")
        floor = _MIN_TEST_BITS if self.insecure_test_key else MIN_RSA_BITS
        if self.n.bit_length() < floor:
            raise KeyPolicyError(
                f"RSA modulus of {self.n.bit_length()} bits refused: the minimum is {floor}"
                + ("" if self.insecure_test_key else " (allow_insecure_test_key=True in tests)")
            )

    @property
    def bits(self) -> int:
        """|N| in bits."""
        return self.n.bit_length()

    @property
    def byte_length(self) -> int:
        """Bytes of a fixed-width big-endian element of Z_N."""
        return (self.bits + 7) // 8


@dataclass(frozen=True, slots=True)
class RSAPrivateKey:
    """Public key plus CRT parameters: d_p = d mod (p−1), d_q = d mod (q−1), q_inv = q^-1 mod p."""

    public: RSAPublicKey
    p: int = field(repr=False)
    q: int = field(repr=False)
    d: int = field(repr=False)
    dp: int = field(repr=False)
    dq: int = field(repr=False)
    q_inv: int = field(repr=False)

    def __post_init__(self) -> None:
        if self.p * self.q != self.public.n or (self.q * self.q_inv) % self.p != 1:
            raise InvalidCryptoInputError("RSA private key parameters do not match its modulus")


def generate_rsa_key(
    bits: int = MIN_RSA_BITS, *, allow_insecure_test_key: bool = False
) -> RSAPrivateKey:
    """Fresh RSA key with an exactly `bits`-bit modulus and e = 65537."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise InvalidCryptoInputError(f"bits must be an int, got {bits!r}")
    floor = _MIN_TEST_BITS if allow_insecure_test_key else MIN_RSA_BITS
    if bits < floor:
        raise KeyPolicyError(f"RSA keys below {floor} bits are refused, asked for {bits}")
    e = RSA_PUBLIC_EXPONENT
    p_bits = (bits + 1) // 2
    while True:
        p, q = _random_prime(p_bits, e), _random_prime(bits - p_bits, e)
        n = p * q
        # FIPS 186-4 B.3.1: |p − q| > 2^(bits/2 − 100) keeps Fermat factoring out of reach (and
        # p ≠ q); gcd(e, p−1) = gcd(e, q−1) = 1 from `_random_prime` gives gcd(e, φ(N)) = 1.
        if n.bit_length() == bits and abs(p - q) > gmpy2.mpz(2) ** (bits // 2 - 100):
            break
    d = gmpy2.invert(e, gmpy2.lcm(p - 1, q - 1))
    public = RSAPublicKey(int(n), e, insecure_test_key=bits < MIN_RSA_BITS)
    return RSAPrivateKey(
        public=public,
        p=int(p),
        q=int(q),
        d=int(d),
        dp=int(d % (p - 1)),
        dq=int(d % (q - 1)),
        q_inv=int(gmpy2.invert(q, p)),
    )


def _random_prime(bits: int, e: int) -> _Mpz:
    # The top two bits set make the product of a `bits`-bit and a `bits'`-bit prime exactly
    # bits + bits' long (1.5² > 2); next_prime is GMP's probable-prime search, re-checked.
    while True:
        raw = int.from_bytes(random_bytes((bits + 7) // 8), "big") >> (-bits % 8)
        start = raw | (3 << (bits - 2)) | 1
        prime = gmpy2.next_prime(start)
        if (
            prime.bit_length() == bits
            and gmpy2.gcd(e, prime - 1) == 1
            and gmpy2.is_prime(prime, _PRIME_CHECK_REPS)
        ):
            return prime


def rsa_full_domain_hash(
    identifiers: Sequence[bytes], public: RSAPublicKey, domain: bytes
) -> list[int]:
    """FDH of each id into Z_N: SHA-256 in counter mode to |N| + 128 bits, reduced mod N."""
    if not isinstance(domain, bytes) or not domain:
        raise InvalidCryptoInputError("the PSI domain separator must be non-empty bytes")
    out_bits = public.bits + _FDH_EXTRA_BITS
    blocks = -(-out_bits // 256)
    base = hashlib.sha256(_FDH_LABEL + len(domain).to_bytes(8, "big") + domain)
    hashed = []
    for identifier in identifiers:
        if not isinstance(identifier, bytes):
            raise InvalidCryptoInputError(f"ids must be bytes, got {type(identifier).__name__}")
        tail = len(identifier).to_bytes(8, "big") + identifier
        stream = bytearray()
        for counter in range(blocks):
            block = base.copy()
            block.update(tail + counter.to_bytes(4, "big"))
            stream += block.digest()
        value = int.from_bytes(stream, "big") >> (blocks * 256 - out_bits)
        hashed.append(value % public.n)
    return hashed


def rsa_blind(messages: Sequence[int], public: RSAPublicKey) -> tuple[list[int], list[int]]:
    """Client: (m·r^e mod N for fresh units r, the unblinders r^-1 mod N to keep secret)."""
    n = gmpy2.mpz(public.n)
    blinded, unblinders = [], []
    for m in _check_messages(messages, public, "message"):
        while True:
            r = gmpy2.mpz(random_below(public.n - 2) + 2)
            if gmpy2.gcd(r, n) == 1:
                break
        blinded.append(int(m * gmpy2.powmod(r, public.e, n) % n))
        unblinders.append(int(gmpy2.invert(r, n)))
    return blinded, unblinders


def rsa_sign(messages: Sequence[int], private: RSAPrivateKey) -> list[int]:
    """Server: m^d mod N by CRT and Garner's recombination, for blinded or plain FDH values.

    Each signature is checked with s^e = m before release: a faulty CRT half would otherwise
    reveal a factor of N through gcd(s^e − m, N) (Boneh–DeMillo–Lipton 1997).
    """
    public = private.public
    n, p, q = gmpy2.mpz(public.n), gmpy2.mpz(private.p), gmpy2.mpz(private.q)
    dp, dq, q_inv = gmpy2.mpz(private.dp), gmpy2.mpz(private.dq), gmpy2.mpz(private.q_inv)
    signatures = []
    for m in _check_messages(messages, public, "message to sign"):
        s_p = gmpy2.powmod(m, dp, p)
        s_q = gmpy2.powmod(m, dq, q)
        s = s_q + q * ((q_inv * (s_p - s_q)) % p)
        if gmpy2.powmod(s, public.e, n) != m:
            raise CryptoError("RSA-CRT signature failed its self-check; not released")
        signatures.append(int(s))
    return signatures


def rsa_unblind(
    blind_signatures: Sequence[int], unblinders: Sequence[int], public: RSAPublicKey
) -> list[int]:
    """Client: s = s'·r^-1 mod N, the server's signature on the original message."""
    if len(blind_signatures) != len(unblinders):
        raise InvalidCryptoInputError(
            f"{len(blind_signatures)} blind signatures but {len(unblinders)} unblinders"
        )
    n = gmpy2.mpz(public.n)
    signed = _check_messages(blind_signatures, public, "blind signature")
    return [int(s * gmpy2.mpz(r) % n) for s, r in zip(signed, unblinders, strict=True)]


def rsa_verify(
    messages: Sequence[int], signatures: Sequence[int], public: RSAPublicKey
) -> list[bool]:
    """Whether s^e = m mod N for each pair."""
    if len(messages) != len(signatures):
        raise InvalidCryptoInputError(f"{len(messages)} messages but {len(signatures)} signatures")
    n = gmpy2.mpz(public.n)
    ms = _check_messages(messages, public, "message")
    ss = _check_messages(signatures, public, "signature")
    return [gmpy2.powmod(s, public.e, n) == m for m, s in zip(ms, ss, strict=True)]


def rsa_signature_digests(signatures: Sequence[int], public: RSAPublicKey) -> list[bytes]:
    """Truncated SHA-256 of each signature as fixed-width big-endian bytes (RSA-PSI's H')."""
    width = public.byte_length
    checked = _check_messages(signatures, public, "signature")
    return [truncated_digest(int(s).to_bytes(width, "big")) for s in checked]


def _check_messages(values: Sequence[int], public: RSAPublicKey, what: str) -> list[_Mpz]:
    checked: list[_Mpz] = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < public.n:
            raise InvalidCryptoInputError(f"{what} #{i} is not an integer in [0, N)")
        checked.append(gmpy2.mpz(value))
    return checked
