"""What ECDH and RSA PSI share: ids, chunked work with progress, shuffling, the result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Final, TypeAlias, TypeVar

import numpy as np

from chaihuo.crypto._random import random_uint64
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._errors import InvalidInputError, ProtocolError

__all__ = [
    "Id",
    "IdSet",
    "Progress",
    "deliver_result",
    "intersect_positions",
    "map_chunks",
    "receive_result",
    "shuffled",
    "stage",
]

CHUNK: Final = 4096
"""Items per task when a party spreads PSI group work over its executor."""

_T = TypeVar("_T")
_R = TypeVar("_R")

Id: TypeAlias = str | bytes
"""A sample id: str (hashed as its UTF-8 bytes) or bytes; equal bytes mean the same id."""


Progress: TypeAlias = Callable[[str, int, int | None], None]
"""`progress(stage, done, total)`: how many ids of a stage are finished, once per chunk."""

Report: TypeAlias = Callable[[int], None]
"""Told the count of items finished so far in one `map_chunks` call."""


def stage(progress: Progress | None, name: str, total: int, offset: int = 0) -> Report | None:
    """`map_chunks`' report for stage `name`: `offset` + done of `total` ids (None: silent)."""
    if progress is None:
        return None

    def report(done: int) -> None:
        progress(name, offset + done, total)

    return report


class IdSet:
    """This party's distinct ids in first-seen order, with their byte encodings."""

    def __init__(self, ids: Sequence[Id]) -> None:
        if isinstance(ids, str | bytes):
            raise InvalidInputError("ids must be a sequence of ids, not a single str or bytes")
        by_key: dict[bytes, Id] = {}
        for position, item in enumerate(ids):
            if isinstance(item, str):
                key = item.encode("utf-8")
            elif isinstance(item, bytes):
                key = item
            else:
                raise InvalidInputError(f"id #{position} is a {type(item).__name__}, not str/bytes")
            by_key.setdefault(key, item)
        self.keys: list[bytes] = list(by_key)
        self.items: list[Id] = list(by_key.values())
        self._lookup = by_key

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, key: bytes) -> Id | None:
        """The original id object for `key`, or None if this party does not hold it."""
        return self._lookup.get(key)


def map_chunks(
    executor: Executor | None,
    task: Callable[[list[_T]], _R],
    items: Sequence[_T],
    report: Report | None = None,
) -> list[_R]:
    """`task` over consecutive chunks of `items`, results in order; on `executor` if given.

    The executor is this party's own (threads or processes): only its own data and keys
    travel to it. `task` must be picklable for a process pool (a module-level function or a
    `functools.partial` of one). `report` (in the calling thread) hears 0 first, then the
    count of items finished after each chunk, in order, ending at len(items).
    """
    chunks = [list(items[i : i + CHUNK]) for i in range(0, len(items), CHUNK)]
    if report is not None:
        report(0)
    futures = [executor.submit(task, chunk) for chunk in chunks] if executor is not None else None
    results: list[_R] = []
    done = 0
    for number, chunk in enumerate(chunks):
        results.append(task(chunk) if futures is None else futures[number].result())
        done += len(chunk)
        if report is not None:
            report(done)
    return results


def shuffled(records: Sequence[bytes]) -> list[bytes]:
    """A uniformly random permutation (sort by 64-bit CSPRNG keys), so order reveals nothing."""
    order = np.argsort(random_uint64(len(records)), kind="stable")
    return [records[i] for i in order.tolist()]


def intersect_positions(mine: list[bytes], theirs: set[bytes]) -> set[int]:
    """Positions of `mine` whose digest is in `theirs`."""
    return {i for i, digest in enumerate(mine) if digest in theirs}


def deliver_result(hosts: Sequence[Channel], result: list[Id]) -> None:
    """Guest: send the final intersection to every host (only when the job says so)."""
    for host in hosts:
        host.put("intersection", list(result))


def receive_result(guest: Channel, own: IdSet) -> list[Id]:
    """Host: receive the intersection; every id must be one of this host's own ids."""
    raw = guest.get("intersection")
    if not isinstance(raw, list | tuple):
        raise ProtocolError(f"intersection: expected a list, got {type(raw).__name__}")
    result: list[Id] = []
    for position, item in enumerate(raw):
        key = item.encode("utf-8") if isinstance(item, str) else item
        found = own.lookup(key) if isinstance(key, bytes) else None
        if found is None:
            raise ProtocolError(f"intersection: id #{position} is not one of this party's ids")
        result.append(found)
    return result
