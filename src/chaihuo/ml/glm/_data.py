"""A party's rows for the GLM protocol: features, labels, exposure, checked before training."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.ml._data import PartyData as BasePartyData
from chaihuo.ml._data import (
    check_features,
    id_digest,
    label_classes,
    one_vs_rest_targets,
    training_arrays,
)
from chaihuo.ml.glm._family import Family

__all__ = ["PartyData", "encode_labels", "label_matrix", "party_data"]

_LOG = logging.getLogger("chaihuo.ml.glm")


@dataclass(frozen=True)
class PartyData(BasePartyData):
    """One data set of one party, in aligned row order, with its exposure (Poisson)."""

    exposure: npt.NDArray[np.float64] | None = None


def party_data(
    dataset: Dataset,
    *,
    host: bool,
    usage: str,
    exposure_colname: str | None = None,
) -> PartyData:
    """Arrays of `dataset`, refusing what the protocol cannot use (with the reason).

    Refused: a label column on a host (only the guest may hold labels), missing or infinite
    feature values (fill them in the reader first), no rows. Constant columns are kept with a
    warning: their weight only duplicates the intercept and the L2 penalty keeps it bounded.
    """
    arrays = training_arrays(dataset, host=host, usage=usage, component="a vertical GLM")
    names, features = arrays.feature_names, arrays.features
    exposure = None
    if exposure_colname is not None:
        names, features, exposure = _split_exposure(names, features, exposure_colname, usage)
    check_features(names, features, usage)
    return PartyData(
        ids=arrays.ids, features=features, labels=arrays.labels, feature_names=names,
        digest=id_digest(arrays.ids), exposure=exposure,
    )  # fmt: skip


def _split_exposure(
    names: tuple[str, ...], features: npt.NDArray[np.float64], column: str, usage: str
) -> tuple[tuple[str, ...], npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    if column not in names:
        # FATE's dvisits example names an exposure column the data lacks: exposure 1.
        _LOG.warning("exposure column %r not in `%s` data: using exposure 1", column, usage)
        return names, features, None
    index = names.index(column)
    exposure = features[:, index].copy()
    if not np.all(np.isfinite(exposure)) or np.any(exposure <= 0):
        raise InvalidInputError(f"exposure column {column!r} of `{usage}` must be positive")
    kept = tuple(n for i, n in enumerate(names) if i != index)
    return kept, np.delete(features, index, axis=1), exposure


def encode_labels(family: Family, labels: npt.NDArray[Any] | None) -> list[Any]:
    """The classes of a logistic model (sorted; one OvR model per class when more than two)."""
    if family.name != "logistic" and labels is not None:
        values = labels.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise InvalidInputError("labels must be finite numbers")
        if family.name == "poisson" and np.any(values < 0):
            raise InvalidInputError("Poisson regression needs non-negative count labels")
        return []
    return label_classes(labels, family.component)


def label_matrix(
    family: Family, classes: list[Any], labels: npt.NDArray[Any]
) -> npt.NDArray[np.float64]:
    """One target row per model: y ∈ {0, 1} per OvR class (binary: the larger class), or y."""
    if family.name != "logistic":
        return np.asarray(labels, dtype=np.float64).reshape(1, -1)
    return one_vs_rest_targets(classes, labels)


def models_for(family: Family, classes: list[Any]) -> int:
    """How many linear models the run fits (K for K > 2 classes, else 1)."""
    return len(classes) if family.name == "logistic" and len(classes) > 2 else 1
