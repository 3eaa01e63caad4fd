"""Paillier keys: generation under policy, DJN-accelerated encryption, CRT decryption."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import gmpy2
from gmpy2 import mpz

from chaihuo.crypto._errors import InvalidCiphertextError, KeyPolicyError
from chaihuo.crypto.paillier._fixedbase import FixedBaseTable
from chaihuo.crypto.paillier._reserve import ObfuscatorReserve

__all__ = [
    "MIN_KEY_BITS",
    "PaillierKeyPair",
    "PaillierPrivateKey",
    "PaillierPublicKey",
    "generate_keypair",
]

MIN_KEY_BITS = 2048
"""Smallest modulus accepted outside tests: 112-bit security through 2030 (NIST SP 800-57)."""
_MIN_TEST_KEY_BITS = 256
_PRIME_CHECK_ROUNDS = 40
# Below this many encryptions per key, a plain modular exponentiation is cheaper than building
# the fixed-base table; both compute the same hs^a, so the ciphertext distribution is identical.
_TABLE_AFTER = 48


def _window_for(exponent_bits: int) -> int:
    """Table window: ≈ 100 MiB and 1 s to build for 2048-bit keys, ≈ 70 MiB beyond."""
    if exponent_bits <= 1024:
        return 11
    return 9 if exponent_bits <= 1536 else 8


class PaillierPublicKey:
    """Public key n with g = n + 1 and a Damgård–Jurik–Nielsen obfuscator base hs.

    Encryption is Enc(m) = (1 + n·m) · hs^a mod n², with hs = (−x²)^n mod n² for a random x and
    a uniformly random a of ⌈k/2⌉ bits (k = bit length of n). This is the "short exponent"
    variant of Damgård, Jurik and Nielsen ("A generalization of Paillier's public-key system
    with applications to electronic voting", IJIS 9(6), 2010, §4.2, which recommends exactly
    ⌈k/2⌉ bits; ABY's DJN implementation uses the same length): semantic security rests on DCR
    plus the assumption that hs^a for a random ⌈k/2⌉-bit a is indistinguishable from a random
    n-th residue. The best generic attack on a short exponent (Pollard's lambda, also after
    van Oorschot–Wiener peeling of small factors of the group order) costs ≈ 2^(ℓ/2) = 2^512
    group operations for 2048-bit keys, far above the 2^112 of the modulus itself. Every
    holder of the key draws its own hs, so no party relies on another's choice of base.
    """

    __slots__ = (
        "_hs",
        "_modulus_table",
        "_uses",
        "fingerprint",
        "max_int",
        "n",
        "nsquare",
        "reserve",
    )

    def __init__(self, n: int) -> None:
        self.n = mpz(n)
        self.nsquare = self.n * self.n
        self.max_int = self.n // 3
        self.fingerprint = hashlib.sha256(int(self.n).to_bytes(self.byte_length, "big")).digest()
        self._hs: mpz | None = None
        self._modulus_table: FixedBaseTable | None = None
        self._uses = 0
        self.reserve = ObfuscatorReserve(self._compute_obfuscators)
        """Obfuscators computed ahead of need; `obfuscators` draws on it first."""

    @property
    def key_bits(self) -> int:
        """Bit length of n."""
        return int(self.n.bit_length())

    @property
    def byte_length(self) -> int:
        """Bytes of n, big-endian."""
        return (self.key_bits + 7) // 8

    @property
    def ciphertext_bytes(self) -> int:
        """Fixed width of one serialised ciphertext (bytes of n²)."""
        return 2 * self.byte_length

    @property
    def obfuscator_bits(self) -> int:
        """Length ℓ = ⌈k/2⌉ of the random DJN exponent a."""
        return (self.key_bits + 1) // 2

    @property
    def hs(self) -> mpz:
        """This holder's obfuscator base (−x²)^n mod n², drawn on first use."""
        if self._hs is None:
            while True:
                x = mpz(secrets.randbelow(int(self.n) - 2) + 2)
                if gmpy2.gcd(x, self.n) == 1:
                    break
            self._hs = gmpy2.powmod(self.n - x * x % self.n, self.n, self.nsquare)
        return self._hs

    def precompute(self, window: int | None = None) -> None:
        """Build the fixed-base table for hs now (otherwise built after a few encryptions)."""
        bits = self.obfuscator_bits
        self._modulus_table = FixedBaseTable(
            self.hs, self.nsquare, bits, window or _window_for(bits)
        )

    def _table(self, upcoming: int) -> FixedBaseTable | None:
        self._uses += upcoming
        if self._modulus_table is None and self._uses >= _TABLE_AFTER:
            self.precompute()
        return self._modulus_table

    def obfuscators(self, count: int) -> list[mpz]:
        """`count` fresh random n-th residues hs^a mod n², from the reserve first."""
        ready = self.reserve.take(count) if len(self.reserve) else []
        missing = count - len(ready)
        return ready + self._compute_obfuscators(missing) if missing else ready

    def _compute_obfuscators(self, count: int) -> list[mpz]:
        bits = self.obfuscator_bits
        table = self._table(count)
        if table is None:
            hs, nsq = self.hs, self.nsquare
            return [gmpy2.powmod(hs, secrets.randbits(bits), nsq) for _ in range(count)]
        return [table.power(secrets.randbits(bits)) for _ in range(count)]

    def raw_encrypt(self, plaintexts: Sequence[int]) -> list[mpz]:
        """Encrypt integers already reduced into [0, n)."""
        n, nsq = self.n, self.nsquare
        return [
            (n * m + 1) * r % nsq
            for m, r in zip(plaintexts, self.obfuscators(len(plaintexts)), strict=True)
        ]

    def rerandomize(self, ciphertexts: Sequence[mpz]) -> list[mpz]:
        """Multiply each ciphertext by a fresh obfuscator: same plaintext, unlinkable bytes."""
        nsq = self.nsquare
        return [
            c * r % nsq
            for c, r in zip(ciphertexts, self.obfuscators(len(ciphertexts)), strict=True)
        ]

    def check_ciphertexts(self, ciphertexts: Iterable[int]) -> list[mpz]:
        """Range and unit checks: 0 < c < n² and gcd(c, n) = 1, else InvalidCiphertextError."""
        n, nsq = self.n, self.nsquare
        checked = []
        for index, value in enumerate(ciphertexts):
            c = mpz(value)
            if not 0 < c < nsq or gmpy2.gcd(c, n) != 1:
                raise InvalidCiphertextError(
                    f"ciphertext {index} is not a unit of Z*_(n^2) for this key"
                )
            checked.append(c)
        return checked

    def to_bytes(self) -> bytes:
        """n as fixed-width big-endian bytes (hs is per holder and never shipped)."""
        return int(self.n).to_bytes(self.byte_length, "big")

    @classmethod
    def from_bytes(cls, data: bytes, *, allow_insecure_test_key: bool = False) -> PaillierPublicKey:
        """Parse and policy-check a public modulus received from a key owner."""
        n = int.from_bytes(data, "big")
        check_key_bits(n.bit_length(), allow_insecure_test_key=allow_insecure_test_key)
        if n % 2 == 0 or gmpy2.is_square(n) or gmpy2.is_prime(n):
            raise KeyPolicyError("Paillier modulus must be an odd product of two distinct primes")
        return cls(n)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PaillierPublicKey) and self.n == other.n

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"PaillierPublicKey(bits={self.key_bits}, fingerprint={self.fingerprint.hex()[:16]})"


class PaillierPrivateKey:
    """The factors p, q with CRT decryption and CRT-accelerated encryption for the key holder."""

    __slots__ = (
        "_crt_tables",
        "_hp",
        "_hq",
        "_p2_inv_q2",
        "_q_inv_p",
        "p",
        "psquare",
        "public_key",
        "q",
        "qsquare",
    )

    def __init__(self, public_key: PaillierPublicKey, p: int, q: int) -> None:
        p_, q_ = mpz(min(p, q)), mpz(max(p, q))
        if p_ * q_ != public_key.n or p_ == q_:
            raise KeyPolicyError("p and q are not the distinct factors of this public key")
        self.public_key = public_key
        self.p, self.q = p_, q_
        self.psquare, self.qsquare = p_ * p_, q_ * q_
        # h_p = L_p(g^(p-1) mod p²)^(-1) mod p (Paillier 1999, §7, decryption with CRT).
        self._hp = self._h(p_, self.psquare)
        self._hq = self._h(q_, self.qsquare)
        self._p2_inv_q2 = gmpy2.invert(self.psquare, self.qsquare)
        self._q_inv_p = gmpy2.invert(q_, p_)
        self._crt_tables: tuple[FixedBaseTable, FixedBaseTable] | None = None

    def _h(self, prime: mpz, prime_square: mpz) -> mpz:
        g = self.public_key.n + 1
        lifted = (gmpy2.powmod(g, prime - 1, prime_square) - 1) // prime
        return gmpy2.invert(lifted, prime)

    def raw_decrypt(self, ciphertexts: Sequence[mpz]) -> list[mpz]:
        """Decrypt to integers in [0, n) by CRT over p² and q², recombined with Garner."""
        p, q, p2, q2, hp, hq = self.p, self.q, self.psquare, self.qsquare, self._hp, self._hq
        pm1, qm1, q_inv_p = p - 1, q - 1, self._q_inv_p
        out = []
        for c in ciphertexts:
            mp = (gmpy2.powmod(c, pm1, p2) - 1) // p * hp % p
            mq = (gmpy2.powmod(c, qm1, q2) - 1) // q * hq % q
            out.append(mq + q * ((mp - mq) * q_inv_p % p))
        return out

    def _crt(self) -> tuple[FixedBaseTable, FixedBaseTable]:
        if self._crt_tables is None:
            pk = self.public_key
            bits = pk.obfuscator_bits
            window = _window_for(bits)
            self._crt_tables = (
                FixedBaseTable(pk.hs % self.psquare, self.psquare, bits, window),
                FixedBaseTable(pk.hs % self.qsquare, self.qsquare, bits, window),
            )
        return self._crt_tables

    def obfuscators(self, count: int) -> list[mpz]:
        """Same hs^a as the public key computes (reserve first), evaluated by CRT."""
        ready = self.public_key.reserve.take(count) if len(self.public_key.reserve) else []
        missing = count - len(ready)
        if missing and missing < _TABLE_AFTER and self._crt_tables is None:
            return ready + self.public_key.obfuscators(missing)
        return ready + self._crt_obfuscators(missing) if missing else ready

    def _crt_obfuscators(self, count: int) -> list[mpz]:
        table_p, table_q = self._crt()
        bits, p2, q2 = self.public_key.obfuscator_bits, self.psquare, self.qsquare
        inv = self._p2_inv_q2
        out = []
        for _ in range(count):
            a = secrets.randbits(bits)
            rp, rq = table_p.power(a), table_q.power(a)
            # Garner: the unique r mod n² with r ≡ rp (mod p²) and r ≡ rq (mod q²).
            out.append(rp + p2 * ((rq - rp) * inv % q2))
        return out

    def raw_encrypt(self, plaintexts: Sequence[int]) -> list[mpz]:
        """Key-holder encryption of integers in [0, n): identical distribution, CRT speed."""
        n, nsq = self.public_key.n, self.public_key.nsquare
        return [
            (n * m + 1) * r % nsq
            for m, r in zip(plaintexts, self.obfuscators(len(plaintexts)), strict=True)
        ]

    def __repr__(self) -> str:
        return f"PaillierPrivateKey(for={self.public_key!r})"


@dataclass(frozen=True, slots=True)
class PaillierKeyPair:
    """A freshly generated key pair."""

    public_key: PaillierPublicKey
    private_key: PaillierPrivateKey

    def __iter__(self) -> Iterator[PaillierPublicKey | PaillierPrivateKey]:
        """Unpack as ``public_key, private_key = pair``."""
        return iter((self.public_key, self.private_key))


def check_key_bits(bits: int, *, allow_insecure_test_key: bool = False) -> None:
    """Refuse moduli below 2048 bits unless the caller is a test that says so explicitly."""
    floor = _MIN_TEST_KEY_BITS if allow_insecure_test_key else MIN_KEY_BITS
    if bits < floor:
        raise KeyPolicyError(
            f"Paillier modulus of {bits} bits refused: at least {MIN_KEY_BITS} bits are required"
        )


def _random_prime(bits: int) -> mpz:
    while True:
        # Top two bits set so that the product of two such primes has exactly 2·bits bits.
        candidate = gmpy2.next_prime(mpz(secrets.randbits(bits)) | (mpz(3) << (bits - 2)) | 1)
        if candidate.bit_length() == bits and gmpy2.is_prime(candidate, _PRIME_CHECK_ROUNDS):
            return mpz(candidate)


def generate_keypair(
    bits: int = MIN_KEY_BITS, *, allow_insecure_test_key: bool = False
) -> PaillierKeyPair:
    """Generate n = p·q with |p| = |q| = bits/2, p ≠ q and gcd(n, (p−1)(q−1)) = 1."""
    check_key_bits(bits, allow_insecure_test_key=allow_insecure_test_key)
    if bits % 2:
        raise KeyPolicyError(f"Paillier modulus size must be even, got {bits}")
    while True:
        p, q = _random_prime(bits // 2), _random_prime(bits // 2)
        n = p * q
        if p != q and n.bit_length() == bits and gmpy2.gcd(n, (p - 1) * (q - 1)) == 1:
            public_key = PaillierPublicKey(int(n))
            return PaillierKeyPair(public_key, PaillierPrivateKey(public_key, int(p), int(q)))
