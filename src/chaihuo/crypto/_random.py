"""Cryptographic randomness for the crypto layer: every secret comes from the OS CSPRNG."""

from __future__ import annotations

import hashlib
import secrets

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "SEED_BYTES",
    "expand_uint64",
    "random_below",
    "random_bits_array",
    "random_bytes",
    "random_seed",
    "random_uint64",
]

SEED_BYTES = 32
# Above this many bytes, randomness comes from AES-256-CTR under a fresh key drawn from the OS
# (a standard PRG, as in NIST SP 800-90A's CTR_DRBG): several times faster than os.urandom
# for the megabytes secret sharing consumes, and as unpredictable.
_BULK_BYTES = 1 << 16


def random_seed() -> bytes:
    """A fresh 256-bit PRG seed from the OS CSPRNG."""
    return secrets.token_bytes(SEED_BYTES)


def _keystream(seed: bytes, label: str, count: int) -> bytes:
    nonce = hashlib.sha256(label.encode("utf-8")).digest()[:16]
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(nonce)).encryptor()
    return encryptor.update(bytes(count)) + encryptor.finalize()


def expand_uint64(seed: bytes, label: str, shape: int | tuple[int, ...]) -> npt.NDArray[np.uint64]:
    """Deterministic uint64 array from a 256-bit seed: AES-256-CTR keystream, one per label.

    Two parties holding the same seed get the same array; different labels give independent
    streams (the label picks the CTR nonce).
    """
    if len(seed) != SEED_BYTES:
        raise ValueError(f"PRG seeds are {SEED_BYTES} bytes")
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(dims, dtype=np.int64)) if dims else 1
    raw = np.frombuffer(_keystream(seed, label, 8 * count), dtype="<u8")
    return raw.astype(np.uint64, copy=True).reshape(dims)


def random_bytes(count: int) -> bytes:
    """`count` bytes from the OS CSPRNG."""
    return secrets.token_bytes(count)


def random_uint64(shape: int | tuple[int, ...]) -> npt.NDArray[np.uint64]:
    """Uniform uint64 array of `shape` from the OS CSPRNG (never numpy.random)."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(dims, dtype=np.int64)) if dims else 1
    if 8 * count > _BULK_BYTES:
        return expand_uint64(random_seed(), "bulk", dims)
    raw = np.frombuffer(secrets.token_bytes(8 * count), dtype="<u8")
    return raw.astype(np.uint64, copy=True).reshape(dims)


def random_bits_array(count: int) -> npt.NDArray[np.uint8]:
    """`count` uniform bits as a uint8 array of 0/1 from the OS CSPRNG."""
    packed = np.frombuffer(secrets.token_bytes((count + 7) // 8), dtype=np.uint8)
    return np.unpackbits(packed)[:count].copy()


def random_below(bound: int) -> int:
    """Uniform integer in [0, bound) from the OS CSPRNG."""
    return secrets.randbelow(bound)
