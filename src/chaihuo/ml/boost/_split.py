"""Histograms of integer gradient sums, split gains and leaf values (XGBoost's formulas)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.ml.boost._bins import Bins
from chaihuo.ml.boost._params import BoostParams

__all__ = [
    "NodeSums", "Split", "best_split", "candidate_sums", "cumulative_sums", "histogram",
    "leaf_value",
]  # fmt: skip

Ints = npt.NDArray[np.int64]
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NodeSums:
    """Integer sums over a node's rows: Σg_i (offset removed), Σh_i, count."""

    grad: int
    hess: int
    count: int

    @classmethod
    def of(cls, gi: Ints, hi: Ints, ci: Ints, rows: Ints, offset: int) -> NodeSums:
        """Sums of the rows `rows` (`ci`: 1 for a row in this tree's sample, else 0; a row
        left out has g_i = h_i = 0, so only sampled rows carry the offset)."""
        count = int(ci[rows].sum())
        return cls(int(gi[rows].sum()) - count * offset, int(hi[rows].sum()), count)


@dataclass(frozen=True)
class Split:
    """The best candidate of one party for one node: its index among the party's candidates."""

    candidate: int
    gain: float


def histogram(bins: Bins, rows: Ints, gi: Ints, hi: Ints, ci: Ints) -> Ints:
    """The rows' (Σg_i, Σh_i, count) per column and bin: shape (3, columns, max bins)."""
    binned = bins.binned
    columns, width = binned.shape[1], max(bins.counts, default=1)
    keys = ((np.arange(columns, dtype=np.int64) * width)[None, :] + binned[rows]).reshape(-1)
    table = np.zeros((3, columns * width), dtype=np.int64)
    for k, weights in enumerate((gi[rows], hi[rows], ci[rows])):
        np.add.at(table[k], keys, np.repeat(weights, columns))
    return table.reshape(3, columns, width)


def candidate_sums(bins: Bins, table: Ints) -> tuple[Ints, Ints, Ints]:
    """(Σg_i, Σh_i, count) left of every candidate (in `bins.candidates` order) from a node's
    `histogram`: the bins up to each cut, plus the missing bin when missing cells go left."""
    column, cut, left, missing_bin = bins.candidate_arrays
    width = table.shape[2]
    sums = []
    for part in table:
        total = np.cumsum(part, axis=1)[column, cut]
        if bins.missing:
            total = total + np.where(left, part[column, np.minimum(missing_bin, width - 1)], 0)
        sums.append(total)
    return sums[0], sums[1], sums[2]


def cumulative_sums(
    bins: Bins, rows: Ints, gi: Ints, hi: Ints, ci: Ints
) -> tuple[Ints, Ints, Ints]:
    """(Σg_i, Σh_i, count) left of every candidate of the node holding `rows`."""
    return candidate_sums(bins, histogram(bins, rows, gi, hi, ci))


def _score(grad: Vector, hess: Vector, params: BoostParams) -> Vector:
    shrunk = np.sign(grad) * np.maximum(np.abs(grad) - params.l1, 0.0)
    return np.asarray(shrunk * shrunk / (hess + params.l2), dtype=np.float64)


def best_split(  # noqa: PLR0917 - the node's sums, the candidates' sums, the limits
    node: NodeSums, grad: Ints, hess: Ints, count: Ints, offset: int, scale: float,
    params: BoostParams,
) -> Split | None:  # fmt: skip
    """The candidate with the highest gain that meets every limit, or None. `grad` still holds
    the per-row offset (count·offset is removed here); `scale` = 2^−precision."""
    left_g = (grad - count * offset).astype(np.float64) * scale
    left_h = hess.astype(np.float64) * scale
    total_g, total_h = node.grad * scale, node.hess * scale
    right_g, right_h = total_g - left_g, total_h - left_h
    right_count = node.count - count
    gain = 0.5 * (
        _score(left_g, left_h, params)
        + _score(right_g, right_h, params)
        - _score(np.array([total_g]), np.array([total_h]), params)[0]
    )
    valid = (
        (count >= params.min_samples_leaf)
        & (right_count >= params.min_samples_leaf)
        & (left_h >= params.min_child_weight)
        & (right_h >= params.min_child_weight)
        & (gain > params.min_gain)
    )
    if not valid.any():
        return None
    masked = np.where(valid, gain, -np.inf)
    best = int(np.argmax(masked))
    return Split(best, float(masked[best]))


def leaf_value(node: NodeSums, scale: float, params: BoostParams) -> float:
    """−learning_rate · S(G) / (H + λ) of a leaf."""
    grad, hess = node.grad * scale, node.hess * scale
    shrunk = np.sign(grad) * max(abs(grad) - params.l1, 0.0)
    return float(-params.learning_rate * shrunk / (hess + params.l2))
