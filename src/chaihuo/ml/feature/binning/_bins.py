"""Bin edges (exact or approximate quantiles, equal width), bin assignment and per-bin counts."""

# Conventions (FATE's, so models read the same):
# * A feature's bins are given by its split points s_0 < s_1 < … < s_{m−1}, the last one the
#   largest value seen in fitting. Bin k holds the values v with s_{k−1} < v ≤ s_k (bin 0:
#   v ≤ s_0), i.e. k = bisect_left(s, v); values above s_{m−1} (unseen in fitting) go to the
#   last bin.
# * Missing values (NaN) get their own bin, index m, after the regular bins. A feature with
#   no value at all in fitting has m = 0 split points: every row lands in bin 0, the missing
#   bin. A constant feature has one split point and one regular bin. Neither divides by zero.
# * Quantile split points are the values at ranks ⌈k·n/B⌉ (k = 1…B) of the n sorted
#   non-missing values, i.e. the smallest value whose empirical CDF reaches k/B (numpy's
#   "inverted_cdf" quantile), computed in exact integer arithmetic; repeated values collapse,
#   so a feature can have fewer than B bins.
# * Bucket (equal-width) split points are min + k·(max − min)/B for k = 1…B−1, then max.

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError

__all__ = [
    "QuantileSummary",
    "assign_bins",
    "bin_counts",
    "bucket_points",
    "quantile_points",
    "ranks_for",
    "summary_points",
]

Vector = npt.NDArray[np.float64]


def ranks_for(count: int, bins: int) -> npt.NDArray[np.int64]:
    """1-based ranks ⌈k·count/bins⌉ for k = 1…bins (exact integers)."""
    return np.array([-(-k * count // bins) for k in range(1, bins + 1)], dtype=np.int64)


def quantile_points(values: Vector, bins: int) -> Vector:
    """Exact quantile split points of one feature (missing values ignored)."""
    present = np.sort(values[~np.isnan(values)])
    if len(present) == 0:
        return np.zeros(0, dtype=np.float64)
    chosen = present[ranks_for(len(present), bins) - 1]
    return np.unique(chosen)


def bucket_points(values: Vector, bins: int) -> Vector:
    """Equal-width split points between the feature's minimum and maximum."""
    present = values[~np.isnan(values)]
    if len(present) == 0:
        return np.zeros(0, dtype=np.float64)
    low, high = float(present.min()), float(present.max())
    inner = [low + k * (high - low) / bins for k in range(1, bins)]
    return np.unique(np.array([*inner, high], dtype=np.float64))


def assign_bins(values: Vector, points: Vector) -> npt.NDArray[np.int64]:
    """Bin index of every value: bisect_left into the split points, missing → len(points)."""
    missing = np.isnan(values)
    index = np.searchsorted(points, values, side="left").astype(np.int64)
    np.minimum(index, max(len(points) - 1, 0), out=index)
    index[missing] = len(points)
    return index


def bin_counts(
    bins: npt.NDArray[np.int64], size: int, labels: npt.NDArray[np.int64] | None = None
) -> npt.NDArray[np.int64]:
    """Rows per bin (labels None) or events (label 1) per bin, for bins 0…size−1."""
    weights = None if labels is None else labels.astype(np.float64)
    counts = np.bincount(bins, weights=weights, minlength=size)
    return np.rint(counts).astype(np.int64)


@dataclass(frozen=True)
class QuantileSummary:
    """A mergeable rank summary: sorted values with weights (how many rows each stands for).

    Built from n sorted values by keeping those at ranks ⌈j·n/m⌉, j = 1…m, each weighted by
    the ranks it covers: any rank query then errs by at most n/m. Merging concatenates and
    re-sorts, so the errors add up to at most N/m over all parts: with m = ⌈1/ε⌉ the
    merged summary answers every quantile within ε·N ranks (the guarantee FATE's
    Greenwald–Khanna summaries give with their `error` parameter; Greenwald & Khanna,
    SIGMOD 2001). Parts with at most m values are kept whole, so small data stays exact.
    """

    values: Vector
    weights: npt.NDArray[np.int64]

    @classmethod
    def build(cls, values: Vector, error: float) -> QuantileSummary:
        """The summary of one part's values (missing ones ignored)."""
        if not 0.0 < error < 1.0:
            raise InvalidInputError("the quantile error must lie in (0, 1)", error=error)
        present = np.sort(values[~np.isnan(values)])
        size = math.ceil(1.0 / error)
        if len(present) <= size:
            return cls(present, np.ones(len(present), dtype=np.int64))
        ranks = ranks_for(len(present), size)
        weights = np.diff(np.concatenate([[0], ranks]))
        return cls(present[ranks - 1], weights.astype(np.int64))

    @classmethod
    def merge(cls, parts: Sequence[QuantileSummary]) -> QuantileSummary:
        """One summary standing for all parts' rows."""
        if not parts:
            return cls(np.zeros(0), np.zeros(0, dtype=np.int64))
        values = np.concatenate([p.values for p in parts])
        weights = np.concatenate([p.weights for p in parts])
        order = np.argsort(values, kind="stable")
        return cls(values[order], weights[order])

    @property
    def count(self) -> int:
        """Number of rows summarised."""
        return int(self.weights.sum())


def summary_points(summary: QuantileSummary, bins: int) -> Vector:
    """Quantile split points from a summary: the first value whose cumulative weight reaches
    each rank ⌈k·N/B⌉ (the exact rule of `quantile_points` when the summary is whole)."""
    if summary.count == 0:
        return np.zeros(0, dtype=np.float64)
    cumulative = np.cumsum(summary.weights)
    positions = np.searchsorted(cumulative, ranks_for(summary.count, bins), side="left")
    return np.unique(summary.values[positions])
