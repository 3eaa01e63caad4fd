"""A party's rows for SSHE LR: aligned arrays, checked before any message is sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.ml._data import dataset_arrays, id_digest

__all__ = ["PartyData", "class_labels", "party_data", "target_rows"]

_LOG = logging.getLogger("chaihuo.ml.sshe")


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


def party_data(dataset: object, *, host: bool, usage: str) -> PartyData:
    """Arrays of `dataset`, refusing what the protocol cannot use (with the reason).

    Refused: a label column on the host (only the guest may hold labels), missing or infinite
    feature values, no rows, no feature columns. Constant columns are kept with a warning.
    """
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"`{usage}` input is not a dataset", got=type(dataset).__name__)
    arrays = dataset_arrays(dataset)
    if host and arrays.labels is not None:
        raise InvalidInputError(
            f"host `{usage}` data has a label column {dataset.schema.label_name!r}: only the "
            "guest may hold labels in hetero_sshe_lr (leave `label` unset in the host's reader)"
        )
    if arrays.rows == 0:
        raise InvalidInputError(f"`{usage}` data has no rows")
    features = arrays.features
    if features.shape[1] == 0 and host:
        raise InvalidInputError(f"host `{usage}` data has no feature columns")
    finite = np.isfinite(features)
    if not finite.all():
        bad = [arrays.feature_names[j] for j in np.flatnonzero(~finite.all(axis=0)).tolist()]
        raise InvalidInputError(
            f"`{usage}` data has {len(bad)} feature column(s) with missing or infinite values: "
            "fill them in the reader (or drop the columns) before training",
            columns=bad[:20],
        )
    if features.shape[0] > 1:
        constant = np.flatnonzero(np.ptp(features, axis=0) == 0).tolist()
        if constant:
            _LOG.warning("`%s` data has %d constant feature column(s): kept", usage, len(constant))
    return PartyData(
        arrays.ids, features, arrays.labels, arrays.feature_names, id_digest(arrays.ids)
    )


def class_labels(labels: npt.NDArray[Any] | None) -> list[Any]:
    """The sorted classes of the guest's label (one one-vs-rest model each when more than 2)."""
    if labels is None:
        raise InvalidInputError("hetero_sshe_lr needs a label column in the guest's `train` data")
    classes = [c.item() if hasattr(c, "item") else c for c in np.unique(labels)]
    if len(classes) < 2:
        raise InvalidInputError(f"the label has a single class {classes}: nothing to learn")
    return classes


def target_rows(classes: list[Any], labels: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """One 0/1 target row per model: binary → the larger class is 1; K > 2 → one per class."""
    if len(classes) == 2:
        return np.asarray(labels == classes[1], dtype=np.float64).reshape(1, -1)
    return np.stack([(labels == c).astype(np.float64) for c in classes])
