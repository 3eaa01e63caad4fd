"""Missing-value fill of feature columns and label typing, as the reader applies them."""

# Fill values per column, over its non-missing values: mean, median, zero or a constant. A
# column with no value at all has no mean or median: it is filled with `fill_value` if one
# is given, else 0.0. Labels: "int" makes them int64 (FATE's default for classification;
# every label must be a whole number), "float" float64, "auto" keeps what the file holds
# (int64 for an integer column, float64 otherwise).

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Block, Dataset, Schema
from chaihuo.core import InvalidInputError
from chaihuo.ml._data import dataset_arrays
from chaihuo.ml.feature._dataset import map_features, row_ids_and_labels

__all__ = ["FillMethod", "LabelType", "cast_labels", "fill_missing", "fill_values"]

FillMethod = Literal["none", "mean", "median", "zero", "constant"]
LabelType = Literal["auto", "int", "float"]
Vector = npt.NDArray[np.float64]


def fill_values(features: Vector, method: FillMethod, value: float | None) -> Vector:
    """The value each column's missing cells get."""
    width = features.shape[1]
    if method == "constant":
        if value is None:
            raise InvalidInputError("missing_fill: constant needs fill_value")
        return np.full(width, float(value))
    fallback = 0.0 if value is None else float(value)
    out = np.full(width, fallback if method != "zero" else 0.0)
    if method in ("mean", "median"):
        for j in range(width):
            present = features[:, j][~np.isnan(features[:, j])]
            if len(present):
                out[j] = float(np.mean(present) if method == "mean" else np.median(present))
    return out


class _Fill:
    """Picklable column transform replacing NaN by each column's fill value."""

    def __init__(self, values: Vector) -> None:
        self.values = values

    def __call__(self, features: Vector) -> Vector:
        return np.where(np.isnan(features), self.values, features)


def fill_missing(
    dataset: Dataset, method: FillMethod, value: float | None
) -> tuple[Dataset, int, Vector]:
    """(filled dataset, number of cells filled, fill value per column); method none: as is."""
    if method == "none":
        return dataset, 0, np.zeros(0)
    features = dataset_arrays(dataset).features
    values = fill_values(features, method, value)
    filled = int(np.isnan(features).sum())
    return map_features(dataset, dataset.schema, _Fill(values)), filled, values


class _CastLabels:
    """Picklable block mapper changing the label dtype."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def __call__(self, block: Block) -> Block:
        labels = None if block.labels is None else block.labels.astype(self.dtype)
        return Block(block.ids, block.features, labels)


def cast_labels(dataset: Dataset, label_type: LabelType) -> Dataset:
    """The dataset with labels of the requested type (a non-integral label refuses "int")."""
    schema = dataset.schema
    if label_type == "auto" or schema.label_dtype is None:
        return dataset
    dtype = "int64" if label_type == "int" else "float64"
    if dtype == schema.label_dtype:
        return dataset
    if dtype == "int64":
        ids, labels = row_ids_and_labels(dataset)
        assert labels is not None
        _check_integral(ids, labels, schema.label_name or "label")
    new_schema = Schema(
        schema.id_name, schema.label_name, schema.feature_names, schema.feature_dtypes, dtype
    )
    return Dataset(new_schema, dataset.blocks.mapValues(_CastLabels(dtype)))


def _check_integral(ids: npt.NDArray[Any], labels: npt.NDArray[Any], name: str) -> None:
    values = labels.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
    if len(bad):
        first = int(bad[0])
        raise InvalidInputError(
            f"label_type: int, but label {name!r} of id {ids[first]!r} is {float(values[first])!r}",
            non_integral=len(bad),
        )
