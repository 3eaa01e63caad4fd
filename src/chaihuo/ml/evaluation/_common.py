"""Input checks shared by the metric families: lengths, emptiness, finiteness, label coercion."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError

__all__ = ["EvaluationError", "as_scores", "as_targets", "native", "safe_ratio"]

FloatArray = npt.NDArray[np.float64]


class EvaluationError(InvalidInputError):
    """Predictions or labels that a metric cannot be computed on; the message names the metric
    and what was wrong with its input."""


def as_scores(values: Any, what: str, *, rows: int | None = None) -> FloatArray:
    """A 1-D (or, for multi-class scores, 2-D) finite float array, non-empty."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"{what}: values are not numbers ({exc})") from exc
    if array.ndim == 0 or array.shape[0] == 0:
        raise EvaluationError(f"{what}: no rows to evaluate (empty input)")
    if rows is not None and array.shape[0] != rows:
        raise EvaluationError(f"{what}: {array.shape[0]} rows, but the labels have {rows}")
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise EvaluationError(f"{what}: {bad} value(s) are NaN or infinite")
    return array


def as_targets(values: Any, what: str) -> npt.NDArray[Any]:
    """A non-empty 1-D label array (any dtype); missing labels (NaN, None) are refused."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise EvaluationError(f"{what}: labels must be one-dimensional, got shape {array.shape}")
    if array.shape[0] == 0:
        raise EvaluationError(f"{what}: no rows to evaluate (empty input)")
    if array.dtype == object and any(v is None for v in array.tolist()):
        raise EvaluationError(f"{what}: some labels are missing (None)")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise EvaluationError(f"{what}: some labels are NaN or infinite (missing labels?)")
    return array


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, defined as 0.0 when the denominator is 0 (scikit-learn's
    `zero_division=0` convention for precision, recall and F1)."""
    return float(numerator) / float(denominator) if denominator else 0.0


def native(value: Any) -> Any:
    """A numpy scalar or array as plain Python (JSON-able) values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
