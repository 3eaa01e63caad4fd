"""Per-partition tasks of the local backend, run in worker processes (or inline)."""

from __future__ import annotations

import functools
import itertools
import pickle
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from chaihuo.computing._errors import ComputingError, DuplicateKeyError
from chaihuo.computing._keys import partitions_of
from chaihuo.computing._storage import (
    Columns,
    Segment,
    read_segment,
    read_segments,
    split_pairs,
    write_sections,
)
from chaihuo.core import ChaihuoError

__all__ = [
    "bucket_columns",
    "first_repeat",
    "fold",
    "gather",
    "guarded",
    "pair",
    "scatter",
    "transform",
]

R = TypeVar("R")


def guarded(task: Callable[[], R]) -> R:
    """Run a task; an exception from user code becomes a picklable `ComputingError`.

    Spark can only report a failed function as text, so both backends report it the same
    way: the original type, message and traceback travel in the error's details.
    """
    try:
        return task()
    except ChaihuoError:
        raise
    except Exception as exc:
        raise ComputingError(
            f"a table function raised {type(exc).__name__}: {exc}",
            error_type=type(exc).__name__,
            error=str(exc),
            traceback="".join(traceback.format_exception(exc)),
        ) from None


@functools.lru_cache(maxsize=64)
def _function(blob: bytes) -> Any:
    # cloudpickle writes ordinary pickle streams; these bytes come from this party's own
    # driver over an in-memory pipe, never from disk or another party.
    return pickle.loads(blob)  # noqa: S301


def _pairs(keys: list[Any], values: list[Any]) -> Iterator[tuple[Any, Any]]:
    return zip(keys, values, strict=True)


def bucket_columns(keys: list[Any], values: list[Any], partitions: int) -> list[Columns]:
    """Split columns by the stable partitioner, keeping their order inside each bucket."""
    if partitions == 1:
        return [(keys, values)]
    buckets: list[Columns] = [([], []) for _ in range(partitions)]
    add_key = [bucket[0].append for bucket in buckets]
    add_value = [bucket[1].append for bucket in buckets]
    owners = partitions_of(keys, partitions).tolist()
    for key, value, owner in zip(keys, values, owners, strict=True):
        add_key[owner](key)
        add_value[owner](value)
    return buckets


def _apply(op: str, func: Any, index: int, keys: list[Any], values: list[Any]) -> Columns:
    """Columns produced by one key-changing operator on one partition."""
    if op == "map":
        return split_pairs(list(map(func, keys, values)))
    if op == "flatMap":
        return split_pairs(itertools.chain.from_iterable(map(func, keys, values)))
    if op == "mapPartitions":
        return split_pairs(func(_pairs(keys, values)))
    if op == "mapPartitionsWithIndex":
        return split_pairs(func(index, _pairs(keys, values)))
    if op == "applyPartitions":
        return [index], [func(_pairs(keys, values))]
    if op == "glom":
        return [index], [list(_pairs(keys, values))]
    if op == "identity":
        return keys, values
    raise AssertionError(op)


def _combine(pairs: Iterable[tuple[Any, Any]], reducer: Callable[[Any, Any], Any]) -> Columns:
    merged: dict[Any, Any] = {}
    for key, value in pairs:
        merged[key] = reducer(merged[key], value) if key in merged else value
    return list(merged), list(merged.values())


def scatter(
    *,
    op: str,
    blob: bytes,
    reducer: bytes | None,
    index: int,
    source: Segment,
    partitions: int,
    out: str,
    allowed: frozenset[str],
) -> list[Segment]:
    """Apply a key-changing operator to one partition and write its output in buckets."""
    keys, values = read_segment(source, allowed)
    func = _function(blob) if blob else None
    if reducer is not None:
        keys, values = _combine(func(_pairs(keys, values)), _function(reducer))  # type: ignore[misc]
    else:
        keys, values = _apply(op, func, index, keys, values)
    return write_sections(Path(out), bucket_columns(keys, values, partitions), allowed)


def first_repeat(keys: list[Any]) -> Any:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no repeated key")


def gather(
    *, mode: str, reducer: bytes | None, sources: list[Segment], out: str, allowed: frozenset[str]
) -> Segment:
    """Concatenate one bucket from every scatter task into a partition.

    ``unique`` refuses a repeated key, ``reduce`` merges values of a key with the reducer in
    source order, ``plain`` trusts the keys to be unique already (a repartition).
    """
    if mode == "reduce":
        assert reducer is not None
        func = _function(reducer)
        parts = (read_segment(source, allowed) for source in sources)
        keys, values = _combine(
            itertools.chain.from_iterable(_pairs(*part) for part in parts), func
        )
    else:
        keys, values = read_segments(sources, allowed)
        if mode == "unique" and len(set(keys)) != len(keys):
            key = first_repeat(keys)
            raise DuplicateKeyError(f"key {key!r} produced twice", key=repr(key)[:200])
    return write_sections(Path(out), [(keys, values)], allowed)[0]


def transform(
    *, op: str, blob: bytes, source: Segment, out: str, allowed: frozenset[str]
) -> Segment:
    """A key-preserving operator (``mapValues`` or ``filter``) on one partition."""
    keys, values = read_segment(source, allowed)
    func = _function(blob)
    if op == "mapValues":
        values = list(map(func, values))
    elif op == "filter":
        keep = list(map(func, keys, values))
        keys = list(itertools.compress(keys, keep))
        values = list(itertools.compress(values, keep))
    else:
        raise AssertionError(op)
    return write_sections(Path(out), [(keys, values)], allowed)[0]


def pair(
    *,
    op: str,
    blob: bytes | None,
    left: Segment,
    right: Segment,
    out: str,
    allowed: frozenset[str],
) -> Segment:
    """``join``, ``union`` or ``subtractByKey`` of two co-partitioned partitions."""
    keys, values = read_segment(left, allowed)
    other_keys, other_values = read_segment(right, allowed)
    func = _function(blob) if blob else None
    if op == "subtractByKey":
        drop = set(other_keys)
        keep = [key not in drop for key in keys]
        keys = list(itertools.compress(keys, keep))
        values = list(itertools.compress(values, keep))
    elif op == "join":
        assert func is not None
        other = dict(zip(other_keys, other_values, strict=True))
        keep = [key in other for key in keys]
        keys = list(itertools.compress(keys, keep))
        values = list(map(func, itertools.compress(values, keep), map(other.__getitem__, keys)))
    elif op == "union":
        merged = dict(_pairs(keys, values))
        for key, value in _pairs(other_keys, other_values):
            if key not in merged:
                merged[key] = value
            elif func is not None:
                merged[key] = func(merged[key], value)
        keys, values = list(merged), list(merged.values())
    else:
        raise AssertionError(op)
    return write_sections(Path(out), [(keys, values)], allowed)[0]


def fold(*, blob: bytes, source: Segment, allowed: frozenset[str]) -> tuple[bool, Any]:
    """One partition's values folded with a binary function: (present, result)."""
    _, values = read_segment(source, allowed)
    if not values:
        return False, None
    return True, functools.reduce(_function(blob), values)
