"""`hetero_feature_selection`: manual, statistics and IV rules; host columns stay anonymous."""

# What each role learns (protocol in chaihuo.ml.feature.selection.guest): hosts offer the
# anonymous names of their binned columns that pass their own rules; the guest applies the
# IV rules (from its binning model) across all parties and tells each host which anonymous
# columns it keeps. Manual and statistics rules are applied by each party to its own
# columns; a name that is not a column of that party is a typed error naming it. Given a
# `model` input (a fitted selection of this party) the same columns are kept, without
# communication.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.computing import Dataset
from chaihuo.core import Role
from chaihuo.ml.feature import model_input, select_columns
from chaihuo.ml.feature.binning import KIND as BINNING_KIND
from chaihuo.ml.feature.selection import (
    SELECTION_KIND,
    SelectionConfig,
    fit_selection_guest,
    fit_selection_host,
    selected_columns,
)
from chaihuo.runtime import Context

__all__ = ["HETERO_FEATURE_SELECTION"]


class SelectionParams(ComponentParams):
    """Selection rules; each unset rule is off. keep/drop name this party's columns."""

    keep: list[str] | None = Field(None, description="Manual: keep only these columns.")
    drop: list[str] = Field([], description="Manual: drop these columns.")
    max_missing_ratio: float | None = Field(None, ge=0, le=1, description="Drop above this.")
    min_std: float | None = Field(None, ge=0, description="Drop std ≤ this (0: constants).")
    min_unique: int | None = Field(None, ge=1, description="Drop with fewer distinct values.")
    iv_threshold: float | None = Field(None, ge=0, description="Drop binned IV below this.")
    iv_top_k: int | None = Field(None, ge=0, description="Keep the k highest IVs overall.")


def _config(params: SelectionParams) -> SelectionConfig:
    return SelectionConfig(
        keep=None if params.keep is None else tuple(params.keep),
        drop=tuple(params.drop),
        max_missing_ratio=params.max_missing_ratio,
        min_std=params.min_std,
        min_unique=params.min_unique,
        iv_threshold=params.iv_threshold,
        iv_top_k=params.iv_top_k,
    )


def _run(ctx: Context, params: SelectionParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    role = ctx.role.value
    fitted = model_input(inputs.get("model"), SELECTION_KIND, role)
    if fitted is not None:
        return {"data": select_columns(dataset, selected_columns(fitted)), "model": fitted}
    binning = model_input(inputs.get("binning_model"), BINNING_KIND, role, name="binning_model")
    fit = fit_selection_guest if ctx.role == Role.GUEST else fit_selection_host
    result = fit(ctx, dataset, _config(params), binning)
    ctx.metrics.log("selected_columns", result.data.schema.num_features)
    ctx.metrics.log("dropped_columns", len(result.dropped))
    return {"data": result.data, "model": result.model}


HETERO_FEATURE_SELECTION = ComponentSpec(
    name="hetero_feature_selection",
    version="1.0",
    description="Select columns by manual lists, statistics and IV; host columns anonymous.",
    params=SelectionParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST), _run),
    inputs=("data",),
    outputs=("data", "model"),
    optional_inputs=("binning_model", "model"),
)
