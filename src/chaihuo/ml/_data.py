"""A party's dataset as aligned numpy arrays, its checks before training, and row alignment."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.federation import ProtocolViolationError

__all__ = [
    "DataArrays",
    "PartyData",
    "check_aligned",
    "check_features",
    "dataset_arrays",
    "id_digest",
    "label_classes",
    "one_vs_rest_targets",
    "training_arrays",
]

_LOG = logging.getLogger("chaihuo.ml")


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
            "partition count before a vertical algorithm",
            public=True,
        )


@dataclass(frozen=True)
class PartyData:
    """One data set (train, validate or test) of one party, in aligned row order."""

    ids: npt.NDArray[Any]
    features: npt.NDArray[np.float64]
    labels: npt.NDArray[Any] | None
    feature_names: tuple[str, ...]
    digest: bytes

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.ids)


def training_arrays(dataset: object, *, host: bool, usage: str, component: str) -> DataArrays:
    """Arrays of a vertical algorithm's `usage` input; refuses a non-dataset, a label column on
    a host (only the guest may hold labels) and an empty dataset, naming the cause."""
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"`{usage}` input is not a dataset", got=type(dataset).__name__)
    arrays = dataset_arrays(dataset)
    if host and arrays.labels is not None:
        raise InvalidInputError(
            f"host `{usage}` data has a label column {dataset.schema.label_name!r}: only the "
            f"guest may hold labels in {component} (leave `label` unset in the host's reader)",
            public=f"host `{usage}` data has a label column: only the guest may hold labels "
            f"in {component} (leave `label` unset in the host's reader)",
        )
    if arrays.rows == 0:
        raise InvalidInputError(f"`{usage}` data has no rows", public=True)
    return arrays


def check_features(names: tuple[str, ...], features: npt.NDArray[np.float64], usage: str) -> None:
    """Refuse missing or infinite feature values (fill them in the reader first); keep constant
    columns with a warning (their weight only duplicates the intercept; L2 keeps it bounded)."""
    finite = np.isfinite(features)
    if not finite.all():
        bad = [names[j] for j in np.flatnonzero(~finite.all(axis=0)).tolist()]
        empty = [names[j] for j in np.flatnonzero(~finite.any(axis=0)).tolist()]
        what = f"{len(empty)} all-missing and " if empty else ""
        raise InvalidInputError(
            f"`{usage}` data has {what}{len(bad)} feature column(s) with missing or infinite "
            "values: fill them in the reader (or drop the columns) before training",
            public=f"`{usage}` data has feature columns with missing or infinite values: fill "
            "them in the reader (or drop the columns) before training",
            columns=bad[:20],
        )
    if features.shape[0] > 1:
        constant = np.flatnonzero(np.ptp(features, axis=0) == 0).tolist()
        if constant:
            _LOG.warning(
                "`%s` data has %d constant feature column(s) %s: kept (they act as a second "
                "intercept)",
                usage,
                len(constant),
                [names[j] for j in constant[:20]],
            )


def label_classes(labels: npt.NDArray[Any] | None, component: str) -> list[Any]:
    """The sorted classes of the guest's label (one one-vs-rest model each when more than 2)."""
    if labels is None:
        raise InvalidInputError(
            f"{component} needs a label column in the guest's `train` data", public=True
        )
    classes = [c.item() if hasattr(c, "item") else c for c in np.unique(labels)]
    if len(classes) < 2:
        raise InvalidInputError(f"the label has a single class {classes}: nothing to learn")
    return classes


def one_vs_rest_targets(classes: list[Any], labels: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """One 0/1 target row per model: binary → the larger class is 1; K > 2 → one per class."""
    if len(classes) == 2:
        return np.asarray(labels == classes[1], dtype=np.float64).reshape(1, -1)
    return np.stack([(labels == c).astype(np.float64) for c in classes])
