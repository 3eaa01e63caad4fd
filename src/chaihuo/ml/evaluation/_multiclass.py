"""Multi-class metrics: accuracy, per-class and macro precision / recall / F1, confusion matrix."""

# The class set is the sorted union of the true and the predicted labels (scikit-learn's
# convention), so a class that neither occurs nor is predicted does not dilute a macro average.
# Macro averages are plain means of the per-class numbers; macro F1 is the mean of per-class
# F1 scores, not the harmonic mean of macro precision and macro recall.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.ml.evaluation._binary import roc_auc
from chaihuo.ml.evaluation._common import EvaluationError, as_scores, as_targets, safe_ratio

__all__ = ["MulticlassReport", "multiclass_metrics", "ovr_auc"]


@dataclass(frozen=True)
class MulticlassReport:
    """Counts and ratios of hard multi-class predictions."""

    classes: list[Any]
    matrix: npt.NDArray[np.int64]
    """matrix[i, j] = rows whose true class is classes[i] and predicted class is classes[j]."""

    @property
    def support(self) -> npt.NDArray[np.int64]:
        """True rows per class."""
        counts: npt.NDArray[np.int64] = self.matrix.sum(axis=1)
        return counts

    @property
    def accuracy(self) -> float:
        """Share of rows on the diagonal."""
        return safe_ratio(float(np.trace(self.matrix)), float(self.matrix.sum()))

    def per_class(self) -> list[dict[str, Any]]:
        """Precision, recall, F1 and support of each class (0 where undefined)."""
        out = []
        predicted = self.matrix.sum(axis=0)
        for i, label in enumerate(self.classes):
            hit = int(self.matrix[i, i])
            precision = safe_ratio(hit, int(predicted[i]))
            recall = safe_ratio(hit, int(self.support[i]))
            f1 = safe_ratio(2 * precision * recall, precision + recall)
            out.append(
                {
                    "label": label,
                    "precision": precision,
                    "recall": recall,
                    "f1": f1,
                    "support": int(self.support[i]),
                }
            )
        return out

    def macro(self, name: str) -> float:
        """Unweighted mean over classes of `precision`, `recall` or `f1`."""
        return float(np.mean([row[name] for row in self.per_class()]))


def _class_index(values: npt.NDArray[Any]) -> tuple[list[Any], npt.NDArray[np.intp]]:
    try:
        classes, inverse = np.unique(values, return_inverse=True)
    except TypeError as exc:
        raise EvaluationError(f"labels of mixed types cannot be compared: {exc}") from exc
    return classes.tolist(), inverse.reshape(-1)


def multiclass_metrics(y_true: Any, y_pred: Any) -> MulticlassReport:
    """Confusion matrix of hard predictions over the union of true and predicted classes."""
    truth = as_targets(y_true, "labels")
    guess = as_targets(y_pred, "predicted labels")
    if guess.shape[0] != truth.shape[0]:
        raise EvaluationError(
            f"predicted labels: {guess.shape[0]} rows, but the labels have {truth.shape[0]}"
        )
    if (truth.dtype.kind in "US") != (guess.dtype.kind in "US"):
        raise EvaluationError(
            "labels and predicted labels have different types (text vs numbers): "
            f"{truth[:3].tolist()} vs {guess[:3].tolist()}"
        )
    classes, index = _class_index(np.concatenate([truth, guess]))
    k, n = len(classes), truth.shape[0]
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (index[:n], index[n:]), 1)
    return MulticlassReport(classes=classes, matrix=matrix)


def ovr_auc(y_true: Any, scores: Any, classes: list[Any]) -> float:
    """Macro one-vs-rest AUC: the mean over classes of the AUC of column c against "not c".
    Every class of the model must occur in the labels (else its AUC is undefined)."""
    truth = as_targets(y_true, "labels")
    matrix = as_scores(scores, "scores", rows=truth.shape[0])
    if matrix.ndim != 2 or matrix.shape[1] != len(classes):
        raise EvaluationError(
            f"multi-class scores must be (rows, {len(classes)}), got shape {matrix.shape}"
        )
    aucs = []
    for column, label in enumerate(classes):
        member = truth == label
        if not member.any() or member.all():
            raise EvaluationError(
                f"one-vs-rest auc is undefined for class {label!r}: "
                f"{'no' if not member.any() else 'every'} row has that label"
            )
        aucs.append(roc_auc(member, matrix[:, column], pos_label=True))
    return float(np.mean(aucs))
