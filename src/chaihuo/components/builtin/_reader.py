"""`reader`: a party's CSV or Parquet file as a partitioned dataset with its schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.runtime import Context

__all__ = ["READER"]


class ReaderParams(ComponentParams):
    """Where this party's data is and which columns are the id and the label."""

    path: str = Field(description="CSV or Parquet file; relative to the job file.")
    id: str | None = Field(None, description="Id column (default: the first column).")
    label: str | None = Field(None, description="Label column, if this party holds it.")
    format: Literal["auto", "csv", "parquet"] = "auto"
    partitions: int | None = Field(None, ge=1, le=1024)
    header: bool = True


def _read(ctx: Context, params: ReaderParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
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
    ctx.metrics.log("rows", dataset.count())
    ctx.metrics.log("features", dataset.schema.num_features)
    return {"data": dataset}


READER = ComponentSpec(
    name="reader",
    version="1.0",
    description="Read a CSV/Parquet file (id, optional label, numeric features) into a dataset.",
    params=ReaderParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST), _read),
    outputs=("data",),
)
