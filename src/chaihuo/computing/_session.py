"""The computing session contract: where one party's tables are created, loaded and kept."""

from __future__ import annotations

import abc
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from chaihuo.computing._errors import DataInvalidError
from chaihuo.computing._storage import DEFAULT_STORABLE, Columns, qualified_name, split_pairs
from chaihuo.computing._table import Table
from chaihuo.core import InvalidInputError

if TYPE_CHECKING:
    from chaihuo.computing._data import Dataset

__all__ = ["ComputingSession", "default_workers", "pairs_of"]


def default_workers() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def pairs_of(items: Iterable[Any]) -> Columns:
    """The (keys, values) of `parallelize(..., include_key=True)` items."""
    try:
        return split_pairs(items)
    except (TypeError, ValueError) as exc:
        raise DataInvalidError(f"include_key needs (key, value) pairs: {exc}") from exc


class ComputingSession(abc.ABC):
    """One party's entry to its computing backend (``ctx.computing`` in the runtime).

    Tables are created by `parallelize`, read back by `load`, and made from files by
    `read_csv` / `read_parquet`. `stop` releases workers and temporary data; a session is
    also a context manager. Values written to storage must be of storable types: numbers,
    strings, bytes, containers, numpy arrays and scalars by default, plus any class or
    function registered with `register_storable` (or ``storable=`` at construction).
    """

    def __init__(self, session_id: str | None, storable: Iterable[object]) -> None:
        self.session_id = session_id or uuid.uuid4().hex[:16]
        self._storable: set[str] = set(DEFAULT_STORABLE)
        self.register_storable(*storable)

    @property
    def storable(self) -> frozenset[str]:
        """The ``module:qualname`` globals table storage may name."""
        return frozenset(self._storable)

    def register_storable(self, *objects: object) -> None:
        """Allow table values to be of these classes (or rebuilt by these functions).

        Accepts classes, functions or ``"module:qualname"`` strings. Register only plain data
        types whose construction has no side effects: loading a stored table may call them.
        """
        for obj in objects:
            self._storable.add(obj if isinstance(obj, str) else qualified_name(obj))

    @property
    @abc.abstractmethod
    def default_partitions(self) -> int:
        """Partitions used when a call does not say (the number of workers)."""

    @abc.abstractmethod
    def parallelize(
        self, items: Iterable[Any], *, partitions: int | None = None, include_key: bool = False
    ) -> Table[Any, Any]:
        """A table of ``items``: (key, value) pairs when ``include_key``, else values keyed
        0, 1, 2, ... in iteration order. Repeated keys raise `DuplicateKeyError`."""

    @abc.abstractmethod
    def load(self, namespace: str, name: str) -> Table[Any, Any]:
        """The table saved as (namespace, name); `TableNotFoundError` if there is none."""

    def load_uri(self, uri: str) -> Table[Any, Any]:
        """`load` of a ``namespace/name`` reference, as job files write tables."""
        namespace, slash, name = uri.partition("/")
        if not slash:
            raise InvalidInputError("a table reference is 'namespace/name'", uri=uri)
        return self.load(namespace, name)

    @abc.abstractmethod
    def drop(self, namespace: str, name: str) -> bool:
        """Delete the saved table (namespace, name); False if there was none."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Release workers and temporary tables; saved tables stay. Idempotent."""

    def read_csv(
        self,
        path: str | Path,
        *,
        id: str | None = None,  # FATE's and the job file's name for it
        label: str | None = None,
        partitions: int | None = None,
        header: bool = True,
    ) -> Dataset:
        """A FATE-style CSV (id column, optional label, numeric features) as a `Dataset`.

        ``id`` defaults to the first column; ``label`` None means the file has none.
        Empty feature cells (and NA, NaN, null) read as NaN. Anything malformed -- an empty
        file, a missing id or label column, a ragged row, a non-numeric feature or label,
        an empty or repeated id -- raises `MalformedDataError` naming file, line and reason.
        With ``header=False`` columns are named ``c0, c1, ...`` (``id`` defaults to ``c0``).
        """
        # Imported here: pyarrow is heavy, and worker processes import this module too.
        from chaihuo.computing._readers import read_csv  # noqa: PLC0415

        return read_csv(
            self,
            Path(path),
            id_name=id,
            label_name=label,
            partitions=partitions or self.default_partitions,
            header=header,
        )

    def read_parquet(
        self,
        path: str | Path,
        *,
        id: str | None = None,  # FATE's and the job file's name for it
        label: str | None = None,
        partitions: int | None = None,
    ) -> Dataset:
        """A Parquet file as a `Dataset`, validated like `read_csv` (rows instead of lines)."""
        from chaihuo.computing._readers import read_parquet  # noqa: PLC0415

        return read_parquet(
            self,
            Path(path),
            id_name=id,
            label_name=label,
            partitions=partitions or self.default_partitions,
        )

    def __enter__(self) -> ComputingSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
