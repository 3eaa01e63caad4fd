"""Evaluate one `Predictions`: pick the metrics of its task kind, compute them, build a report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chaihuo.ml._predictions import Predictions
from chaihuo.ml.evaluation._binary import (
    RocCurve,
    binarize,
    confusion_at,
    ks_statistic,
    lift_gain,
    roc_auc,
    roc_curve,
)
from chaihuo.ml.evaluation._common import EvaluationError, native
from chaihuo.ml.evaluation._multiclass import multiclass_metrics, ovr_auc
from chaihuo.ml.evaluation._regression import REGRESSION_METRICS, regression_metrics

__all__ = [
    "ALL_METRICS",
    "DEFAULT_METRICS",
    "KIND_METRICS",
    "EvaluationResult",
    "evaluate",
]

LIFT_BINS = 10  # deciles

KIND_METRICS: dict[str, tuple[str, ...]] = {
    "binary": (
        "auc",
        "ks",
        "precision",
        "recall",
        "f1",
        "accuracy",
        "lift",
        "gain",
        "confusion_matrix",
        "roc",
    ),
    "multiclass": ("accuracy", "precision", "recall", "f1", "confusion_matrix", "auc"),
    "regression": REGRESSION_METRICS,
}
"""Every metric each task kind supports."""

DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "binary": KIND_METRICS["binary"],
    "multiclass": ("accuracy", "precision", "recall", "f1", "confusion_matrix"),
    "regression": ("rmse", "mae", "r2", "explained_variance", "median_ae"),
}
"""What is computed when a job names no metrics."""

ALL_METRICS: tuple[str, ...] = tuple(
    dict.fromkeys(name for names in KIND_METRICS.values() for name in names)
)

_THRESHOLD_METRICS = ("precision", "recall", "f1", "accuracy", "confusion_matrix")


@dataclass
class EvaluationResult:
    """`scalars` go to the metrics log; `report` (JSON-able) holds them and every table;
    `roc` is kept for plotting (binary, when "roc" was asked for)."""

    report: dict[str, Any]
    scalars: dict[str, float] = field(default_factory=dict)
    roc: RocCurve | None = None


def _chosen(kind: str, metrics: Sequence[str] | None) -> tuple[str, ...]:
    if metrics is None:
        return DEFAULT_METRICS[kind]
    wrong = [m for m in metrics if m not in KIND_METRICS[kind]]
    if wrong:
        raise EvaluationError(
            f"metric(s) {wrong} do not apply to {kind} predictions; "
            f"{kind} metrics: {', '.join(KIND_METRICS[kind])}"
        )
    return tuple(dict.fromkeys(metrics))


def _default_pos_label(predictions: Predictions) -> Any:
    """The model's positive class: the second of two declared classes, else 1."""
    return native(predictions.classes[1]) if len(predictions.classes) == 2 else 1


def _negative_label(predictions: Predictions, labels: np.ndarray[Any, Any], pos: Any) -> Any:
    candidates = list(predictions.classes) if len(predictions.classes) == 2 else labels.tolist()
    others = [native(c) for c in dict.fromkeys(candidates) if native(c) != pos]
    return others[0] if others else None


def _binary(
    predictions: Predictions,
    labels: np.ndarray[Any, Any],
    metrics: tuple[str, ...],
    pos_label: Any,
    thresholds: Sequence[float] | None,
) -> EvaluationResult:
    positive = binarize(labels, pos_label)
    scores = predictions.scores
    n_pos = int(np.count_nonzero(positive))
    report: dict[str, Any] = {"pos_label": native(pos_label), "positives": n_pos}
    report["negatives"] = positive.shape[0] - n_pos
    result = EvaluationResult(report)
    if "auc" in metrics:
        result.scalars["auc"] = roc_auc(positive, scores, pos_label=True)
    if "ks" in metrics:
        result.scalars["ks"] = ks_statistic(positive, scores, pos_label=True)
    if any(m in metrics for m in _THRESHOLD_METRICS):
        cuts = list(thresholds) if thresholds else [predictions.threshold]
        tables = [confusion_at(positive, scores, t, pos_label=True) for t in cuts]
        headline = tables[0]
        for name in ("precision", "recall", "f1", "accuracy"):
            if name in metrics:
                result.scalars[name] = float(getattr(headline, name))
        report["thresholds"] = [table.as_dict() for table in tables]
        if "confusion_matrix" in metrics:
            report["confusion_matrix"] = {
                "threshold": headline.threshold,
                "labels": [
                    _negative_label(predictions, labels, native(pos_label)),
                    native(pos_label),
                ],
                "matrix": headline.matrix(),
            }
    if "lift" in metrics or "gain" in metrics:
        rows = lift_gain(positive, scores, pos_label=True, bins=LIFT_BINS)
        report["lift_gain"] = [row.as_dict() for row in rows]
        if "lift" in metrics:
            result.scalars["lift_top_decile"] = rows[0].lift
        if "gain" in metrics:
            result.scalars["gain_top_decile"] = rows[0].gain
    if "roc" in metrics:
        result.roc = roc_curve(positive, scores, pos_label=True, drop_intermediate=True)
        report["roc"] = result.roc.as_dict()
    return result


def _overlap(labels: np.ndarray[Any, Any], classes: list[Any]) -> bool:
    """Whether any label is one of the classes (numerically when both are numbers)."""
    declared = np.asarray(classes)
    if labels.dtype.kind in "biuf" and declared.dtype.kind in "biuf":
        return bool(np.isin(labels, declared).any())
    return bool(set(map(str, labels.tolist())) & set(map(str, classes)))


def _multiclass(
    predictions: Predictions, labels: np.ndarray[Any, Any], metrics: tuple[str, ...]
) -> EvaluationResult:
    classes = [native(c) for c in predictions.classes]
    if predictions.scores.ndim != 2 or predictions.scores.shape[1] != len(classes):
        raise EvaluationError(
            f"multi-class scores must be (rows, {len(classes)} classes), "
            f"got shape {predictions.scores.shape}"
        )
    if not _overlap(labels, classes):
        raise EvaluationError(
            f"the labels share no value with the model's classes {classes}: "
            f"e.g. {labels[:3].tolist()}"
        )
    table = multiclass_metrics(labels, predictions.predicted())
    result = EvaluationResult({"average": "macro", "per_class": table.per_class()})
    if "accuracy" in metrics:
        result.scalars["accuracy"] = table.accuracy
    for name in ("precision", "recall", "f1"):
        if name in metrics:
            result.scalars[name] = table.macro(name)
    if "auc" in metrics:
        result.scalars["auc"] = ovr_auc(labels, predictions.scores, classes)
    if "confusion_matrix" in metrics:
        result.report["confusion_matrix"] = {
            "labels": table.classes,
            "matrix": table.matrix.tolist(),
        }
    return result


def evaluate(
    predictions: Predictions,
    *,
    metrics: Sequence[str] | None = None,
    pos_label: Any = None,
    thresholds: Sequence[float] | None = None,
) -> EvaluationResult:
    """Compute `metrics` (default: `DEFAULT_METRICS[kind]`) on predictions with true labels.

    Binary: `pos_label` (default: the second of the model's two classes, else 1) names the
    label the scores are probabilities of; precision/recall/F1/accuracy and the confusion
    matrix are taken at `thresholds[0]` (default: the model's threshold) and tabulated at every
    threshold in `report["thresholds"]`.
    """
    if predictions.kind not in KIND_METRICS:
        raise EvaluationError(f"unknown prediction kind {predictions.kind!r}")
    if predictions.labels is None:
        raise EvaluationError(
            "these predictions carry no true labels: evaluation needs the guest's labels"
        )
    chosen = _chosen(predictions.kind, metrics)
    labels = np.asarray(predictions.labels)
    rows = int(labels.shape[0]) if labels.ndim else 0
    if rows == 0:
        raise EvaluationError("no rows to evaluate (empty predictions)")
    if predictions.scores.shape[0] != rows:
        raise EvaluationError(f"{predictions.scores.shape[0]} scores but {rows} labels")
    if predictions.kind == "binary":
        positive = _default_pos_label(predictions) if pos_label is None else pos_label
        result = _binary(predictions, labels, chosen, positive, thresholds)
    elif predictions.kind == "multiclass":
        result = _multiclass(predictions, labels, chosen)
    else:
        result = EvaluationResult({})
        result.scalars = regression_metrics(labels, predictions.scores, chosen)
    result.report = {
        "kind": predictions.kind,
        "rows": rows,
        "metrics": dict(result.scalars),
        **result.report,
    }
    return result
