"""A party's dataset as aligned numpy arrays, and the cross-party check that rows line up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.federation import ProtocolViolationError

__all__ = ["DataArrays", "check_aligned", "dataset_arrays", "id_digest"]


@dataclass(frozen=True)
class DataArrays:
    """Rows in block order (partition index, then canonical id order within a partition).

    Two parties holding the same ids in datasets with the same partition count get the same
    row order, which is how vertical algorithms align guest and host rows without sending ids.
    """

    ids: npt.NDArray[Any]
    features: npt.NDArray[np.float64]
    labels: npt.NDArray[Any] | None
    feature_names: tuple[str, ...]

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.ids)


def dataset_arrays(dataset: Dataset) -> DataArrays:
    """Stack a dataset's blocks into one matrix (and label vector) in block order."""
    blocks = dataset.collect_blocks()
    schema = dataset.schema
    width = schema.num_features
    ids = np.concatenate([b.ids for b in blocks]) if blocks else np.empty(0, dtype=object)
    features = (
        np.vstack([b.features for b in blocks]) if blocks else np.zeros((0, width), np.float64)
    )
    labels = None
    if schema.label_name is not None:
        labels = np.concatenate([b.labels for b in blocks if b.labels is not None])
    return DataArrays(ids, features.astype(np.float64, copy=False), labels, schema.feature_names)


def id_digest(ids: npt.NDArray[Any]) -> bytes:
    """SHA-256 of the ordered ids: equal on two parties iff their rows line up."""
    hasher = hashlib.sha256()
    for key in ids.tolist():
        hasher.update(str(key).encode("utf-8") + b"\x00")
    return hasher.digest()


def check_aligned(mine: bytes, theirs: object, peer: str) -> None:
    """Raise unless the peer's id digest equals ours (same ids, same order)."""
    if not isinstance(theirs, bytes) or theirs != mine:
        raise ProtocolViolationError(
            f"rows are not aligned with {peer}: run psi (with share_with_hosts) on the same "
            "partition count before a vertical algorithm"
        )
