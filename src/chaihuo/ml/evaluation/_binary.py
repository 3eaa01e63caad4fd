"""Binary classification metrics: exact AUC, ROC, KS, lift and gain, threshold metrics."""

# Conventions. `y_score` is the model's score for the positive class (P(y = pos_label));
# a row is predicted positive when its score is ≥ the threshold (as `Predictions.predicted`).
# Every metric here is computed exactly from sorted scores, tie-aware, with no binning of the
# score axis (FATE cuts scores into 100 quantile buckets for KS; the exact maximum is ≥ that).

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.ml.evaluation._common import (
    EvaluationError,
    FloatArray,
    as_scores,
    as_targets,
    native,
    safe_ratio,
)

__all__ = [
    "BinaryConfusion",
    "LiftGainRow",
    "RocCurve",
    "binarize",
    "confusion_at",
    "ks_statistic",
    "lift_gain",
    "roc_auc",
    "roc_curve",
]

BoolArray = npt.NDArray[np.bool_]


def _coerce_label(pos_label: Any, labels: npt.NDArray[Any]) -> Any:
    """`pos_label` in the labels' own type: "1" for string labels, 1.0 for numeric ones."""
    if labels.dtype.kind in "US":
        return str(pos_label)
    if isinstance(pos_label, str) and labels.dtype.kind in "biuf":
        try:
            return float(pos_label)
        except ValueError as exc:
            raise EvaluationError(
                f"pos_label={pos_label!r} is not a number, but the labels are numeric"
            ) from exc
    return pos_label


def binarize(y_true: Any, pos_label: Any = 1, *, what: str = "labels") -> BoolArray:
    """True where the label is `pos_label`. At most two distinct labels are allowed, and when
    there are two, `pos_label` must be one of them (otherwise every row would be negative)."""
    labels = as_targets(y_true, what)
    target = _coerce_label(pos_label, labels)
    distinct = list(dict.fromkeys(labels.tolist()))
    if len(distinct) > 2:
        shown = ", ".join(repr(v) for v in distinct[:5])
        raise EvaluationError(
            f"{what}: binary evaluation needs at most 2 distinct labels, got {len(distinct)} "
            f"({shown}{', ...' if len(distinct) > 5 else ''})"
        )
    positive: BoolArray = np.asarray(labels == target, dtype=np.bool_)
    if len(distinct) == 2 and not positive.any():
        raise EvaluationError(
            f"{what}: pos_label={pos_label!r} is not one of the labels {sorted(map(str, distinct))}"
        )
    return positive


def _both_classes(positive: BoolArray, metric: str, pos_label: Any) -> tuple[int, int]:
    n_pos = int(np.count_nonzero(positive))
    n_neg = positive.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        which = "positive" if n_neg == 0 else "negative"
        raise EvaluationError(
            f"{metric} is undefined when the labels hold a single class: all "
            f"{positive.shape[0]} rows are {which} (pos_label={pos_label!r})"
        )
    return n_pos, n_neg


def _inputs(y_true: Any, y_score: Any, pos_label: Any) -> tuple[BoolArray, FloatArray]:
    positive = binarize(y_true, pos_label)
    scores = as_scores(y_score, "scores", rows=positive.shape[0])
    if scores.ndim != 1:
        raise EvaluationError(f"binary scores must be one-dimensional, got shape {scores.shape}")
    return positive, scores


@dataclass(frozen=True)
class RocCurve:
    """ROC points from (0, 0) to (1, 1); `thresholds[i]` is the score cut of point i (the first
    is +inf: nothing predicted positive)."""

    fpr: FloatArray
    tpr: FloatArray
    thresholds: FloatArray

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: lists, with the leading +inf threshold written as null."""
        cuts: list[float | None] = [None, *self.thresholds[1:].tolist()]
        return {"fpr": self.fpr.tolist(), "tpr": self.tpr.tolist(), "thresholds": cuts}


def roc_curve(
    y_true: Any, y_score: Any, *, pos_label: Any = 1, drop_intermediate: bool = False
) -> RocCurve:
    """One point per distinct score (all rows with that score flip together, so ties are
    handled exactly). `drop_intermediate` drops points collinear with their neighbours (zero
    second difference of both counts), which leaves the curve and its area unchanged."""
    positive, scores = _inputs(y_true, y_score, pos_label)
    _both_classes(positive, "the ROC curve", pos_label)
    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], positive[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), ranked.shape[0] - 1]
    tps = np.cumsum(hits, dtype=np.int64)[ends]
    fps = ends + 1 - tps
    cuts = ranked[ends]
    if drop_intermediate and tps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps, cuts = tps[keep], fps[keep], cuts[keep]
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    return RocCurve(
        fpr=fps / fps[-1],
        tpr=tps / tps[-1],
        thresholds=np.r_[np.inf, cuts].astype(np.float64),
    )


def roc_auc(y_true: Any, y_score: Any, *, pos_label: Any = 1) -> float:
    """Area under the ROC curve, exactly, with ties counted half.

    AUC = P(s⁺ > s⁻) + ½ P(s⁺ = s⁻), the Mann-Whitney U statistic over n⁺n⁻ (Mann & Whitney
    1947; Hanley & McNeil 1982): U = R⁺ − n⁺(n⁺+1)/2 with R⁺ the sum of the positives' ranks,
    tied scores sharing their mid-rank. Twice every mid-rank is an integer, so 2U is computed in
    integers and the one division is the only rounding.
    """
    positive, scores = _inputs(y_true, y_score, pos_label)
    n_pos, n_neg = _both_classes(positive, "auc", pos_label)
    order = np.argsort(scores, kind="mergesort")
    ranked = scores[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ranked)) + 1]
    stops = np.r_[starts[1:], ranked.shape[0]]
    # Ranks are 1-based: a tie group at positions [start, stop) has mid-rank (start+1+stop)/2.
    twice_mid_rank = (starts + stops + 1).astype(np.int64)
    positives_per_group = np.add.reduceat(positive[order].astype(np.int64), starts)
    twice_rank_sum = int(np.dot(positives_per_group, twice_mid_rank))
    twice_u = twice_rank_sum - n_pos * (n_pos + 1)
    return twice_u / (2 * n_pos * n_neg)


def ks_statistic(y_true: Any, y_score: Any, *, pos_label: Any = 1) -> float:
    """Kolmogorov-Smirnov statistic as credit scoring uses it: max over thresholds of
    TPR − FPR, the largest gap between the score CDFs of negatives and positives."""
    curve = roc_curve(y_true, y_score, pos_label=pos_label)
    return float(np.max(curve.tpr - curve.fpr))


@dataclass(frozen=True)
class BinaryConfusion:
    """Counts at one threshold (predicted positive ⇔ score ≥ threshold) and their ratios."""

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 0 when nothing is predicted positive."""
        return safe_ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 0 when there are no positives."""
        return safe_ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall, 2tp / (2tp + fp + fn); 0 when tp = 0."""
        return safe_ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float:
        """(tp + tn) / n."""
        return safe_ratio(self.tp + self.tn, self.tp + self.fp + self.tn + self.fn)

    def matrix(self) -> list[list[int]]:
        """[[tn, fp], [fn, tp]]: rows are true (negative, positive), columns predicted."""
        return [[self.tn, self.fp], [self.fn, self.tp]]

    def as_dict(self) -> dict[str, Any]:
        """Counts and ratios, JSON-able."""
        ratios = {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "accuracy": self.accuracy,
        }
        return {**asdict(self), **ratios}


def confusion_at(
    y_true: Any, y_score: Any, threshold: float, *, pos_label: Any = 1
) -> BinaryConfusion:
    """The confusion counts when rows scoring ≥ `threshold` are called positive."""
    positive, scores = _inputs(y_true, y_score, pos_label)
    predicted = scores >= threshold
    tp = int(np.count_nonzero(predicted & positive))
    fp = int(np.count_nonzero(predicted & ~positive))
    fn = int(np.count_nonzero(~predicted & positive))
    return BinaryConfusion(float(threshold), tp, fp, positive.shape[0] - tp - fp - fn, fn)


@dataclass(frozen=True)
class LiftGainRow:
    """One cut of the ranked population: the rows scoring ≥ `threshold`.

    `depth` is the share of rows selected (≥ bin/bins; more when ties straddle the cut),
    `gain` the share of all positives captured (cumulative recall), `lift` the positive rate
    of the selection over the overall positive rate (= gain / depth).
    """

    bin: int
    threshold: float
    count: int
    positives: int
    depth: float
    gain: float
    lift: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        return {key: native(value) for key, value in asdict(self).items()}


def lift_gain(
    y_true: Any, y_score: Any, *, pos_label: Any = 1, bins: int = 10
) -> list[LiftGainRow]:
    """Cumulative lift and gain by score quantile (deciles by default), as FATE reports them:
    cut k selects the top ⌈k·n/bins⌉ rows by score, widened to every row tied with the last
    one, so that each cut is a threshold rule a model can actually apply."""
    if bins < 1:
        raise EvaluationError(f"lift/gain need at least one bin, got {bins}")
    positive, scores = _inputs(y_true, y_score, pos_label)
    n = scores.shape[0]
    n_pos = int(np.count_nonzero(positive))
    if n_pos == 0:
        raise EvaluationError(
            f"lift and gain are undefined without positives (pos_label={pos_label!r})"
        )
    ascending = np.sort(scores)
    positive_scores = np.sort(scores[positive])
    rows = []
    for k in range(1, bins + 1):
        top = -(-k * n // bins)  # ⌈k·n/bins⌉, in integers
        cut = float(ascending[n - top])
        count = n - int(np.searchsorted(ascending, cut, side="left"))
        hits = n_pos - int(np.searchsorted(positive_scores, cut, side="left"))
        depth, gain = count / n, hits / n_pos
        rows.append(LiftGainRow(k, cut, count, hits, depth, gain, gain / depth))
    return rows
