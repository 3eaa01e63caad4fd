"""A party's rows for the GLM protocol: features, labels, exposure, checked before training."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.ml._data import dataset_arrays, id_digest
from chaihuo.ml.glm._family import Family

__all__ = ["PartyData", "encode_labels", "label_matrix", "party_data"]

_LOG = logging.getLogger("chaihuo.ml.glm")


@dataclass(frozen=True)
class PartyData:
    """One data set (train, validate or test) of one party, in aligned row order."""

    ids: npt.NDArray[Any]
    features: npt.NDArray[np.float64]
    labels: npt.NDArray[Any] | None
    feature_names: tuple[str, ...]
    exposure: npt.NDArray[np.float64] | None
    digest: bytes

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.ids)


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
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"`{usage}` input is not a dataset", got=type(dataset).__name__)
    arrays = dataset_arrays(dataset)
    if host and arrays.labels is not None:
        raise InvalidInputError(
            f"host `{usage}` data has a label column {dataset.schema.label_name!r}: only the "
            "guest may hold labels (leave `label` unset in the host's reader)"
        )
    if arrays.rows == 0:
        raise InvalidInputError(f"`{usage}` data has no rows")
    names, features = arrays.feature_names, arrays.features
    exposure = None
    if exposure_colname is not None:
        names, features, exposure = _split_exposure(names, features, exposure_colname, usage)
    _check_features(names, features, usage)
    return PartyData(arrays.ids, features, arrays.labels, names, exposure, id_digest(arrays.ids))


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


def _check_features(names: tuple[str, ...], features: npt.NDArray[np.float64], usage: str) -> None:
    finite = np.isfinite(features)
    if not finite.all():
        bad = [names[j] for j in np.flatnonzero(~finite.all(axis=0)).tolist()]
        empty = [names[j] for j in np.flatnonzero(~finite.any(axis=0)).tolist()]
        what = f"{len(empty)} all-missing and " if empty else ""
        raise InvalidInputError(
            f"`{usage}` data has {what}{len(bad)} feature column(s) with missing or infinite "
            "values: fill them in the reader (or drop the columns) before training",
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


def encode_labels(family: Family, labels: npt.NDArray[Any] | None) -> list[Any]:
    """The classes of a logistic model (sorted; one OvR model per class when more than two)."""
    if labels is None:
        raise InvalidInputError(
            f"{family.component} needs a label column in the guest's `train` data"
        )
    if family.name != "logistic":
        values = labels.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise InvalidInputError("labels must be finite numbers")
        if family.name == "poisson" and np.any(values < 0):
            raise InvalidInputError("Poisson regression needs non-negative count labels")
        return []
    classes = [c.item() if hasattr(c, "item") else c for c in np.unique(labels)]
    if len(classes) < 2:
        raise InvalidInputError(f"the label has a single class {classes}: nothing to learn")
    return classes


def label_matrix(
    family: Family, classes: list[Any], labels: npt.NDArray[Any]
) -> npt.NDArray[np.float64]:
    """One target row per model: y ∈ {0, 1} per OvR class (binary: the larger class), or y."""
    if family.name != "logistic":
        return np.asarray(labels, dtype=np.float64).reshape(1, -1)
    if len(classes) == 2:
        return np.asarray(labels == classes[1], dtype=np.float64).reshape(1, -1)
    return np.stack([(labels == c).astype(np.float64) for c in classes])


def models_for(family: Family, classes: list[Any]) -> int:
    """How many linear models the run fits (K for K > 2 classes, else 1)."""
    return len(classes) if family.name == "logistic" and len(classes) > 2 else 1
