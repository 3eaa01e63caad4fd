"""Per-feature summary statistics of one party's own columns (and the guest's label)."""

# For each column, over its non-missing values x_1…x_n out of N rows: count n, missing ratio
# (N − n)/N, mean, std with `ddof` (1: the sample std, as pandas' describe; 0: population),
# min, max, and quantiles by linear interpolation between order statistics (numpy's and
# pandas' default, Hyndman & Fan type 7). A column without values has count 0, missing
# ratio 1 and null for everything else; a single value has a null sample std (ddof 1).

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["describe_column", "describe_features", "describe_label"]


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def describe_column(
    values: npt.NDArray[np.float64], quantiles: Sequence[float], ddof: int
) -> dict[str, Any]:
    """The statistics of one column as a JSON-able dict (None where undefined)."""
    rows = len(values)
    present = values[~np.isnan(values)]
    n = len(present)
    stats: dict[str, Any] = {
        "count": n,
        "missing_ratio": (rows - n) / rows if rows else 0.0,
    }
    if n == 0:
        stats.update(mean=None, std=None, min=None, max=None)
        stats["quantiles"] = {str(q): None for q in quantiles}
        return stats
    stats["mean"] = float(present.mean())
    stats["std"] = _finite(float(present.std(ddof=ddof))) if n > ddof else None
    stats["min"], stats["max"] = float(present.min()), float(present.max())
    points: list[float] = np.quantile(present, list(quantiles)).tolist() if quantiles else []
    stats["quantiles"] = {str(q): float(v) for q, v in zip(quantiles, points, strict=True)}
    return stats


def describe_features(
    names: Sequence[str],
    features: npt.NDArray[np.float64],
    quantiles: Sequence[float],
    ddof: int = 1,
) -> dict[str, dict[str, Any]]:
    """Statistics of every named column of `features` (one column per name)."""
    return {name: describe_column(features[:, j], quantiles, ddof) for j, name in enumerate(names)}


def describe_label(
    labels: npt.NDArray[Any], quantiles: Sequence[float], ddof: int = 1
) -> dict[str, Any]:
    """Label statistics: class counts for integral labels, plus the numeric summary."""
    stats = describe_column(labels.astype(np.float64), quantiles, ddof)
    if labels.dtype.kind in "biu":
        classes, counts = np.unique(labels, return_counts=True)
        stats["classes"] = {str(c): int(k) for c, k in zip(classes.tolist(), counts, strict=True)}
    return stats
