"""A party's rows for SSHE LR: aligned arrays, checked before any message is sent."""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml._data import (
    PartyData,
    check_features,
    id_digest,
    label_classes,
    training_arrays,
)
from chaihuo.ml._data import one_vs_rest_targets as target_rows

__all__ = ["PartyData", "class_labels", "party_data", "target_rows"]


def party_data(dataset: object, *, host: bool, usage: str) -> PartyData:
    """Arrays of `dataset`, refusing what the protocol cannot use (with the reason).

    Refused: a label column on the host (only the guest may hold labels), missing or infinite
    feature values, no rows, no feature columns on the host. Constant columns are kept with a
    warning.
    """
    arrays = training_arrays(dataset, host=host, usage=usage, component="hetero_sshe_lr")
    if arrays.features.shape[1] == 0 and host:
        raise InvalidInputError(f"host `{usage}` data has no feature columns")
    check_features(arrays.feature_names, arrays.features, usage)
    return PartyData(
        arrays.ids, arrays.features, arrays.labels, arrays.feature_names, id_digest(arrays.ids)
    )


def class_labels(labels: npt.NDArray[Any] | None) -> list[Any]:
    """The sorted classes of the guest's label (one one-vs-rest model each when more than 2)."""
    return label_classes(labels, "hetero_sshe_lr")
