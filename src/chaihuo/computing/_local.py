"""The local backend: partitions as files under the party's data directory, worked on by a pool."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from chaihuo.computing import _local_tasks as tasks
from chaihuo.computing._errors import (
    ComputingError,
    DataInvalidError,
    DuplicateKeyError,
    TableNotFoundError,
)
from chaihuo.computing._local_pool import TaskRunner, pickle_function, task
from chaihuo.computing._session import ComputingSession, default_workers, pairs_of
from chaihuo.computing._spill import SpillLock, remove_stale_spill
from chaihuo.computing._storage import (
    EMPTY,
    Segment,
    check_name,
    read_segment,
    write_sections,
)
from chaihuo.computing._table import Table, check_partitions
from chaihuo.core import InvalidInputError

__all__ = ["LocalComputing", "LocalTable"]

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
W = TypeVar("W")
R = TypeVar("R")

T = TypeVar("T")

FORMAT = "chaihuo-table/1"
INLINE_BYTES = 4 << 20
_PART = "p-{:05d}.cht"

# Layout under data_dir:
#   tables/<namespace>/<name>/table.json + p-00000.cht ...   saved tables
#   tmp/<session id>/<table id>/p-00000.cht ...              tables of a running session
# A .cht file is one pickle (protocol 5) of (keys, values) written and read through the
# allow-list codec of `_storage`. Files are never modified once written, so `save` and
# `load` hard-link them instead of copying, and a table's directory is removed when the
# table object is garbage-collected.


def _link(source: str, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not supported
        shutil.copyfile(source, target)


class LocalComputing(ComputingSession):
    """The embedded computing backend of one party.

    ``data_dir`` is the party's data directory; saved tables go to ``data_dir/tables`` and a
    session's working tables to ``data_dir/tmp/<session id>`` (removed by `stop`).
    ``workers`` processes run the partitions (0: one per core). A stage whose input holds
    fewer than ``inline_below`` entries in under ``INLINE_BYTES`` runs in this process
    instead: the same result without the IPC cost (user functions still go through
    cloudpickle either way). Size counts bytes too, so a table of a few large numpy blocks
    still spreads over the pool.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        workers: int = 0,
        session_id: str | None = None,
        storable: Iterable[object] = (),
        inline_below: int = 10_000,
    ) -> None:
        super().__init__(session_id, storable)
        check_name("session id", self.session_id)
        self.data_dir = Path(data_dir)
        self._tables = self.data_dir / "tables"
        self._tmp = self.data_dir / "tmp" / self.session_id
        self._tmp.mkdir(parents=True, exist_ok=True)
        spill_lock = SpillLock(self._tmp)
        remove_stale_spill(self._tmp.parent)  # what killed sessions left behind
        self.workers = workers or default_workers()
        self.inline_below = inline_below
        self._runner = TaskRunner(self.workers)
        self._stopped = False
        self._finalizer = weakref.finalize(self, _cleanup, self._runner, self._tmp, spill_lock)

    @property
    def default_partitions(self) -> int:
        return self.workers

    def check_open(self) -> None:
        """Refuse work once `stop` has removed the session's tables."""
        if self._stopped:
            raise ComputingError("the computing session is stopped", session=self.session_id)

    def new_directory(self) -> Path:
        """A fresh directory for one table's files."""
        self.check_open()
        directory = self._tmp / uuid.uuid4().hex
        directory.mkdir()
        return directory

    def run(self, stage: Sequence[Callable[[], T]], inputs: Iterable[Segment]) -> list[T]:
        """Run one stage's tasks, in this process when its input is small."""
        self.check_open()
        sizes = [(segment.count, segment.length) for segment in inputs]
        rows, size = sum(count for count, _ in sizes), sum(length for _, length in sizes)
        if rows < self.inline_below and size < INLINE_BYTES:
            return [tasks.guarded(item) for item in stage]
        return self._runner.run(stage)

    def parallelize(
        self, items: Iterable[Any], *, partitions: int | None = None, include_key: bool = False
    ) -> LocalTable[Any, Any]:
        count = check_partitions(partitions or self.default_partitions)
        if include_key:
            keys, values = pairs_of(items)
        else:
            values = list(items)
            keys = list(range(len(values)))
        buckets = tasks.bucket_columns(keys, values, count)
        if include_key and len(set(keys)) != len(keys):
            key = tasks.first_repeat(keys)
            raise DuplicateKeyError(f"key {key!r} given twice", key=repr(key)[:200])
        directory = self.new_directory()
        with _removed_on_error(directory):
            segments = [
                write_sections(directory / _PART.format(index), [bucket], self.storable)[0]
                for index, bucket in enumerate(buckets)
            ]
        return LocalTable(self, segments, directory)

    def _saved(self, namespace: str, name: str) -> Path:
        return self._tables / check_name("namespace", namespace) / check_name("name", name)

    def load(self, namespace: str, name: str) -> LocalTable[Any, Any]:
        source = self._saved(namespace, name)
        try:
            meta = json.loads((source / "table.json").read_text())
        except FileNotFoundError:
            raise TableNotFoundError("no such table", namespace=namespace, name=name) from None
        except (OSError, ValueError) as exc:
            raise DataInvalidError(f"unreadable table metadata: {exc}", path=str(source)) from exc
        entries = _check_meta(meta, source)
        directory = self.new_directory()
        segments = []
        for index, entry in enumerate(entries):
            if entry is None:
                segments.append(EMPTY)
                continue
            target = directory / _PART.format(index)
            _link(str(source / _PART.format(index)), target)
            segments.append(Segment(str(target), 0, entry[0], entry[1]))
        return LocalTable(self, segments, directory)

    def save(self, table: LocalTable[Any, Any], namespace: str, name: str) -> None:
        """Persist ``table`` (see `Table.save`): link its files into a staging directory,
        then swap it in with renames so readers never see half a table."""
        target = self._saved(namespace, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{name}.{uuid.uuid4().hex}"
        staging.mkdir()
        entries: list[list[int] | None] = []
        for index, segment in enumerate(table.segments):
            if segment.count == 0:
                entries.append(None)
                continue
            _link(segment.path, staging / _PART.format(index))
            entries.append([segment.length, segment.count])
        meta = {"format": FORMAT, "partitions": len(entries), "segments": entries}
        (staging / "table.json").write_text(json.dumps(meta))
        retired = target.parent / f".{name}.old.{uuid.uuid4().hex}"
        with contextlib.suppress(FileNotFoundError):
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)

    def drop(self, namespace: str, name: str) -> bool:
        target = self._saved(namespace, name)
        if not target.is_dir():
            return False
        retired = target.parent / f".{name}.old.{uuid.uuid4().hex}"
        target.rename(retired)
        shutil.rmtree(retired, ignore_errors=True)
        return True

    def stop(self) -> None:
        self._stopped = True
        self._finalizer()


@contextlib.contextmanager
def _removed_on_error(directory: Path) -> Iterator[None]:
    """Remove a half-written table directory if its stage fails."""
    try:
        yield
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _cleanup(runner: TaskRunner, tmp: Path, lock: SpillLock) -> None:
    runner.close()
    shutil.rmtree(tmp, ignore_errors=True)
    lock.release()


def _check_meta(meta: Any, source: Path) -> list[list[int] | None]:
    """The segment entries of a table.json, after checking its shape."""
    entries = meta.get("segments") if isinstance(meta, dict) else None
    valid = (
        isinstance(meta, dict)
        and meta.get("format") == FORMAT
        and isinstance(entries, list)
        and meta.get("partitions") == len(entries)
        and len(entries) >= 1
        and all(
            entry is None
            or (
                isinstance(entry, list)
                and len(entry) == 2
                and all(isinstance(n, int) and n > 0 for n in entry)
            )
            for entry in entries
        )
    )
    if not valid:
        raise DataInvalidError("malformed table metadata", path=str(source / "table.json"))
    return entries  # type: ignore[return-value]


class LocalTable(Table[K, V]):
    """A table of the local backend: one file segment per partition (see `Table`)."""

    def __init__(self, session: LocalComputing, segments: list[Segment], directory: Path) -> None:
        self._session = session
        self.segments = segments
        self._finalizer = weakref.finalize(self, shutil.rmtree, directory, ignore_errors=True)

    @property
    def partitions(self) -> int:
        return len(self.segments)

    def count(self) -> int:
        return sum(segment.count for segment in self.segments)

    def _keyed(
        self,
        op: str,
        func: Any,
        *,
        partitions: int | None = None,
        reducer: Any = None,
        mode: str = "unique",
    ) -> LocalTable[Any, Any]:
        """A scatter stage (apply, bucket by key) and a gather stage (merge buckets)."""
        session, allowed = self._session, self._session.storable
        count = partitions or self.partitions
        blob = pickle_function(func) if func is not None else b""
        combine = pickle_function(reducer) if reducer is not None else None
        directory = session.new_directory()
        with _removed_on_error(directory):
            scattered = session.run(
                [
                    task(
                        tasks.scatter,
                        op=op,
                        blob=blob,
                        reducer=combine,
                        index=index,
                        source=segment,
                        partitions=count,
                        allowed=allowed,
                        out=str(directory / f"s-{index:05d}.cht"),
                    )
                    for index, segment in enumerate(self.segments)
                ],
                self.segments,
            )
            gathered = session.run(
                [
                    task(
                        tasks.gather,
                        mode=mode,
                        reducer=combine,
                        allowed=allowed,
                        sources=[out[index] for out in scattered],
                        out=str(directory / _PART.format(index)),
                    )
                    for index in range(count)
                ],
                [segment for out in scattered for segment in out],
            )
        for leftover in directory.glob("s-*.cht"):
            leftover.unlink()
        return LocalTable(session, gathered, directory)

    def _narrow(self, op: str, func: Callable[..., Any]) -> LocalTable[Any, Any]:
        session = self._session
        blob = pickle_function(func)
        directory = session.new_directory()
        with _removed_on_error(directory):
            segments = session.run(
                [
                    task(
                        tasks.transform,
                        op=op,
                        blob=blob,
                        source=segment,
                        out=str(directory / _PART.format(index)),
                        allowed=session.storable,
                    )
                    for index, segment in enumerate(self.segments)
                ],
                self.segments,
            )
        return LocalTable(session, segments, directory)

    def _paired(
        self, op: str, other: Table[Any, Any], func: Callable[..., Any] | None, count: int
    ) -> LocalTable[Any, Any]:
        if not isinstance(other, LocalTable) or other._session is not self._session:
            raise InvalidInputError("both tables must belong to the same local session")
        left = self if self.partitions == count else self.repartition(count)
        right = other if other.partitions == count else other.repartition(count)
        session = self._session
        blob = pickle_function(func) if func is not None else None
        directory = session.new_directory()
        with _removed_on_error(directory):
            segments = session.run(
                [
                    task(
                        tasks.pair,
                        op=op,
                        blob=blob,
                        left=left.segments[index],
                        right=right.segments[index],
                        allowed=session.storable,
                        out=str(directory / _PART.format(index)),
                    )
                    for index in range(count)
                ],
                left.segments + right.segments,
            )
        return LocalTable(session, segments, directory)

    def map(self, func: Callable[[K, V], tuple[K2, V2]]) -> Table[K2, V2]:
        return self._keyed("map", func)

    def mapValues(self, func: Callable[[V], V2]) -> Table[K, V2]:  # noqa: N802
        return self._narrow("mapValues", func)

    def mapPartitions(  # noqa: N802
        self, func: Callable[[Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        return self._keyed("mapPartitions", func)

    def applyPartitions(  # noqa: N802
        self, func: Callable[[Iterator[tuple[K, V]]], R]
    ) -> Table[int, R]:
        return self._keyed("applyPartitions", func, mode="plain")

    def mapPartitionsWithIndex(  # noqa: N802
        self, func: Callable[[int, Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        return self._keyed("mapPartitionsWithIndex", func)

    def mapReducePartitions(  # noqa: N802
        self,
        mapper: Callable[[Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]],
        reducer: Callable[[V2, V2], V2],
    ) -> Table[K2, V2]:
        return self._keyed("combine", mapper, reducer=reducer, mode="reduce")

    def flatMap(  # noqa: N802
        self, func: Callable[[K, V], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        return self._keyed("flatMap", func)

    def _reduce_partitions(self, func: Callable[[V, V], V]) -> list[tuple[bool, Any]]:
        blob = pickle_function(func)
        allowed = self._session.storable
        return self._session.run(
            [
                task(tasks.fold, blob=blob, source=segment, allowed=allowed)
                for segment in self.segments
            ],
            self.segments,
        )

    def glom(self) -> Table[int, list[tuple[K, V]]]:
        return self._keyed("glom", None, mode="plain")

    def filter(self, func: Callable[[K, V], bool]) -> Table[K, V]:
        return self._narrow("filter", func)

    def join(self, other: Table[K, W], func: Callable[[V, W], R]) -> Table[K, R]:
        return self._paired("join", other, func, max(self.partitions, other.partitions))

    def union(self, other: Table[K, V], func: Callable[[V, V], V] | None = None) -> Table[K, V]:
        return self._paired("union", other, func, max(self.partitions, other.partitions))

    def subtractByKey(self, other: Table[K, Any]) -> Table[K, V]:  # noqa: N802
        return self._paired("subtractByKey", other, None, self.partitions)

    def collect(self) -> Iterator[tuple[K, V]]:
        self._session.check_open()
        allowed = self._session.storable
        for segment in self.segments:
            keys, values = read_segment(segment, allowed)
            yield from zip(keys, values, strict=True)

    def repartition(self, partitions: int) -> LocalTable[K, V]:
        if check_partitions(partitions) == self.partitions:
            return self  # tables are immutable, and the placement would not change
        return self._keyed("identity", None, partitions=partitions, mode="plain")

    def save(self, namespace: str, name: str) -> None:
        self._session.save(self, namespace, name)
