"""`feature_scale`: min-max or standard scaling of each party's own columns; model for new data."""

# Local to each party: nothing crosses the wire, so nothing is learnt by anyone else. Given a
# `model` input (a fitted feature_scale model of this party) the data are transformed with
# its parameters instead of fitting new ones. See chaihuo.ml.feature._scale for the formulas
# and the handling of constant and all-missing columns.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.computing import Dataset
from chaihuo.core import Role
from chaihuo.ml import dataset_arrays
from chaihuo.ml.feature import (
    SCALE_KIND,
    ScaleConfig,
    Scaler,
    column_indices,
    fit_scaler,
    model_input,
    scale_dataset,
)
from chaihuo.runtime import Context

__all__ = ["FEATURE_SCALE"]


class FeatureScaleParams(ComponentParams):
    """Scaler and columns (this party's; by_role sets them per party)."""

    method: Literal["minmax", "standard"] = "standard"
    columns: list[str] | None = Field(None, description="Columns to scale (default: all).")
    feature_range: tuple[float, float] = Field((0.0, 1.0), description="min-max output range.")
    clip: bool = Field(True, description="min-max: clip new data to the fitted [min, max].")
    clip_quantiles: tuple[float, float] | None = Field(
        None, description="min-max: fit min/max at these quantiles and clip there (FATE cap)."
    )
    with_mean: bool = Field(True, description="standard: subtract the mean.")
    with_std: bool = Field(True, description="standard: divide by the std.")

    @model_validator(mode="after")
    def _ranges(self) -> FeatureScaleParams:
        low, high = self.feature_range
        if not low < high:
            raise ValueError("feature_range must be (low, high) with low < high")
        if self.clip_quantiles is not None:
            q_low, q_high = self.clip_quantiles
            if not 0.0 <= q_low < q_high <= 1.0:
                raise ValueError("clip_quantiles must satisfy 0 ≤ low < high ≤ 1")
        return self


def _scale(ctx: Context, params: FeatureScaleParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    role = ctx.role.value
    fitted = model_input(inputs.get("model"), SCALE_KIND, role)
    if fitted is not None:
        scaler = Scaler.from_artifact(fitted)
    else:
        columns = column_indices(dataset.schema, params.columns, what="feature_scale columns")
        names = [dataset.schema.feature_names[j] for j in columns]
        config = ScaleConfig(
            method=params.method,
            feature_range=params.feature_range,
            clip=params.clip,
            clip_quantiles=params.clip_quantiles,
            with_mean=params.with_mean,
            with_std=params.with_std,
        )
        scaler = fit_scaler(names, dataset_arrays(dataset).features[:, columns], config)
    ctx.metrics.log("scaled_columns", len(scaler.columns))
    return {"data": scale_dataset(dataset, scaler), "model": scaler.to_artifact(role)}


FEATURE_SCALE = ComponentSpec(
    name="feature_scale",
    version="1.0",
    description="Min-max or standard scaling of each party's own columns, with a model.",
    params=FeatureScaleParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST), _scale),
    inputs=("data",),
    outputs=("data", "model"),
    optional_inputs=("model",),
)
