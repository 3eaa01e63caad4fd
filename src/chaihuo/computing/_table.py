"""The partitioned key-value `Table` contract (EggRoll/FATE operator set) every backend meets."""

from __future__ import annotations

import abc
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from chaihuo.computing._errors import EmptyTableError
from chaihuo.computing._sampling import exact_sample, fraction_sample
from chaihuo.core import InvalidInputError

__all__ = ["Table", "check_partitions"]

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
W = TypeVar("W")
R = TypeVar("R")

MAX_PARTITIONS = 65536


def check_partitions(partitions: object) -> int:
    """Validate a partition count: an int in 1..65536."""
    if isinstance(partitions, bool) or not isinstance(partitions, int):
        raise InvalidInputError("partitions must be an int", partitions=partitions)
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise InvalidInputError(
            f"partitions must be between 1 and {MAX_PARTITIONS}", partitions=partitions
        )
    return partitions


class Table(abc.ABC, Generic[K, V]):
    """An immutable, partitioned mapping from keys to values, kept by a computing backend.

    **Keys** are str, int, bytes, float, None or tuples of them, and a table holds each key
    at most once (keys equal under ``==``, like ``1`` and ``1.0``, are the same key). An
    operator whose function produces a key twice raises `DuplicateKeyError`; a key of any
    other type raises `InvalidKeyError`.

    **Partitioner**: a key lives in partition ``key_hash(key) % partitions``, where
    `key_hash` is a fixed 64-bit hash of the key (`chaihuo.computing.key_hash`), not Python's
    salted ``hash``. Every backend, process and party therefore puts a key in the same
    partition, so two tables with the same partition count are co-partitioned.

    **Evaluation** is eager: an operator returns once its result is computed and stored, and
    an exception in a user function surfaces from that operator as `ComputingError` (its
    ``details`` name the original type, message and traceback). Functions run in worker
    processes or Spark executors: they must be picklable by cloudpickle and must not rely on
    mutating driver state.

    **Order**: `collect` yields partition 0 first, then 1, and so on. Within a partition the
    order is the backend's storage order: reproducible run after run on the local backend,
    unspecified across backends. Operators that build values from several entries (`reduce`,
    `mapReducePartitions`) need associative and commutative functions.

    **Values** are any picklable objects; a backend that writes them to disk (the local one
    always, Spark on `save`) accepts only types on the session's storable allow-list and
    raises `UnstorableValueError` otherwise.
    """

    @property
    @abc.abstractmethod
    def partitions(self) -> int:
        """Number of partitions."""

    @abc.abstractmethod
    def map(self, func: Callable[[K, V], tuple[K2, V2]]) -> Table[K2, V2]:
        """Apply ``func(k, v) -> (k2, v2)`` to each entry; entries move to their new key's
        partition. Two entries mapped to one key raise `DuplicateKeyError`."""

    @abc.abstractmethod
    def mapValues(self, func: Callable[[V], V2]) -> Table[K, V2]:  # noqa: N802
        """Apply ``func(v) -> v2`` to each value; keys and partitioning are unchanged."""

    @abc.abstractmethod
    def mapPartitions(  # noqa: N802
        self, func: Callable[[Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        """Apply ``func(pairs) -> pairs`` to each partition's iterator of (key, value) pairs.

        The output pairs form a new table, re-partitioned by key (FATE's
        ``use_previous_behavior=False``; FATE's old behaviour is `applyPartitions`).
        A key produced twice, in one partition or in two, raises `DuplicateKeyError`.
        """

    @abc.abstractmethod
    def applyPartitions(  # noqa: N802
        self, func: Callable[[Iterator[tuple[K, V]]], R]
    ) -> Table[int, R]:
        """Apply ``func(pairs) -> value`` to each partition, empty ones included.

        The result has one entry per source partition, keyed by the partition index
        (0..partitions-1), with the same partition count.
        """

    @abc.abstractmethod
    def mapPartitionsWithIndex(  # noqa: N802
        self, func: Callable[[int, Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        """Like `mapPartitions`, with ``func(index, pairs)`` also given the partition index."""

    @abc.abstractmethod
    def mapReducePartitions(  # noqa: N802
        self,
        mapper: Callable[[Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]],
        reducer: Callable[[V2, V2], V2],
    ) -> Table[K2, V2]:
        """Apply ``mapper(pairs) -> pairs`` per partition, then merge the values of each
        output key with ``reducer`` (Spark's ``reduceByKey``; FATE's ``mapReducePartitions``).

        Values are combined inside each partition first, then across partitions, so
        ``reducer`` must be associative and commutative. Output keys are unique by
        construction; the result keeps this table's partition count.
        """

    @abc.abstractmethod
    def flatMap(  # noqa: N802
        self, func: Callable[[K, V], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        """Apply ``func(k, v) -> pairs`` to each entry and keep every pair produced; a key
        produced twice raises `DuplicateKeyError`."""

    @abc.abstractmethod
    def _reduce_partitions(self, func: Callable[[V, V], V]) -> list[tuple[bool, Any]]:
        """Per partition, in index order: (True, values folded with func) or (False, None)."""

    def reduce(self, func: Callable[[V, V], V]) -> V:
        """Fold all values with the binary ``func``: within each partition in storage order,
        then across partitions in index order. An empty table raises `EmptyTableError`."""
        folded = [value for present, value in self._reduce_partitions(func) if present]
        if not folded:
            raise EmptyTableError("reduce of an empty table")
        result: V = folded[0]
        for value in folded[1:]:
            result = func(result, value)
        return result

    @abc.abstractmethod
    def glom(self) -> Table[int, list[tuple[K, V]]]:
        """One entry per partition, keyed by partition index, whose value is the list of that
        partition's (key, value) pairs in storage order (empty partitions give ``[]``)."""

    def sample(
        self, *, fraction: float | None = None, num: int | None = None, seed: int | None = None
    ) -> Table[K, V]:
        """A random subset without replacement: each entry with probability ``fraction``,
        or exactly ``num`` entries (uniform over subsets of that size).

        Give exactly one of ``fraction`` (0..1) and ``num`` (0..count). Selection depends
        only on the keys and ``seed`` (an int in 0..2^64-1; a fresh random seed when None):
        a key's priority is BLAKE2b of its canonical encoding keyed by the seed; ``fraction``
        keeps keys whose priority is below ``fraction * 2^64``, ``num`` keeps the ``num``
        lowest priorities. The same seed therefore picks the same keys on every backend and
        partition count. The result keeps this table's partitioning.
        """
        if (fraction is None) == (num is None):
            raise InvalidInputError("give exactly one of fraction and num")
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "big")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise InvalidInputError("seed must be an int in 0..2^64-1", seed=seed)
        if fraction is not None:
            if not isinstance(fraction, int | float) or not 0.0 <= fraction <= 1.0:
                raise InvalidInputError("fraction must be between 0 and 1", fraction=fraction)
            return fraction_sample(self, float(fraction), seed)
        assert num is not None
        if isinstance(num, bool) or not isinstance(num, int) or num < 0:
            raise InvalidInputError("num must be a non-negative int", num=num)
        total = self.count()
        if num > total:
            raise InvalidInputError(
                "cannot sample more entries than the table holds", num=num, count=total
            )
        return exact_sample(self, num, seed)

    @abc.abstractmethod
    def filter(self, func: Callable[[K, V], bool]) -> Table[K, V]:
        """Keep the entries for which ``func(k, v)`` is true; partitioning is unchanged."""

    @abc.abstractmethod
    def join(self, other: Table[K, W], func: Callable[[V, W], R]) -> Table[K, R]:
        """Inner join on keys: ``func(v_self, v_other)`` for each key in both tables.

        Keys are unique in both inputs, so each common key appears once. The result has
        ``max(self.partitions, other.partitions)`` partitions; co-partitioned inputs (same
        count) join partition by partition without a shuffle.
        """

    @abc.abstractmethod
    def union(self, other: Table[K, V], func: Callable[[V, V], V] | None = None) -> Table[K, V]:
        """All keys of both tables; a key in both gets ``func(v_self, v_other)``, or
        ``v_self`` when ``func`` is None (FATE's default). The result has
        ``max(self.partitions, other.partitions)`` partitions."""

    @abc.abstractmethod
    def subtractByKey(self, other: Table[K, Any]) -> Table[K, V]:  # noqa: N802
        """The entries of this table whose key is not in ``other``; keeps this table's
        partition count."""

    @abc.abstractmethod
    def collect(self) -> Iterator[tuple[K, V]]:
        """Every (key, value) pair: partition by partition in index order (see class doc)."""

    def take(self, n: int = 1) -> list[tuple[K, V]]:
        """The first ``n`` pairs in `collect` order (fewer if the table is smaller)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInputError("take needs a non-negative int", n=n)
        return list(itertools.islice(self.collect(), n))

    def first(self) -> tuple[K, V]:
        """The first pair in `collect` order; an empty table raises `EmptyTableError`."""
        taken = self.take(1)
        if not taken:
            raise EmptyTableError("first of an empty table")
        return taken[0]

    @abc.abstractmethod
    def count(self) -> int:
        """Number of entries."""

    @abc.abstractmethod
    def repartition(self, partitions: int) -> Table[K, V]:
        """The same entries spread over ``partitions`` partitions by the stable partitioner
        (this very table when the count is unchanged)."""

    @abc.abstractmethod
    def save(self, namespace: str, name: str) -> None:
        """Persist this table as (namespace, name), replacing an older table of that name.

        Names are 1-128 characters of letters, digits, '_', '.' and '-'. The saved table is a
        snapshot: later operations never change it; `ComputingSession.load` reads it back with
        the same partition count and entries.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} partitions={self.partitions}>"
