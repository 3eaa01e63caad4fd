"""Feature scaling on one party's own columns: min-max (with clipping) and standard (z-score)."""

# Every scaler is affine per column, x' = (clip(x, low, high) − center)·factor + offset:
# * min-max to [a, b]: center = min, factor = (b − a)/(max − min), offset = a; min and max are
#   the fitted column extremes, or its quantiles q_low, q_high with `clip_quantiles` (FATE's
#   "cap" mode: outliers are clipped to those quantiles before scaling). With `clip`, values
#   outside the fitted [min, max] (new data) are clipped, so the output stays in [a, b]
#   (scikit-learn's MinMaxScaler(clip=True)).
# * standard: center = mean, factor = 1/std (population std, ddof 0, as scikit-learn's
#   StandardScaler), offset 0; `with_mean`/`with_std` switch either part off.
# A constant column (max = min, or std = 0) would divide by zero; as in scikit-learn its
# range/std is taken as 1, so it maps to a (min-max) or 0 (standard). A column with no value
# at all keeps center 0, factor 1. Missing values are ignored in fitting and stay NaN.

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.feature._dataset import column_indices, map_features, with_features

__all__ = ["SCALE_KIND", "ScaleConfig", "Scaler", "fit_scaler", "scale_dataset"]

SCALE_KIND = "feature_scale"
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ScaleConfig:
    """Which columns and which scaler."""

    method: Literal["minmax", "standard"] = "standard"
    columns: tuple[str, ...] | None = None
    feature_range: tuple[float, float] = (0.0, 1.0)
    clip: bool = True
    clip_quantiles: tuple[float, float] | None = None
    with_mean: bool = True
    with_std: bool = True


@dataclass
class Scaler:
    """Fitted affine parameters of the scaled columns (by name)."""

    method: str
    columns: list[str]
    center: Vector
    factor: Vector
    offset: Vector
    low: Vector
    high: Vector

    def to_artifact(self, role: str) -> ModelArtifact:
        """This party's scaling model (columns in meta, parameters as arrays)."""
        return ModelArtifact(
            SCALE_KIND,
            role,
            meta={"method": self.method, "columns": self.columns},
            arrays={
                "center": self.center,
                "factor": self.factor,
                "offset": self.offset,
                "low": self.low,
                "high": self.high,
            },
        )

    @classmethod
    def from_artifact(cls, model: ModelArtifact) -> Scaler:
        """Read a model written by `to_artifact`."""
        if model.kind != SCALE_KIND:
            raise InvalidInputError(f"expected a {SCALE_KIND} model, got {model.kind!r}")
        arrays = model.arrays
        return cls(
            str(model.meta["method"]),
            [str(c) for c in model.meta["columns"]],
            *(np.asarray(arrays[k], dtype=np.float64) for k in _ARRAYS),
        )


_ARRAYS = ("center", "factor", "offset", "low", "high")


def _present(column: Vector) -> Vector:
    return column[~np.isnan(column)]


def fit_scaler(names: list[str], features: Vector, config: ScaleConfig) -> Scaler:
    """Fit the scaler on the given columns (features has one column per name)."""
    width = features.shape[1]
    center, factor = np.zeros(width), np.ones(width)
    offset = np.zeros(width)
    low, high = np.full(width, -np.inf), np.full(width, np.inf)
    for j in range(width):
        values = _present(features[:, j])
        if not len(values):
            continue
        if config.method == "minmax":
            a, b = config.feature_range
            if config.clip_quantiles is not None:
                q_low, q_high = config.clip_quantiles
                lo, hi = (float(v) for v in np.quantile(values, [q_low, q_high]))
            else:
                lo, hi = float(values.min()), float(values.max())
            span = hi - lo
            center[j], factor[j], offset[j] = lo, (b - a) / (span if span > 0 else 1.0), a
            if config.clip or config.clip_quantiles is not None:
                low[j], high[j] = lo, hi
        else:
            mean, std = float(values.mean()), float(values.std())
            center[j] = mean if config.with_mean else 0.0
            factor[j] = 1.0 / std if config.with_std and std > 0 else 1.0
    return Scaler(config.method, names, center, factor, offset, low, high)


class _ApplyScaler:
    """Picklable column transform for the scaled columns."""

    def __init__(self, columns: list[int], scaler: Scaler) -> None:
        self.columns, self.scaler = columns, scaler

    def __call__(self, features: Vector) -> Vector:
        out = features.copy()
        s = self.scaler
        block = np.clip(features[:, self.columns], s.low, s.high)
        out[:, self.columns] = (block - s.center) * s.factor + s.offset
        return out


def scale_dataset(dataset: Dataset, scaler: Scaler) -> Dataset:
    """The dataset with the scaler's columns scaled (others unchanged; scaled are float64)."""
    schema = dataset.schema
    columns = column_indices(schema, scaler.columns, what="scaled columns")
    dtypes = list(schema.feature_dtypes)
    for j in columns:
        dtypes[j] = "float64"
    new_schema = with_features(schema, schema.feature_names, dtypes)
    return map_features(dataset, new_schema, _ApplyScaler(columns, scaler))
