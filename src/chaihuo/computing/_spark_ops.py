"""Functions the Spark backend runs on executors, and translation of Spark's failures."""

from __future__ import annotations

import base64
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chaihuo.computing import _errors
from chaihuo.computing._errors import ComputingError, DuplicateKeyError
from chaihuo.computing._storage import decode, encode
from chaihuo.core import ChaihuoError

__all__ = [
    "Apply",
    "Call",
    "Decode",
    "Drained",
    "Encode",
    "Fold",
    "Glom",
    "Head",
    "PairOp",
    "Tag",
    "check_unique",
    "translate",
]

Pair = tuple[Any, Any]

# Executors receive these by reference (chaihuo must be installed there) and the user
# functions inside them by value, through PySpark's cloudpickle.


@dataclass(frozen=True, slots=True)
class Call:
    """``func(k, v)`` on an RDD element ``(k, v)`` (map, flatMap and filter)."""

    func: Callable[[Any, Any], Any]

    def __call__(self, pair: Pair) -> Any:
        key, value = pair
        return self.func(key, value)


def _drain(pairs: Iterator[Any]) -> None:
    # PySpark reuses a worker process only if the task read all of its input.
    for _ in pairs:
        pass


@dataclass(frozen=True, slots=True)
class Apply:
    """One (partition index, func(pairs)) entry per partition."""

    func: Callable[[Iterator[Pair]], Any]

    def __call__(self, index: int, pairs: Iterable[Pair]) -> list[Pair]:
        source = iter(pairs)
        result = self.func(source)
        _drain(source)
        return [(index, result)]


@dataclass(frozen=True, slots=True)
class Drained:
    """A user partition function (with or without the index) that leaves no input unread."""

    func: Callable[..., Iterable[Any]]
    with_index: bool

    def __call__(self, *args: Any) -> Iterator[Any]:
        source = iter(args[-1])
        yield from self.func(args[0], source) if self.with_index else self.func(source)
        _drain(source)


@dataclass(frozen=True, slots=True)
class Head:
    """At most the first ``n`` pairs of a partition (the rest is read and dropped)."""

    n: int

    def __call__(self, pairs: Iterable[Pair]) -> list[Pair]:
        source = iter(pairs)
        head = list(itertools.islice(source, self.n))
        _drain(source)
        return head


def Glom(index: int, pairs: Iterable[Pair]) -> list[Pair]:  # noqa: N802 - named after the operator
    """One (partition index, list of pairs) entry per partition."""
    return [(index, list(pairs))]


def check_unique(pairs: Iterable[Pair]) -> Iterator[Pair]:
    """Pass pairs through, refusing a key seen before in this partition."""
    seen: set[Any] = set()
    for key, value in pairs:
        if key in seen:
            raise DuplicateKeyError(f"key {key!r} produced twice", key=repr(key)[:200])
        seen.add(key)
        yield key, value


@dataclass(frozen=True, slots=True)
class Fold:
    """A partition's values folded with ``func``: [(present, result)]."""

    func: Callable[[Any, Any], Any]

    def __call__(self, pairs: Iterable[Pair]) -> list[tuple[bool, Any]]:
        values = (value for _, value in pairs)
        first = next(values, _MISSING)
        if first is _MISSING:
            return [(False, None)]
        return [(True, functools.reduce(self.func, values, first))]


_MISSING = object()


@dataclass(frozen=True, slots=True)
class Tag:
    """Mark a value as coming from the left (0) or right (1) input of a paired operator."""

    side: int

    def __call__(self, value: Any) -> tuple[int, Any]:
        return self.side, value


@dataclass(frozen=True, slots=True)
class PairOp:
    """``join``, ``union`` or ``subtractByKey`` of one partition of tagged values."""

    op: str
    func: Callable[[Any, Any], Any] | None

    def __call__(self, tagged: Iterable[tuple[Any, tuple[int, Any]]]) -> Iterator[Pair]:
        left: list[Pair] = []
        right: dict[Any, Any] = {}
        for key, (side, value) in tagged:
            if side == 0:
                left.append((key, value))
            else:
                right[key] = value
        if self.op == "subtractByKey":
            return ((key, value) for key, value in left if key not in right)
        if self.op == "join":
            func = self.func
            assert func is not None
            return ((key, func(value, right[key])) for key, value in left if key in right)
        return self._union(left, right)

    def _union(self, left: list[Pair], right: dict[Any, Any]) -> Iterator[Pair]:
        for key, value in left:
            if key in right:
                other = right.pop(key)
                yield key, (value if self.func is None else self.func(value, other))
            else:
                yield key, value
        yield from right.items()


_CHUNK = 1024


@dataclass(frozen=True, slots=True)
class Encode:
    """A partition as text lines (base64 of allow-listed pickles) for ``saveAsTextFile``.

    Every partition writes at least one line, each carrying the partition count, so a load
    recovers it even for empty partitions.
    """

    partitions: int
    allowed: frozenset[str]

    def __call__(self, index: int, pairs: Iterable[Pair]) -> Iterator[str]:
        chunk: list[Pair] = []
        wrote = False
        for pair in pairs:
            chunk.append(pair)
            if len(chunk) == _CHUNK:
                yield self._line(chunk)
                chunk, wrote = [], True
        if chunk or not wrote:
            yield self._line(chunk)

    def _line(self, chunk: list[Pair]) -> str:
        keys = [key for key, _ in chunk]
        values = [value for _, value in chunk]
        data = encode((self.partitions, keys, values), self.allowed)
        return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class Decode:
    """The (partition count, keys, values) of one saved line."""

    allowed: frozenset[str]

    def __call__(self, line: str) -> tuple[int, list[Any], list[Any]]:
        partitions, keys, values = decode(base64.b64decode(line), self.allowed)
        return partitions, keys, values


def pairs_of(record: tuple[int, list[Any], list[Any]]) -> Iterator[Pair]:
    """The pairs of one decoded line."""
    return zip(record[1], record[2], strict=True)


_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\):\n(.*?)(?:\n\s*SQLSTATE|\n\tat |\Z)", re.S
)
_FINAL = re.compile(r"^([A-Za-z_][\w.]*): ?(.*)$")


def translate(exc: BaseException) -> ChaihuoError:
    """A chaihuo error for a failed Spark job: computing errors raised on an executor keep
    their class; any other exception from a user function becomes `ComputingError`."""
    text = str(exc)
    matches = list(_TRACEBACK.finditer(text))
    if not matches:
        return ComputingError(f"Spark job failed: {text.splitlines()[0] if text else exc!r}")
    trace = matches[-1].group(1).rstrip()
    final = next((line for line in reversed(trace.splitlines()) if _FINAL.match(line)), "")
    found = _FINAL.match(final)
    name, message = (found.group(1), found.group(2)) if found else ("Exception", trace)
    short = name.rsplit(".", 1)[-1]
    ours = getattr(_errors, short, None)
    if name.startswith("chaihuo.computing.") and isinstance(ours, type):
        return ours(message)  # type: ignore[no-any-return]
    return ComputingError(
        f"a table function raised {short}: {message}",
        error_type=short,
        error=message,
        traceback="Traceback (most recent call last):\n" + trace,
    )
