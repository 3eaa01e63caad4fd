"""Hetero feature binning: quantile/bucket bins, WOE and IV (host features under encryption)."""

from chaihuo.ml.feature.binning._bins import (
    QuantileSummary,
    assign_bins,
    bin_counts,
    bucket_points,
    quantile_points,
    summary_points,
)
from chaihuo.ml.feature.binning._model import (
    KIND,
    BinningConfig,
    FeatureBins,
    Transform,
    apply_bins,
    bins_from_artifact,
    fit_points,
    transform_with_model,
)
from chaihuo.ml.feature.binning._woe import WoeTable, woe_table
from chaihuo.ml.feature.binning.guest import (
    BinningResult,
    binary_labels,
    fit_binning_guest,
    host_feature_name,
)
from chaihuo.ml.feature.binning.host import encrypted_bin_sums, fit_binning_host

__all__ = [
    "KIND",
    "BinningConfig",
    "BinningResult",
    "FeatureBins",
    "QuantileSummary",
    "Transform",
    "WoeTable",
    "apply_bins",
    "assign_bins",
    "bin_counts",
    "binary_labels",
    "bins_from_artifact",
    "bucket_points",
    "encrypted_bin_sums",
    "fit_binning_guest",
    "fit_binning_host",
    "fit_points",
    "host_feature_name",
    "quantile_points",
    "summary_points",
    "transform_with_model",
    "woe_table",
]
