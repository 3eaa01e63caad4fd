"""`reader`: a party's CSV or Parquet file as a partitioned dataset with its schema."""

# Data transform on read (FATE's DataTransform): `missing_fill` fills each feature's missing
# cells with its mean, median, zero or `fill_value` (a column with no value at all gets
# `fill_value`, else 0); `label_type` types the label: "int" (int64, FATE's default for
# classification; every label must be whole), "float" (float64, regression), or "auto" —
# the default — keeping the file's type (int64 for an integer column, float64 otherwise).
# A file with a header (or a Parquet schema) but no data rows is refused here, where it is
# read as a job's input, rather than left to fail later as "no common ids" in PSI; an empty
# table stays legitimate for the computing layer's own API.

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from chaihuo.components._spec import ComponentError, ComponentParams, ComponentSpec
from chaihuo.computing import MalformedDataError
from chaihuo.core import Role
from chaihuo.ml.feature import FillMethod, LabelType, cast_labels, fill_missing
from chaihuo.runtime import Context

__all__ = ["READER"]


class ReaderParams(ComponentParams):
    """Where this party's data is and which columns are the id and the label."""

    path: str | None = Field(None, description="CSV or Parquet file; relative to the job file.")
    table: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_\-\.]{1,64}/[A-Za-z0-9_\-\.]{1,64}$",
        description="A table uploaded to this party's node, `namespace/name` (node jobs).",
    )
    id: str | None = Field(None, description="Id column (default: the first column).")
    label: str | None = Field(None, description="Label column, if this party holds it.")
    format: Literal["auto", "csv", "parquet"] = "auto"
    partitions: int | None = Field(None, ge=1, le=1024)
    header: bool = True
    missing_fill: FillMethod = Field(
        "none", description="Fill missing feature cells: none, mean, median, zero, constant."
    )
    fill_value: float | None = Field(
        None, description="The constant for missing_fill: constant (and all-missing columns)."
    )
    label_type: LabelType = Field(
        "auto", description="Label type: int (int64, FATE's default), float, or auto (file's)."
    )

    @model_validator(mode="after")
    def _source(self) -> ReaderParams:
        if (self.path is None) == (self.table is None):
            raise ValueError("give exactly one of path (a file) and table (namespace/name)")
        return self

    @model_validator(mode="after")
    def _fill(self) -> ReaderParams:
        if self.missing_fill == "constant" and self.fill_value is None:
            raise ValueError("missing_fill: constant needs fill_value")
        return self


def _read(ctx: Context, params: ReaderParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    if params.path is None:
        raise ComponentError(
            f"reader: table {params.table!r} is a table registered on a node (`chaihuo data "
            "upload`), which resolves it before the task runs; `chaihuo run` reads files: "
            "give `path:` instead",
            public=True,
        )
    path = ctx.resolve(params.path)
    kind = params.format
    if kind == "auto":
        kind = "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv"
    if kind == "parquet":
        dataset = ctx.computing.read_parquet(
            path, id=params.id, label=params.label, partitions=params.partitions
        )
    else:
        dataset = ctx.computing.read_csv(
            path,
            id=params.id,
            label=params.label,
            partitions=params.partitions,
            header=params.header,
        )
    rows = dataset.count()
    if rows == 0:
        raise _no_rows(path, "a schema" if kind == "parquet" else "a header")
    dataset = cast_labels(dataset, params.label_type)
    dataset, filled, _ = fill_missing(dataset, params.missing_fill, params.fill_value)
    if params.missing_fill != "none":
        ctx.metrics.log("filled_cells", filled)
    ctx.metrics.log("rows", rows)
    ctx.metrics.log("features", dataset.schema.num_features)
    return {"data": dataset}


def _no_rows(path: Path, what: str) -> MalformedDataError:
    """The file's name and what it lacks; no cell of it (the header is the party's own)."""
    reason = f"the file has {what} but no data rows: nothing to read"
    return MalformedDataError(f"{path}: {reason}", file=str(path), reason=reason, rows=0)


READER = ComponentSpec(
    name="reader",
    version="1.0",
    description="Read a CSV/Parquet file (id, optional label, numeric features) into a dataset.",
    params=ReaderParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST, Role.CLIENT), _read),
    outputs=("data",),
)
