"""Column and row operations on datasets: transform feature blocks, pick columns, keep rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Block, Dataset, Schema
from chaihuo.core import InvalidInputError

__all__ = [
    "ColumnTransform",
    "UnknownColumnError",
    "column_indices",
    "keep_rows",
    "map_features",
    "row_ids_and_labels",
    "select_columns",
    "with_features",
]

Matrix = npt.NDArray[np.float64]
ColumnTransform = Callable[[Matrix], Matrix]
"""A picklable map from one block's feature matrix to its new feature matrix (same rows)."""


class UnknownColumnError(InvalidInputError):
    """A parameter names a feature column this party's dataset does not have."""


def column_indices(
    schema: Schema, names: Sequence[str] | None, *, what: str = "columns"
) -> list[int]:
    """Positions of `names` in the schema's features (all features when None).

    Raises UnknownColumnError naming every missing column (and the id/label if one was named).
    """
    features = schema.feature_names
    if names is None:
        return list(range(len(features)))
    missing = [name for name in names if name not in features]
    if missing:
        hint = ""
        if any(name in (schema.id_name, schema.label_name) for name in missing):
            hint = " (the id and the label are not feature columns)"
        raise UnknownColumnError(
            f"{what}: no feature column named {', '.join(map(repr, missing))}{hint}",
            available=list(features),
        )
    duplicated = sorted({name for name in names if list(names).count(name) > 1})
    if duplicated:
        raise InvalidInputError(f"{what}: columns listed twice: {duplicated}")
    return [features.index(name) for name in names]


def with_features(schema: Schema, names: Sequence[str], dtypes: Sequence[str]) -> Schema:
    """The same id and label with new feature columns."""
    return Schema(
        schema.id_name, schema.label_name, tuple(names), tuple(dtypes), schema.label_dtype
    )


class _MapFeatures:
    """Picklable block mapper: applies a ColumnTransform to each block's features."""

    def __init__(self, transform: ColumnTransform, width: int) -> None:
        self.transform, self.width = transform, width

    def __call__(self, block: Block) -> Block:
        features = np.asarray(self.transform(block.features), dtype=np.float64)
        if features.shape != (len(block), self.width):
            raise InvalidInputError(
                f"column transform gave shape {features.shape}, expected {(len(block), self.width)}"
            )
        return Block(block.ids, features, block.labels)


def map_features(dataset: Dataset, schema: Schema, transform: ColumnTransform) -> Dataset:
    """A dataset with every block's features replaced by `transform(features)` (on workers)."""
    return Dataset(schema, dataset.blocks.mapValues(_MapFeatures(transform, schema.num_features)))


class _KeepRows:
    """Picklable (key, block) mapper keeping the rows its per-block mask marks."""

    def __init__(self, masks: dict[Any, npt.NDArray[np.bool_]]) -> None:
        self.masks = masks

    def __call__(self, key: Any, block: Block) -> tuple[Any, Block]:
        mask = self.masks[key]
        labels = None if block.labels is None else block.labels[mask]
        return key, Block(block.ids[mask], block.features[mask], labels)


def keep_rows(dataset: Dataset, mask: npt.NDArray[np.bool_]) -> Dataset:
    """The rows whose entry in `mask` (one per row, in block order) is true.

    Blocks keep their keys and the ids their partitions, so two parties that keep the same
    positions of row-aligned datasets stay row-aligned (same partition count, same order).
    """
    sizes = sorted(dataset.blocks.mapValues(len).collect(), key=lambda kv: kv[0])
    total = sum(size for _, size in sizes)
    if mask.shape != (total,):
        raise InvalidInputError(f"row mask of shape {mask.shape} for a dataset of {total} rows")
    masks: dict[Any, npt.NDArray[np.bool_]] = {}
    start = 0
    for key, size in sizes:
        masks[key] = np.asarray(mask[start : start + size], dtype=np.bool_).copy()
        start += size
    return Dataset(dataset.schema, dataset.blocks.map(_KeepRows(masks)))


def _ids_and_labels(block: Block) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None]:
    return block.ids, block.labels


def row_ids_and_labels(dataset: Dataset) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None]:
    """Ids and labels (None without a label) in block order, without moving the features."""
    parts = sorted(dataset.blocks.mapValues(_ids_and_labels).collect(), key=lambda kv: kv[0])
    ids = np.concatenate([part[0] for _, part in parts]) if parts else np.empty(0, dtype=object)
    if dataset.schema.label_dtype is None:
        return ids, None
    label_parts = [part[1] for _, part in parts if part[1] is not None]
    dtype = np.dtype(dataset.schema.label_dtype)
    labels = np.concatenate(label_parts) if label_parts else np.empty(0, dtype=dtype)
    return ids, labels.astype(dtype, copy=False)


class _PickColumns:
    """Picklable column transform keeping the given positions."""

    def __init__(self, columns: list[int]) -> None:
        self.columns = columns

    def __call__(self, features: Matrix) -> Matrix:
        return np.ascontiguousarray(features[:, self.columns])


def select_columns(dataset: Dataset, names: Sequence[str]) -> Dataset:
    """The dataset with only the named feature columns, in the dataset's column order."""
    schema = dataset.schema
    wanted = set(column_indices(schema, list(names), what="selected columns"))
    columns = [j for j in range(schema.num_features) if j in wanted]
    new_schema = with_features(
        schema,
        [schema.feature_names[j] for j in columns],
        [schema.feature_dtypes[j] for j in columns],
    )
    return map_features(dataset, new_schema, _PickColumns(columns))
