"""`hetero_feature_binning`: quantile/bucket bins, WOE/IV (hosts' via encrypted labels)."""

# What each role learns (protocol in chaihuo.ml.feature.binning.guest): the host never sees a
# label, only ciphertexts under the guest's fresh Paillier key; the guest never sees a host
# value, split point or column name, only, per anonymous host feature (host_<party>_f<k>),
# the event and row count of each bin, hence its WOE and IV. With transform: woe (on both
# sides) each host also receives the WOE of its own bins. Given a `model` input the data are
# transformed with the fitted bins and WOE, without communication.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.computing import Dataset
from chaihuo.core import Role
from chaihuo.ml.feature import model_input
from chaihuo.ml.feature.binning import (
    KIND,
    BinningConfig,
    fit_binning_guest,
    fit_binning_host,
    transform_with_model,
)
from chaihuo.runtime import Context

__all__ = ["HETERO_FEATURE_BINNING"]


class BinningParams(ComponentParams):
    """FATE's binning parameters (names where they exist)."""

    method: Literal["quantile", "bucket"] = Field(
        "quantile", description="quantile: equal-frequency; bucket: equal-width."
    )
    bin_num: int = Field(10, ge=1, le=1024, description="Bins per feature (at most).")
    quantile_method: Literal["exact", "approximate"] = Field(
        "exact", description="approximate: mergeable per-partition summaries, rank error ≤ ε·n."
    )
    error: float = Field(0.001, gt=0, lt=1, description="ε of approximate quantiles.")
    columns: list[str] | None = Field(None, description="This party's columns (default: all).")
    adjustment_factor: float = Field(0.5, gt=0, description="Added to pure bins' counts.")
    transform: Literal["none", "bin", "woe"] = Field(
        "none", description="Output data: unchanged, bin indices, or WOE values."
    )
    shuffle_host_features: bool = Field(
        False, description="Host: report features to the guest in a random order."
    )


def _config(params: BinningParams) -> BinningConfig:
    return BinningConfig(
        method=params.method,
        bins=params.bin_num,
        quantile_method=params.quantile_method,
        error=params.error,
        columns=None if params.columns is None else tuple(params.columns),
        adjustment_factor=params.adjustment_factor,
        transform=params.transform,
        shuffle_host_features=params.shuffle_host_features,
    )


def _run(ctx: Context, params: BinningParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    role = ctx.role.value
    fitted = model_input(inputs.get("model"), KIND, role)
    if fitted is not None:
        return {"data": transform_with_model(dataset, fitted, params.transform), "model": fitted}
    fit = fit_binning_guest if ctx.role == Role.GUEST else fit_binning_host
    result = fit(ctx, dataset, _config(params))
    for name, iv in result.iv.items():
        ctx.metrics.log(f"iv.{name}", iv)
    ctx.metrics.log("binned_columns", len(result.model.meta["features"]))
    return {"data": result.data, "model": result.model}


HETERO_FEATURE_BINNING = ComponentSpec(
    name="hetero_feature_binning",
    version="1.0",
    description="Quantile/bucket binning with WOE/IV; host features via encrypted labels.",
    params=BinningParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST), _run),
    inputs=("data",),
    outputs=("data", "model"),
    optional_inputs=("model",),
)
