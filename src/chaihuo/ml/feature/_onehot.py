"""One-hot encoding of one party's integer-valued (categorical) columns."""

# A column c with fitted categories v_1 < … < v_m (its distinct non-missing values, which must
# be whole numbers) becomes m indicator columns named "c_v_k" in its place: 1 where c = v_k,
# 0 elsewhere. A value not seen in fitting, or a missing value, sets every indicator of c to
# 0 (scikit-learn's handle_unknown="ignore"). With no columns listed, every column whose
# values are whole numbers with at most `max_categories` distinct values is encoded.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset, Schema
from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.feature._dataset import column_indices, map_features, with_features

__all__ = ["ONE_HOT_KIND", "OneHotModel", "encode_dataset", "fit_one_hot"]

ONE_HOT_KIND = "one_hot"
Vector = npt.NDArray[np.float64]


def _category_label(value: float) -> str:
    return str(int(value))


@dataclass
class OneHotModel:
    """Fitted categories per encoded column (in the order the columns appear)."""

    categories: dict[str, list[float]]

    def to_artifact(self, role: str) -> ModelArtifact:
        """This party's one-hot model."""
        return ModelArtifact(ONE_HOT_KIND, role, meta={"categories": self.categories})

    @classmethod
    def from_artifact(cls, model: ModelArtifact) -> OneHotModel:
        """Read a model written by `to_artifact`."""
        if model.kind != ONE_HOT_KIND:
            raise InvalidInputError(f"expected a {ONE_HOT_KIND} model, got {model.kind!r}")
        raw = model.meta["categories"]
        return cls({str(k): [float(v) for v in values] for k, values in raw.items()})


def _whole(values: Vector) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def fit_one_hot(
    schema: Schema,
    features: Vector,
    columns: Sequence[str] | None,
    max_categories: int,
) -> OneHotModel:
    """Categories of the listed columns (or of the auto-detected categorical ones)."""
    indices = column_indices(schema, columns, what="one-hot columns")
    categories: dict[str, list[float]] = {}
    for j in indices:
        name = schema.feature_names[j]
        present = features[:, j][~np.isnan(features[:, j])]
        values = np.unique(present)
        if not _whole(values):
            if columns is None:
                continue
            bad = values[~(values == np.round(values))][0]
            raise InvalidInputError(
                f"one-hot column {name!r} has a non-integer value {float(bad)!r}"
            )
        if len(values) > max_categories or not len(values):
            if columns is None:
                continue
            raise InvalidInputError(
                f"one-hot column {name!r} has {len(values)} categories; "
                f"1 to max_categories={max_categories} are needed"
            )
        categories[name] = [float(v) for v in values]
    return OneHotModel(categories)


def _output_schema(schema: Schema, model: OneHotModel) -> Schema:
    names: list[str] = []
    dtypes: list[str] = []
    for name, dtype in zip(schema.feature_names, schema.feature_dtypes, strict=True):
        if name in model.categories:
            labels = [f"{name}_{_category_label(v)}" for v in model.categories[name]]
            names.extend(labels)
            dtypes.extend(["int64"] * len(labels))
        else:
            names.append(name)
            dtypes.append(dtype)
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise InvalidInputError(f"one-hot output columns clash with existing ones: {clashes}")
    return with_features(schema, names, dtypes)


class _Encode:
    """Picklable column transform: encoded columns replaced in place by their indicators."""

    def __init__(self, schema: Schema, model: OneHotModel) -> None:
        self.plan = [
            (
                j,
                np.asarray(model.categories.get(name, []), dtype=np.float64),
                name in model.categories,
            )
            for j, name in enumerate(schema.feature_names)
        ]

    def __call__(self, features: Vector) -> Vector:
        parts = []
        for j, categories, encoded in self.plan:
            column = features[:, j : j + 1]
            parts.append((column == categories).astype(np.float64) if encoded else column)
        if not parts:
            return features
        return np.hstack(parts)


def encode_dataset(dataset: Dataset, model: OneHotModel) -> Dataset:
    """The dataset with the model's columns one-hot encoded (each party its own columns)."""
    column_indices(dataset.schema, list(model.categories), what="one-hot columns")
    schema = _output_schema(dataset.schema, model)
    return map_features(dataset, schema, _Encode(dataset.schema, model))
