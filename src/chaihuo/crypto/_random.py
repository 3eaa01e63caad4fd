"""Cryptographic randomness for the crypto layer: every secret comes from the OS CSPRNG."""

from __future__ import annotations

import secrets

import numpy as np
import numpy.typing as npt

__all__ = ["random_below", "random_bits_array", "random_bytes", "random_uint64"]


def random_bytes(count: int) -> bytes:
    """`count` bytes from the OS CSPRNG."""
    return secrets.token_bytes(count)


def random_uint64(shape: int | tuple[int, ...]) -> npt.NDArray[np.uint64]:
    """Uniform uint64 array of `shape` from the OS CSPRNG (never numpy.random)."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(dims, dtype=np.int64)) if dims else 1
    raw = np.frombuffer(secrets.token_bytes(8 * count), dtype="<u8")
    return raw.astype(np.uint64, copy=True).reshape(dims)


def random_bits_array(count: int) -> npt.NDArray[np.uint8]:
    """`count` uniform bits as a uint8 array of 0/1 from the OS CSPRNG."""
    packed = np.frombuffer(secrets.token_bytes((count + 7) // 8), dtype=np.uint8)
    return np.unpackbits(packed)[:count].copy()


def random_below(bound: int) -> int:
    """Uniform integer in [0, bound) from the OS CSPRNG."""
    return secrets.randbelow(bound)
