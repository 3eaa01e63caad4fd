"""Binning configuration, split-point fitting on a dataset, the fitted model and its transform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Block, Dataset
from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.feature._dataset import column_indices, map_features, with_features
from chaihuo.ml.feature.binning._bins import (
    QuantileSummary,
    assign_bins,
    bucket_points,
    quantile_points,
    summary_points,
)

__all__ = [
    "KIND",
    "BinningConfig",
    "FeatureBins",
    "Transform",
    "apply_bins",
    "bins_from_artifact",
    "config_json",
    "fit_points",
    "transform_with_model",
]

KIND = "hetero_feature_binning"
Transform = Literal["none", "bin", "woe"]
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BinningConfig:
    """What to bin and how (the component's parameters, minus the I/O)."""

    method: Literal["quantile", "bucket"] = "quantile"
    bins: int = 10
    quantile_method: Literal["exact", "approximate"] = "exact"
    error: float = 0.001
    columns: tuple[str, ...] | None = None
    adjustment_factor: float = 0.5
    transform: Transform = "none"
    shuffle_host_features: bool = False


@dataclass
class FeatureBins:
    """One fitted feature: split points, and its WOE per bin (missing bin last) if known."""

    name: str
    points: Vector
    woe: Vector | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of bins, the missing-value bin included."""
        return len(self.points) + 1

    def to_json(self) -> dict[str, Any]:
        """JSON form for a model artifact (floats round-trip exactly through JSON)."""
        return {
            "split_points": [float(v) for v in self.points],
            "woe": None if self.woe is None else [float(v) for v in self.woe],
            **self.extra,
        }


class _BlockSummaries:
    """Picklable: per block, one QuantileSummary (as arrays) per selected column."""

    def __init__(self, columns: Sequence[int], error: float) -> None:
        self.columns, self.error = list(columns), error

    def __call__(self, block: Block) -> list[tuple[Vector, npt.NDArray[np.int64]]]:
        out = []
        for j in self.columns:
            summary = QuantileSummary.build(block.features[:, j], self.error)
            out.append((summary.values, summary.weights))
        return out


def fit_points(
    dataset: Dataset, features: npt.NDArray[np.float64], config: BinningConfig
) -> list[FeatureBins]:
    """Split points of the configured columns (exact/bucket on the matrix; approximate
    quantiles from per-block summaries computed where the blocks live, then merged)."""
    if config.bins < 1:
        raise InvalidInputError("bins must be at least 1", bins=config.bins)
    columns = column_indices(dataset.schema, config.columns, what="binning columns")
    names = [dataset.schema.feature_names[j] for j in columns]
    if config.method == "bucket":
        points = [bucket_points(features[:, j], config.bins) for j in columns]
    elif config.quantile_method == "exact":
        points = [quantile_points(features[:, j], config.bins) for j in columns]
    else:
        parts = [
            summaries
            for _, summaries in dataset.blocks.mapValues(
                _BlockSummaries(columns, config.error)
            ).collect()
        ]
        points = []
        for position in range(len(columns)):
            merged = QuantileSummary.merge(
                [QuantileSummary(*summaries[position]) for summaries in parts]
            )
            points.append(summary_points(merged, config.bins))
    return [FeatureBins(name, p) for name, p in zip(names, points, strict=True)]


class _ApplyBins:
    """Picklable column transform: binned columns become bin indices or WOE values."""

    def __init__(self, columns: list[int], bins: list[FeatureBins], mode: Transform) -> None:
        self.columns, self.mode = columns, mode
        self.points = [b.points for b in bins]
        self.woe = [b.woe for b in bins]

    def __call__(self, features: Vector) -> Vector:
        out = features.copy()
        for j, points, woe in zip(self.columns, self.points, self.woe, strict=True):
            index = assign_bins(features[:, j], points)
            out[:, j] = index if self.mode == "bin" or woe is None else woe[index]
        return out


def apply_bins(dataset: Dataset, bins: list[FeatureBins], mode: Transform) -> Dataset:
    """The dataset with binned columns replaced by bin indices or WOE (mode none: unchanged)."""
    if mode == "none":
        return dataset
    schema = dataset.schema
    columns = column_indices(schema, [b.name for b in bins], what="binned columns")
    if mode == "woe":
        lacking = [b.name for b in bins if b.woe is None]
        if lacking:
            raise InvalidInputError(f"no WOE known for {lacking}: cannot transform to WOE")
    dtypes = list(schema.feature_dtypes)
    for j in columns:
        dtypes[j] = "int64" if mode == "bin" else "float64"
    new_schema = with_features(schema, schema.feature_names, dtypes)
    return map_features(dataset, new_schema, _ApplyBins(columns, bins, mode))


def bins_from_artifact(model: ModelArtifact) -> list[FeatureBins]:
    """The fitted features of a binning model (this party's own columns)."""
    if model.kind != KIND:
        raise InvalidInputError(f"expected a {KIND} model, got {model.kind!r}")
    features = model.meta.get("features")
    if not isinstance(features, dict):
        raise InvalidInputError("binning model has no 'features' table")
    out = []
    for name, entry in features.items():
        woe = entry.get("woe")
        extra = {k: v for k, v in entry.items() if k not in ("split_points", "woe")}
        out.append(
            FeatureBins(
                name,
                np.asarray(entry["split_points"], dtype=np.float64),
                None if woe is None else np.asarray(woe, dtype=np.float64),
                extra,
            )
        )
    return out


def config_json(config: BinningConfig) -> dict[str, Any]:
    """The fitting configuration as recorded in a model."""
    return {
        "method": config.method,
        "bins": config.bins,
        "quantile_method": config.quantile_method,
        "error": config.error,
        "adjustment_factor": config.adjustment_factor,
        "transform": config.transform,
    }


def transform_with_model(dataset: Dataset, model: ModelArtifact, mode: Transform) -> Dataset:
    """Apply a fitted binning model to new data (no communication: each party has its part)."""
    return apply_bins(dataset, bins_from_artifact(model), mode)
