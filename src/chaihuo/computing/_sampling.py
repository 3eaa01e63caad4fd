"""Seeded sampling by key priority, built from public operators so every backend agrees."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from chaihuo.computing._keys import canonical_key, sample_priorities, sample_priority

if TYPE_CHECKING:
    from chaihuo.computing._table import Table

__all__ = ["exact_sample", "fraction_sample"]

K = TypeVar("K")
V = TypeVar("V")

# Bottom-k sampling: give every key an independent uniform 64-bit priority and keep the k
# smallest; that is a uniformly random k-subset (Cohen & Kaplan, "Summarizing data using
# bottom-k sketches", PODC 2007). Priorities depend only on (seed, key), so the subset does
# not depend on how the table is partitioned. Two keys sharing a priority (probability about
# count^2 / 2^65) are ordered by their canonical encoding, which keeps the result exact.


@dataclass(frozen=True, slots=True)
class _BelowThreshold:
    seed: int
    threshold: int

    def __call__(self, key: object, value: object) -> bool:
        return sample_priority(key, self.seed) < self.threshold


@dataclass(frozen=True, slots=True)
class _BottomPriorities:
    seed: int
    num: int

    def __call__(self, pairs: Iterator[tuple[Any, Any]]) -> npt.NDArray[np.uint64]:
        priorities = sample_priorities([key for key, _ in pairs], self.seed)
        if len(priorities) > self.num:
            priorities = np.partition(priorities, self.num - 1)[: self.num]
        return np.sort(priorities)


@dataclass(frozen=True, slots=True)
class _KeysAtPriority:
    seed: int
    priority: int

    def __call__(self, pairs: Iterator[tuple[Any, Any]]) -> list[bytes]:
        return [
            canonical_key(key)
            for key, _ in pairs
            if sample_priority(key, self.seed) == self.priority
        ]


@dataclass(frozen=True, slots=True)
class _AtOrBelow:
    seed: int
    priority: int
    tied: frozenset[bytes] | None

    def __call__(self, key: object, value: object) -> bool:
        mine = sample_priority(key, self.seed)
        if mine != self.priority:
            return mine < self.priority
        return self.tied is None or canonical_key(key) in self.tied


def fraction_sample(table: Table[K, V], fraction: float, seed: int) -> Table[K, V]:
    """Keep each key whose priority is below ``fraction * 2^64``."""
    return table.filter(_BelowThreshold(seed, int(fraction * 2.0**64)))


def exact_sample(table: Table[K, V], num: int, seed: int) -> Table[K, V]:
    """Keep the ``num`` keys of lowest priority (``0 <= num <= table.count()``)."""
    if num == 0:
        return table.filter(_BelowThreshold(seed, 0))
    bottoms = [arr for _, arr in table.applyPartitions(_BottomPriorities(seed, num)).collect()]
    merged = np.sort(np.concatenate(bottoms))
    cut = int(merged[num - 1])
    below = int(np.count_nonzero(merged < cut))
    at_cut = int(np.count_nonzero(merged == cut))
    # Each partition reported its num smallest priorities, which include all its keys below
    # the cut; keys *at* the cut may have been truncated where a partition reported num.
    truncated = any(len(arr) == num and int(arr[-1]) == cut for arr in bottoms)
    if not truncated and below + at_cut == num:
        return table.filter(_AtOrBelow(seed, cut, None))
    tied = sorted(
        key
        for _, keys in table.applyPartitions(_KeysAtPriority(seed, cut)).collect()
        for key in keys
    )
    return table.filter(_AtOrBelow(seed, cut, frozenset(tied[: num - below])))
