"""Validation of every object received from a peer: type, dtype, shape and length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from chaihuo.mpc._errors import ProtocolError

__all__ = [
    "expect_array",
    "expect_blob",
    "expect_bytes",
    "expect_int",
    "expect_list",
    "expect_ring",
    "expect_tuple",
    "split_blob",
]

_T = TypeVar("_T")


def _kind(obj: object) -> str:
    if isinstance(obj, np.ndarray):
        return f"ndarray[{obj.dtype}] of shape {obj.shape}"
    return type(obj).__name__


def expect_array(
    obj: object, dtype: npt.DTypeLike, shape: Sequence[int] | None, what: str
) -> npt.NDArray[np.generic]:
    """`obj` as an ndarray of exactly `dtype` (and `shape` when given), else ProtocolError."""
    wanted = np.dtype(dtype)
    if not isinstance(obj, np.ndarray) or obj.dtype != wanted:
        raise ProtocolError(f"{what}: expected an ndarray of {wanted}, got {_kind(obj)}")
    if shape is not None and obj.shape != tuple(shape):
        raise ProtocolError(f"{what}: expected shape {tuple(shape)}, got {obj.shape}")
    return obj


def expect_ring(obj: object, shape: Sequence[int] | None, what: str) -> npt.NDArray[np.uint64]:
    """A share or opened value: a uint64 ndarray of the expected shape."""
    array = expect_array(obj, np.uint64, shape, what)
    return np.asarray(array, dtype=np.uint64)


def expect_bytes(obj: object, what: str, length: int | None = None) -> bytes:
    """`obj` as bytes (of exactly `length` when given)."""
    if not isinstance(obj, bytes):
        raise ProtocolError(f"{what}: expected bytes, got {_kind(obj)}")
    if length is not None and len(obj) != length:
        raise ProtocolError(f"{what}: expected {length} bytes, got {len(obj)}")
    return obj


def expect_int(obj: object, what: str, low: int, high: int) -> int:
    """An int in [low, high)."""
    if isinstance(obj, bool) or not isinstance(obj, int) or not low <= obj < high:
        raise ProtocolError(f"{what}: expected an int in [{low}, {high}), got {obj!r:.60}")
    return obj


def expect_tuple(obj: object, length: int, what: str) -> tuple[object, ...]:
    """A tuple (or list) of exactly `length` items."""
    if not isinstance(obj, tuple | list) or len(obj) != length:
        raise ProtocolError(f"{what}: expected a tuple of {length} items, got {_kind(obj)}")
    return tuple(obj)


def expect_list(obj: object, item_type: type[_T], what: str) -> list[_T]:
    """A list whose items are all of `item_type`."""
    if not isinstance(obj, list | tuple):
        raise ProtocolError(f"{what}: expected a list, got {_kind(obj)}")
    for index, item in enumerate(obj):
        if not isinstance(item, item_type) or isinstance(item, bool):
            raise ProtocolError(f"{what}: item {index} is a {_kind(item)}")
    return list(obj)


def expect_blob(obj: object, width: int, what: str, count: int | None = None) -> bytes:
    """Bytes holding a whole number of `width`-byte records (exactly `count` when given)."""
    blob = expect_bytes(obj, what)
    if len(blob) % width:
        raise ProtocolError(f"{what}: {len(blob)} bytes is not a multiple of {width}")
    if count is not None and len(blob) != count * width:
        raise ProtocolError(f"{what}: expected {count} records, got {len(blob) // width}")
    return blob


def split_blob(blob: bytes, width: int) -> list[bytes]:
    """Cut a blob checked by `expect_blob` into its records."""
    return [blob[i : i + width] for i in range(0, len(blob), width)]
