"""CSV and Parquet files into validated datasets, with errors that name file, line and reason."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from chaihuo.computing._data import Block, Dataset, Schema
from chaihuo.computing._errors import MalformedDataError
from chaihuo.computing._keys import partitions_of
from chaihuo.computing._table import check_partitions

if TYPE_CHECKING:
    from chaihuo.computing._session import ComputingSession

__all__ = ["read_csv", "read_parquet"]

NULL_VALUES = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
"""Cells read as missing: NaN in a feature; refused in an id or a label."""

Locate = Callable[[int], str]
"""Where data row i (0-based) is, for error messages: ``line 12`` or ``row 12``; -1 is the
header (``line 1``) or the Parquet schema."""

_SHOWN = 60

_ENCODING = "utf-8-sig"
"""UTF-8, skipping the byte-order mark Excel writes ("CSV UTF-8"); pyarrow skips it too, so
header names and line numbers agree between this pass and the real parse."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _fail(path: Path, where: str | None, reason: str, **details: Any) -> MalformedDataError:
    """``file:line N: reason``; details carry file, line (or row) and reason separately."""
    place = f"{path}:{where}" if where else str(path)
    kind, _, number = (where or "").partition(" ")
    position = {kind: int(number)} if number.isdigit() else {}
    return MalformedDataError(
        f"{place}: {reason}", file=str(path), reason=reason, **position, **details
    )


def _csv_rows(path: Path) -> tuple[list[str] | None, list[int]]:
    """The first row and the starting line number of every later non-empty row.

    Only run when something is wrong (or to read the header): pyarrow does the real parsing,
    this pass maps its row numbers back to physical lines, as csv.reader counts them.
    """
    with open(path, newline="", encoding=_ENCODING, errors="replace") as handle:
        reader = csv.reader(handle)
        first: list[str] | None = None
        lines: list[int] = []
        start = 1
        for row in reader:
            if row and first is None:
                first = row
            elif row:
                lines.append(start)
            start = reader.line_num + 1
    return first, lines


def _check_ragged(path: Path, width: int) -> None:
    with open(path, newline="", encoding=_ENCODING, errors="replace") as handle:
        reader = csv.reader(handle)
        start = 1
        for index, row in enumerate(reader):
            if row and len(row) != width and index > 0:
                raise _fail(
                    path,
                    f"line {start}",
                    f"ragged row: expected {width} fields, got {len(row)}",
                )
            start = reader.line_num + 1


def _read_arrow_csv(path: Path, header: bool) -> tuple[pa.Table, Locate]:
    if not path.is_file():
        raise _fail(path, None, "no such file")
    first, _ = _csv_rows(path) if path.stat().st_size else (None, [])
    if first is None:
        raise _fail(path, "line 1", "empty file")
    names = list(first) if header else [f"c{i}" for i in range(len(first))]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise _fail(path, "line 1", f"repeated column names {repeated}")
    read = pacsv.ReadOptions(column_names=names, skip_rows=1 if header else 0)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names[:1]},
        null_values=NULL_VALUES,
        strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(path, read_options=read, convert_options=convert)
    except pa.ArrowInvalid as exc:
        _check_ragged(path, len(names))
        raise _fail(path, None, f"unreadable CSV: {exc}") from exc
    lines: list[int] | None = None

    def locate(row: int) -> str:
        nonlocal lines
        if row < 0:
            return "line 1"
        if lines is None:
            first_row, lines = _csv_rows(path)
            if not header and first_row is not None:
                lines = [1, *lines]
        return f"line {lines[row]}" if row < len(lines) else f"row {row + 1}"

    return table, locate


def _numeric(
    path: Path, column: pa.ChunkedArray, name: str, role: str, locate: Locate
) -> tuple[npt.NDArray[np.float64], str]:
    """A column as float64 (nulls as NaN) and its dtype name; refuses non-numeric cells."""
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        dtype = "null" if pa.types.is_null(kind) else np.dtype(kind.to_pandas_dtype()).name
        return np.asarray(values, dtype=np.float64), dtype
    cells = column.to_pylist()
    out = np.empty(len(cells), dtype=np.float64)
    for row, cell in enumerate(cells):
        try:
            out[row] = math.nan if cell is None else float(cell)
        except (TypeError, ValueError):
            raise _fail(
                path, locate(row), f"non-numeric {role} {_show(name)}: {_show(cell)}", column=name
            ) from None
    return out, "float64"


def _labels(
    path: Path, column: pa.ChunkedArray, name: str, locate: Locate
) -> tuple[npt.NDArray[Any], str]:
    values, _ = _numeric(path, column, name, "label", locate)
    missing = np.flatnonzero(np.isnan(values))
    if len(missing):
        raise _fail(path, locate(int(missing[0])), f"missing label {name!r}", column=name)
    if pa.types.is_integer(column.type):
        return values.astype(np.int64), "int64"
    return values, "float64"


def _ids(path: Path, column: pa.ChunkedArray, name: str, locate: Locate) -> list[str]:
    ids: list[str] = []
    seen: dict[str, int] = {}
    for row, cell in enumerate(column.to_pylist()):
        if cell is None or not str(cell).strip():
            raise _fail(path, locate(row), f"empty id in column {name!r}", column=name)
        key = str(cell)
        ids.append(key)
        first = seen.setdefault(key, row)
        if first != row:
            raise _fail(
                path,
                locate(row),
                f"repeated id {key!r} (first at {locate(first)})",
                column=name,
            )
    return ids


def _dataset(
    session: ComputingSession,
    *,
    path: Path,
    table: pa.Table,
    locate: Locate,
    id_name: str | None,
    label_name: str | None,
    partitions: int,
) -> Dataset:
    names: Sequence[str] = table.column_names
    id_name = id_name or names[0]
    for role, wanted in (("id", id_name), ("label", label_name)):
        if wanted is not None and wanted not in names:
            raise _fail(path, locate(-1), f"missing {role} column {wanted!r}", columns=list(names))
    ids = _ids(path, table.column(id_name), id_name, locate)
    labels, label_dtype = (None, None)
    if label_name is not None:
        labels, label_dtype = _labels(path, table.column(label_name), label_name, locate)
    feature_names = tuple(name for name in names if name not in (id_name, label_name))
    columns = [
        _numeric(path, table.column(name), name, "feature", locate) for name in feature_names
    ]
    features = (
        np.column_stack([values for values, _ in columns])
        if columns
        else np.zeros((len(ids), 0), dtype=np.float64)
    )
    schema = Schema(
        id_name, label_name, feature_names, tuple(dtype for _, dtype in columns), label_dtype
    )
    return Dataset(schema, _blocks(session, ids, features, labels, partitions))


def _blocks(
    session: ComputingSession,
    ids: list[str],
    features: npt.NDArray[np.float64],
    labels: npt.NDArray[Any] | None,
    partitions: int,
) -> Any:
    id_array = np.empty(len(ids), dtype=object)
    id_array[:] = ids
    owner = partitions_of(ids, partitions)
    blocks = []
    for index in range(partitions):
        rows = np.flatnonzero(owner == index)
        rows = rows[np.argsort(id_array[rows], kind="stable")]
        block_labels = None if labels is None else labels[rows]
        blocks.append((index, Block(id_array[rows], features[rows], block_labels)))
    return session.parallelize(blocks, partitions=partitions, include_key=True)


def read_csv(
    session: ComputingSession,
    path: Path,
    *,
    id_name: str | None,
    label_name: str | None,
    partitions: int,
    header: bool,
) -> Dataset:
    """Parse, validate and partition a FATE-style CSV (see `ComputingSession.read_csv`)."""
    check_partitions(partitions)
    table, locate = _read_arrow_csv(path, header)
    return _dataset(
        session,
        path=path,
        table=table,
        locate=locate,
        id_name=id_name,
        label_name=label_name,
        partitions=partitions,
    )


def read_parquet(
    session: ComputingSession,
    path: Path,
    *,
    id_name: str | None,
    label_name: str | None,
    partitions: int,
) -> Dataset:
    """Read, validate and partition a Parquet file (see `ComputingSession.read_parquet`)."""
    check_partitions(partitions)
    if not path.is_file():
        raise _fail(path, None, "no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise _fail(path, None, f"unreadable Parquet: {exc}") from exc
    if table.num_columns == 0:
        raise _fail(path, None, "no columns")
    id_column = id_name or table.column_names[0]
    if id_column in table.column_names:
        column = table.column(id_column)
        table = table.set_column(
            table.column_names.index(id_column), id_column, pc.cast(column, pa.string())
        )

    def locate(row: int) -> str:
        return "schema" if row < 0 else f"row {row + 1}"

    return _dataset(
        session,
        path=path,
        table=table,
        locate=locate,
        id_name=id_name,
        label_name=label_name,
        partitions=partitions,
    )
