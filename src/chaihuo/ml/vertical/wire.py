"""Field checks of protocol records: a peer's message rebuilt from codec types, or refused."""

# Every vertical protocol message is a frozen record that crosses as a plain dict of codec
# types (ints, strings, bytes, lists, int arrays, ciphertexts) and is rebuilt by its
# `from_wire`, built from these checks: anything else is a ProtocolViolationError naming the
# message and the field, so a peer's malformed message never reaches the algorithm.

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.federation import ProtocolViolationError

__all__ = [
    "USAGES",
    "bits",
    "digests",
    "fields",
    "flag",
    "integer",
    "integers",
    "ints",
    "mapping",
    "number",
    "pack_bits",
    "plain",
    "text",
    "usages",
]

Ints = npt.NDArray[np.int64]

USAGES = ("train", "validate", "test")
"""The data sets a vertical run may be given, by usage."""


def plain(record: Any) -> dict[str, Any]:
    """A record's fields by name, in the order it declares them, tuples sent as lists."""
    return {
        field.name: list(value) if isinstance(value, tuple) else value
        for field in dataclasses.fields(record)
        for value in (getattr(record, field.name),)
    }


def fields(
    obj: object, what: str, names: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`obj` if it is a dict holding every field of `names` and no field outside `names` and
    `optional` (an optional field that is absent reads as None)."""
    if not isinstance(obj, dict) or not set(names) <= set(obj) <= {*names, *optional}:
        got = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        expected = sorted(names) + [f"{name}?" for name in sorted(optional)]
        raise ProtocolViolationError(f"{what}: expected fields {expected}, got {got}")
    return {**dict.fromkeys(optional), **obj}


def ints(value: object, what: str, *, low: int = 0, high: int | None = None) -> Ints:
    """A 1-d integer array with values in [low, high)."""
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "iu":
        raise ProtocolViolationError(f"{what}: expected a 1-d integer array")
    out = value.astype(np.int64)
    if out.size and (out.min() < low or (high is not None and out.max() >= high)):
        raise ProtocolViolationError(f"{what}: values outside [{low}, {high})")
    return out


def integer(value: object, what: str, low: int = 0, high: int | None = None) -> int:
    """An int (not a bool) in [low, high) (no upper bound when `high` is None)."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value >= high)
    ):
        raise ProtocolViolationError(f"{what}: expected an integer in [{low}, {high})")
    return value


def integers(value: object, what: str, length: int, low: int = 0) -> tuple[int, ...]:
    """A list of `length` ints (not bools), each at least `low`."""
    if not isinstance(value, list) or len(value) != length:
        raise ProtocolViolationError(f"{what}: expected a list of {length} integers")
    return tuple(integer(item, what, low) for item in value)


def number(value: object, what: str) -> float:
    """A float or int (not a bool), as a float; NaN and infinities pass (a loss may be one)."""
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise ProtocolViolationError(f"{what}: expected a number, got {type(value).__name__}")
    return float(value)


def flag(value: object, what: str) -> bool:
    """A bool."""
    if not isinstance(value, bool):
        raise ProtocolViolationError(f"{what}: expected true or false, got {type(value).__name__}")
    return value


def text(value: object, what: str, options: tuple[str, ...] | None = None) -> str:
    """A string (one of `options` when given)."""
    if not isinstance(value, str) or (options is not None and value not in options):
        expected = "a string" if options is None else f"one of {list(options)}"
        raise ProtocolViolationError(f"{what}: expected {expected}")
    return value


def mapping(value: object, what: str) -> dict[str, Any]:
    """A dict keyed by strings (its values are the caller's to check)."""
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ProtocolViolationError(f"{what}: expected a mapping of names")
    return value


def usages(value: object, what: str) -> tuple[str, ...]:
    """A list of distinct data-set usages (train, validate, test)."""
    if not isinstance(value, list) or len(set(map(str, value))) != len(value):
        raise ProtocolViolationError(f"{what}: expected a list of distinct usages")
    return tuple(text(usage, what, USAGES) for usage in value)


def digests(value: object, what: str) -> dict[str, bytes]:
    """Row digests by usage: 32 bytes (SHA-256) for each of train, validate, test given."""
    checked = mapping(value, what)
    for usage, digest in checked.items():
        text(usage, f"{what} usage", USAGES)
        if not isinstance(digest, bytes) or len(digest) != 32:
            raise ProtocolViolationError(f"{what}.{usage}: expected a 32-byte digest")
    return checked


def bits(value: object, count: int, what: str) -> npt.NDArray[np.bool_]:
    """`count` booleans packed into bytes (what `pack_bits` writes)."""
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 1:
        raise ProtocolViolationError(f"{what}: expected packed bits (uint8)")
    if len(value) != (count + 7) // 8:
        raise ProtocolViolationError(f"{what}: expected {count} bits, got {8 * len(value)}")
    return np.unpackbits(value, count=count).astype(bool)


def pack_bits(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Booleans as packed bytes (what `bits` reads back)."""
    return np.packbits(mask.astype(np.uint8))
