"""Stable key hashing and canonical key encoding, identical in every process, backend and party."""

from __future__ import annotations

import hashlib
import math
import struct
import zlib
from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from chaihuo.computing._errors import InvalidKeyError

__all__ = [
    "canonical_key",
    "key_hash",
    "key_hashes",
    "partition_of",
    "partitions_of",
    "sample_priorities",
    "sample_priority",
]

# Python's own hash() is salted per process (PYTHONHASHSEED), so it cannot place a key in the
# same partition on two parties, two workers or a Spark executor. Every key instead gets a
# 64-bit hash fixed by this module. Equal keys (in the == sense: 1 == 1.0 == True, numpy
# scalars equal to Python ones) must hash equally, so numbers are normalised first.
#
# Fast paths: int keys in the int64 range go through the splitmix64 finaliser (a bijection on
# 64 bits, vectorised with numpy); str and bytes keys through CRC-32 of their bytes, then the
# same finaliser to spread the 32 bits. Every other key (tuples, None, big ints, fractional
# floats) hashes the first 8 bytes of BLAKE2b over its canonical encoding.

_MASK64 = (1 << 64) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_STR_DOMAIN = 1 << 32
_BYTES_DOMAIN = 2 << 32


def _mix64(x: int) -> int:
    """Splitmix64 finaliser (Steele, Lea, Flood 2014) on one unsigned 64-bit integer."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _mix64_array(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The same finaliser over a uint64 array (multiplication wraps modulo 2^64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _as_integer(key: object) -> int | None:
    """The integer a numeric key equals (bools, numpy integers, integral floats), else None."""
    if isinstance(key, int | np.integer | np.bool_):
        return int(key)
    if isinstance(key, float | np.floating) and math.isfinite(key) and float(key).is_integer():
        return int(key)
    return None


def canonical_key(key: object) -> bytes:
    """An injective byte encoding of a key, equal for keys that compare equal.

    Tags: ``I`` integer (signed big-endian), ``F`` other float (IEEE-754 big-endian),
    ``S`` str (UTF-8), ``B`` bytes, ``N`` None, ``T`` tuple (each element length-prefixed).
    It orders blocks and decides exact-size sampling ties, identically everywhere.
    """
    as_int = _as_integer(key)
    if as_int is not None:
        return b"I" + as_int.to_bytes((as_int.bit_length() + 8) // 8, "big", signed=True)
    if isinstance(key, str):
        return b"S" + key.encode("utf-8", "surrogatepass")
    if isinstance(key, bytes):
        return b"B" + key
    if isinstance(key, float | np.floating):
        return b"F" + struct.pack(">d", float(key))
    if key is None:
        return b"N"
    if isinstance(key, tuple):
        parts = [canonical_key(item) for item in key]
        return b"T" + b"".join(len(part).to_bytes(4, "big") + part for part in parts)
    raise InvalidKeyError(
        "table keys must be str, int, bytes, float, None or tuples of them",
        key_type=type(key).__name__,
    )


def key_hash(key: object) -> int:
    """The stable unsigned 64-bit hash of one key (the Spark backend's partition function)."""
    if type(key) is str:
        return _mix64(zlib.crc32(key.encode("utf-8", "surrogatepass")) | _STR_DOMAIN)
    as_int = _as_integer(key)
    if as_int is not None and _INT64_MIN <= as_int <= _INT64_MAX:
        return _mix64(as_int & _MASK64)
    if isinstance(key, str):
        return _mix64(zlib.crc32(key.encode("utf-8", "surrogatepass")) | _STR_DOMAIN)
    if isinstance(key, bytes):
        return _mix64(zlib.crc32(key) | _BYTES_DOMAIN)
    digest = hashlib.blake2b(canonical_key(key), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def key_hashes(keys: Sequence[object]) -> npt.NDArray[np.uint64]:
    """`key_hash` of many keys at once, vectorised when they are all str or all int."""
    if not keys:
        return np.zeros(0, dtype=np.uint64)
    kinds = set(map(type, keys))
    if kinds == {str}:
        strings = cast(list[str], keys)
        crcs = [zlib.crc32(key.encode("utf-8", "surrogatepass")) for key in strings]
        return _mix64_array(np.array(crcs, dtype=np.uint64) | np.uint64(_STR_DOMAIN))
    if kinds == {int}:
        try:
            ints = np.array(keys, dtype=np.int64)
        except OverflowError:
            pass
        else:
            return _mix64_array(ints.view(np.uint64))
    return np.fromiter((key_hash(key) for key in keys), dtype=np.uint64, count=len(keys))


def partition_of(key: object, partitions: int) -> int:
    """The partition (0-based) that holds `key` in a table of `partitions` partitions."""
    return key_hash(key) % partitions


def partitions_of(keys: Sequence[object], partitions: int) -> npt.NDArray[np.intp]:
    """`partition_of` for many keys."""
    return (key_hashes(keys) % np.uint64(partitions)).astype(np.intp)


def _seed_key(seed: int) -> bytes:
    return (seed & _MASK64).to_bytes(8, "big")


def sample_priority(key: object, seed: int) -> int:
    """A seeded 64-bit pseudo-random priority of a key: BLAKE2b keyed by the seed.

    Sampling keeps a key by its priority alone, so a seed selects the same keys whatever the
    backend, partition count or process that evaluates it.
    """
    digest = hashlib.blake2b(canonical_key(key), digest_size=8, key=_seed_key(seed)).digest()
    return int.from_bytes(digest, "little")


def sample_priorities(keys: Sequence[object], seed: int) -> npt.NDArray[np.uint64]:
    """`sample_priority` of many keys."""
    salt = _seed_key(seed)
    return np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(canonical_key(key), digest_size=8, key=salt).digest(), "little"
            )
            for key in keys
        ),
        dtype=np.uint64,
        count=len(keys),
    )
