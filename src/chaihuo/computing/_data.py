"""Datasets: a schema plus numeric blocks per partition (ids, float64 features, labels)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing._keys import canonical_key
from chaihuo.computing._table import Table

__all__ = ["Block", "Dataset", "Schema"]

Row = tuple[npt.NDArray[np.float64], Any]
"""A row table's value: (feature vector, label or None)."""


@dataclass(frozen=True, slots=True)
class Schema:
    """Column roles of a dataset: id, optional label, and feature names with their dtypes.

    ``feature_dtypes`` are the types read from the file (``int64``, ``float64``, ``null`` for
    an all-empty column); blocks hold every feature as float64. ``label_dtype`` is ``int64``
    for integral labels (classification), ``float64`` otherwise, None without a label.
    """

    id_name: str
    label_name: str | None
    feature_names: tuple[str, ...]
    feature_dtypes: tuple[str, ...]
    label_dtype: str | None

    def __post_init__(self) -> None:
        if len(self.feature_names) != len(self.feature_dtypes):
            raise ValueError("feature_names and feature_dtypes differ in length")
        if (self.label_name is None) != (self.label_dtype is None):
            raise ValueError("label_name and label_dtype must both be set or both be None")

    @property
    def num_features(self) -> int:
        """Number of feature columns."""
        return len(self.feature_names)


@dataclass(frozen=True, slots=True, eq=False)
class Block:
    """The rows of one partition as arrays: ``ids`` (object array of keys, ascending in
    canonical key order), ``features`` (rows x features, float64) and ``labels`` (or None).

    Because ids are partitioned by the stable key hash and sorted, two parties holding the
    same ids in datasets of the same partition count get row-aligned blocks.
    """

    ids: npt.NDArray[np.object_]
    features: npt.NDArray[np.float64]
    labels: npt.NDArray[Any] | None

    def __len__(self) -> int:
        return len(self.ids)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Block, (self.ids, self.features, self.labels))

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[Any, Row]], num_features: int, label_dtype: str | None
    ) -> Block:
        """Stack (id, (features, label)) rows into a block sorted by canonical id order."""
        ordered = sorted(rows, key=lambda row: canonical_key(row[0]))
        ids = np.empty(len(ordered), dtype=object)
        ids[:] = [row[0] for row in ordered]
        if ordered:
            features = np.vstack([row[1][0] for row in ordered]).astype(np.float64, copy=False)
        else:
            features = np.zeros((0, num_features), dtype=np.float64)
        labels = None
        if label_dtype is not None:
            labels = np.array([row[1][1] for row in ordered], dtype=label_dtype)
        return cls(ids, features, labels)

    def rows(self) -> Iterator[tuple[Any, Row]]:
        """The block as (id, (feature vector, label or None)) rows."""
        labels = self.labels.tolist() if self.labels is not None else [None] * len(self.ids)
        for index, key in enumerate(self.ids.tolist()):
            yield key, (self.features[index].copy(), labels[index])


def _block_rows(index: int, block: Block) -> Iterator[tuple[Any, Row]]:
    return block.rows()


def _block_ids(index: int, block: Block) -> Iterator[tuple[Any, None]]:
    return ((key, None) for key in block.ids.tolist())


def _block_size(block: Block) -> int:
    return len(block)


@dataclass(frozen=True, slots=True)
class _RowsToBlock:
    num_features: int
    label_dtype: str | None

    def __call__(self, index: int, rows: Iterator[tuple[Any, Row]]) -> list[tuple[int, Block]]:
        return [(index, Block.from_rows(rows, self.num_features, self.label_dtype))]


class Dataset:
    """A schema and a table of numeric blocks, one per partition of the id partitioning.

    ``blocks`` maps partition index j (0..partitions-1) to the `Block` of ids whose stable key
    hash falls in partition j. Algorithms iterate blocks; `rows` gives the per-id view for
    joins (e.g. intersecting ids) and `from_rows` turns such a table back into blocks.
    """

    def __init__(self, schema: Schema, blocks: Table[int, Block]) -> None:
        self.schema = schema
        self.blocks = blocks

    @property
    def partitions(self) -> int:
        """Number of blocks (the partition count of the id partitioning)."""
        return self.blocks.partitions

    def count(self) -> int:
        """Number of rows."""
        return sum(size for _, size in self.blocks.mapValues(_block_size).collect())

    def collect_blocks(self) -> list[Block]:
        """All blocks in partition-index order (to the driver)."""
        return [block for _, block in sorted(self.blocks.collect(), key=lambda kv: kv[0])]

    def rows(self) -> Table[Any, Row]:
        """A table keyed by id whose values are (feature vector, label or None)."""
        return self.blocks.flatMap(_block_rows)

    def ids(self) -> Table[Any, None]:
        """A table of the ids (values None), e.g. for private set intersection."""
        return self.blocks.flatMap(_block_ids)

    @classmethod
    def from_rows(cls, schema: Schema, rows: Table[Any, Row]) -> Dataset:
        """Blocks from a row table (as made by `rows`), one per partition of ``rows``."""
        convert = _RowsToBlock(schema.num_features, schema.label_dtype)
        return cls(schema, rows.mapPartitionsWithIndex(convert))

    def __repr__(self) -> str:
        schema = self.schema
        return (
            f"<Dataset id={schema.id_name!r} features={schema.num_features} "
            f"blocks={self.partitions}>"
        )
