"""`statistics`: count, mean, std, min, max, quantiles and missing ratio of each party's columns."""

# Local to each party: every party describes its own columns (the guest also its label) and
# keeps the result; nothing crosses the wire. See chaihuo.ml.feature._statistics for the
# definitions (sample std by default; undefined values are null in the JSON output).

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.computing import Dataset
from chaihuo.core import Role
from chaihuo.ml import dataset_arrays
from chaihuo.ml.feature import column_indices, describe_features, describe_label
from chaihuo.runtime import Context

__all__ = ["STATISTICS"]

_LOGGED = ("mean", "std", "min", "max", "missing_ratio")


class StatisticsParams(ComponentParams):
    """Which columns, which quantiles, which std."""

    columns: list[str] | None = Field(None, description="Columns to describe (default: all).")
    quantiles: list[float] = Field([0.25, 0.5, 0.75], description="Quantile levels in [0, 1].")
    ddof: int = Field(1, ge=0, le=1, description="1: sample std (pandas); 0: population std.")
    label: bool = Field(True, description="Also describe the label (guest).")

    @field_validator("quantiles")
    @classmethod
    def _levels(cls, levels: list[float]) -> list[float]:
        if any(not 0.0 <= q <= 1.0 for q in levels):
            raise ValueError("quantile levels must lie in [0, 1]")
        return levels


def _describe(ctx: Context, params: StatisticsParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    arrays = dataset_arrays(dataset)
    columns = column_indices(dataset.schema, params.columns, what="statistics columns")
    names = [dataset.schema.feature_names[j] for j in columns]
    features = describe_features(names, arrays.features[:, columns], params.quantiles, params.ddof)
    result: dict[str, Any] = {"rows": arrays.rows, "features": features}
    if params.label and arrays.labels is not None:
        result["label"] = describe_label(arrays.labels, params.quantiles, params.ddof)
    ctx.metrics.log("rows", arrays.rows)
    for name, stats in features.items():
        for key in _LOGGED:
            if stats.get(key) is not None:
                ctx.metrics.log(f"{name}.{key}", float(stats[key]))
    return {"statistics": result}


STATISTICS = ComponentSpec(
    name="statistics",
    version="1.0",
    description="Per-column count, mean, std, min/max, quantiles and missing ratio (local).",
    params=StatisticsParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST), _describe),
    inputs=("data",),
    outputs=("statistics",),
)
