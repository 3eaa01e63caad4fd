"""Paillier steps of the vertical algorithms: exact-integer vectors, products, masked packing."""

# Every function works on the raw residues of `EncryptedVector`s (one key, exponent 0: the
# plaintexts of SSHE LR and SecureBoost are integers). Encrypted products use the one kernel of
# chaihuo.crypto.paillier (`pooled_power_products`): matrix @ [[w]] (forward: few bases, many
# outputs) in column blocks, X^T @ [[v]] (backward: many bases) in row blocks whose partial
# products multiply together, over the party's worker pool when the work pays for it.
# Masked vectors are packed homomorphically before they leave (Horner's rule, one slot of
# value_bits per value, as PackedVector.compress, but in the pool) and re-randomised, so the
# receiver decrypts ⌈m / slots⌉ ciphertexts instead of m.

from __future__ import annotations

import secrets
from collections.abc import Sequence

import gmpy2
import numpy as np
import numpy.typing as npt
from gmpy2 import mpz

from chaihuo.crypto import EncodingOverflowError
from chaihuo.crypto.paillier import (
    POOL_MIN_CELLS,
    EncryptedVector,
    FixedPoint,
    PackedVector,
    PackingScheme,
    PaillierPool,
    PaillierPrivateKey,
    PaillierPublicKey,
    pooled_power_products,
)
from chaihuo.federation import ProtocolViolationError

__all__ = [
    "CODEC",
    "add",
    "add_plain",
    "encrypt",
    "expect_packed",
    "inner",
    "mask_pack",
    "masks",
    "matvec",
    "open_packed",
    "pow2",
]

CODEC = FixedPoint(0, 8192)
"""Codec of every exact-integer vector: exponent 0, bounds tracked per vector."""


def masks(count: int, bits: int) -> list[int]:
    """`count` uniform masks on [0, 2^bits) from the OS CSPRNG (one read for all of them)."""
    width = (bits + 7) // 8
    raw = secrets.token_bytes(count * width)
    extra = 8 * width - bits
    return [int.from_bytes(raw[i * width : (i + 1) * width], "big") >> extra for i in range(count)]


def _vector(
    key: PaillierPublicKey, values: list[mpz], bound: int, fresh: bool = False
) -> EncryptedVector:
    limit = int(key.max_int).bit_length() - 1
    if bound > limit:
        raise EncodingOverflowError(f"a value could need {bound} bits, the key allows {limit}")
    return EncryptedVector(key, values, exponent=0, bound_bits=bound, codec=CODEC, fresh=fresh)


def _bits(values: Sequence[int]) -> int:
    return max((abs(v).bit_length() for v in values), default=0)


def encrypt(
    key: PaillierPrivateKey | PaillierPublicKey, values: Sequence[int], pool: PaillierPool | None
) -> EncryptedVector:
    """[[values]] (exact integers); the key holder encrypts with CRT-speed obfuscators."""
    public = key if isinstance(key, PaillierPublicKey) else key.public_key
    n = int(public.n)
    residues = [v % n for v in values]
    if pool is not None and len(residues) >= 64:
        raw = pool.encrypt(key, residues)
    else:
        raw = key.raw_encrypt(residues)
    return _vector(public, raw, _bits(values) + 1, fresh=True)


def add_plain(vector: EncryptedVector, values: Sequence[int]) -> EncryptedVector:
    """[[x + values]]: one multiplication by (1 + n·v) mod n² per element."""
    if len(values) != len(vector):
        raise ValueError(f"{len(values)} plaintexts for {len(vector)} ciphertexts")
    key = vector.public_key
    n, nsq = key.n, key.nsquare
    out = [c * (n * (v % n) + 1) % nsq for c, v in zip(vector.values, values, strict=True)]
    return _vector(key, out, max(vector.bound_bits, _bits(values)) + 1)


def add(vector: EncryptedVector, other: EncryptedVector) -> EncryptedVector:
    """[[x + y]] for two vectors under one key."""
    if other.public_key.fingerprint != vector.public_key.fingerprint or len(other) != len(vector):
        raise ValueError("vectors differ in key or length")
    nsq = vector.public_key.nsquare
    out = [a * b % nsq for a, b in zip(vector.values, other.values, strict=True)]
    bound = max(vector.bound_bits, other.bound_bits) + 1
    return _vector(vector.public_key, out, bound)


def pow2(vector: EncryptedVector, shifts: npt.NDArray[np.int64]) -> EncryptedVector:
    """[[x_j · 2^shift_j]] (shifts ≥ 0): shift_j squarings each."""
    nsq = vector.public_key.nsquare
    out = [
        gmpy2.powmod(c, mpz(1) << int(s), nsq) if s else c
        for c, s in zip(vector.values, shifts.tolist(), strict=True)
    ]
    bound = vector.bound_bits + int(max(shifts.max(initial=0), 0))
    return _vector(vector.public_key, out, bound)


def matvec(
    matrix: npt.NDArray[np.int64], vector: EncryptedVector, pool: PaillierPool | None
) -> EncryptedVector:
    """[[M @ x]] for an integer (m × len) matrix M (|M| < 2^62)."""
    cols = matrix.shape[1]
    if cols != len(vector):
        raise ValueError(f"a matrix of {cols} columns cannot multiply {len(vector)} ciphertexts")
    scalar_bits = int(np.abs(matrix).max(initial=0)).bit_length()
    bound = vector.bound_bits + scalar_bits + max(cols - 1, 0).bit_length()
    key = vector.public_key
    exponents = np.ascontiguousarray(matrix.T, dtype=np.int64)
    out = pooled_power_products(vector.values, exponents, key.nsquare, pool)
    return _vector(key, out, bound)


_LIMB = 52


def inner(
    vector: EncryptedVector, coeffs: Sequence[int], pool: PaillierPool | None
) -> EncryptedVector:
    """[[Σ_i c_i x_i]] for integers c_i of any size (split into 52-bit limbs)."""
    limbs = max(1, -(-(_bits(coeffs) + 1) // _LIMB))
    columns = np.zeros((len(coeffs), limbs), dtype=np.int64)
    for row, value in enumerate(coeffs):
        rest = value
        for limb in range(limbs - 1):
            columns[row, limb] = rest & ((1 << _LIMB) - 1)
            rest >>= _LIMB
        columns[row, limbs - 1] = rest  # the signed top limb (Python >> floors)
    key = vector.public_key
    nsq = key.nsquare
    parts = pooled_power_products(vector.values, columns, nsq, pool)
    total = parts[-1]
    for part in reversed(parts[:-1]):
        total = gmpy2.powmod(total, mpz(1) << _LIMB, nsq) * part % nsq
    bound = vector.bound_bits + _bits(coeffs) + max(len(coeffs) - 1, 0).bit_length()
    return _vector(key, [total], bound)


def _horner(modulus: mpz, slot_bits: int, groups: list[list[mpz]]) -> list[mpz]:
    """Worker task: pack each group as Σ_k u_k·2^(slot·k) by Horner's rule on ciphertexts."""
    shift = mpz(1) << slot_bits
    out = []
    for group in groups:
        acc = group[-1]
        for c in reversed(group[:-1]):
            acc = gmpy2.powmod(acc, shift, modulus) * c % modulus
        out.append(acc)
    return out


def mask_pack(
    vector: EncryptedVector, value_bits: int, sigma: int, pool: PaillierPool | None
) -> tuple[PackedVector, list[int]]:
    """Pack [[x + r]] with r uniform on [0, 2^(value_bits+σ)), given |x| < 2^value_bits.

    `value_bits` is the protocol's bound on the plaintexts (not the running bound of the
    vector, which counts the shares that cancelled inside it). Returns the packed,
    re-randomised vector and the masks r (σ = 0: no mask, r = 0, for values the receiver
    is meant to learn).
    """
    key = vector.public_key
    scheme = PackingScheme(value_bits=value_bits + sigma + 2, headroom_bits=0, exponent=0)
    width = scheme.slots(key)
    drawn = masks(len(vector), value_bits + sigma) if sigma else [0] * len(vector)
    offset = 1 << (scheme.value_bits - 1)  # PackingScheme's slot offset, removed on unpacking
    lifted = add_plain(vector, [r + offset for r in drawn]).values
    groups = [lifted[i : i + width] for i in range(0, len(lifted), width)]
    nsq = key.nsquare
    if pool is not None and len(lifted) * scheme.slot_bits >= POOL_MIN_CELLS // 4:
        packed = pool.map(_horner, (nsq, scheme.slot_bits), groups)
    else:
        packed = _horner(nsq, scheme.slot_bits, groups)
    inner_vector = EncryptedVector(key, packed, exponent=0, bound_bits=0, codec=FixedPoint(0))
    fresh = inner_vector.rerandomize(pool=pool)
    return PackedVector(fresh, scheme, width, 1, count=len(vector)), drawn


def expect_packed(
    received: object, key: PaillierPublicKey, count: int, value_bits: int, what: str
) -> PackedVector:
    """A received PackedVector of `count` masked values of the agreed slot width."""
    if not isinstance(received, PackedVector):
        raise ProtocolViolationError(f"{what}: expected packed ciphertexts, got "
                                     f"{type(received).__name__}")  # fmt: skip
    if received.ciphertexts.public_key.fingerprint != key.fingerprint:
        raise ProtocolViolationError(f"{what}: ciphertexts under an unexpected Paillier key")
    scheme = received.scheme
    if received.count != count or scheme.value_bits != value_bits or scheme.exponent != 0:
        raise ProtocolViolationError(
            f"{what}: expected {count} values of {value_bits} bits, got {received.count} of "
            f"{scheme.value_bits}"
        )
    if received.additions != 1 or received.width != scheme.slots(key):
        raise ProtocolViolationError(f"{what}: unexpected packing layout")
    return received


def open_packed(  # noqa: PLR0917 - one call shape, used by every protocol step
    received: object,
    private_key: PaillierPrivateKey,
    count: int,
    value_bits: int,
    sigma: int,
    pool: PaillierPool | None,
    what: str,
) -> list[int]:
    """Decrypt a peer's masked, packed values (x + r) as signed integers."""
    slot_bits = value_bits + sigma + 2
    packed = expect_packed(received, private_key.public_key, count, slot_bits, what)
    return packed.decrypt_int(private_key, pool=pool)
