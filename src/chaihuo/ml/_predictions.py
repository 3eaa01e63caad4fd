"""Predictions a model makes on the guest: ids, true labels if known, and scores."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Predictions", "TaskKind"]

TaskKind = Literal["binary", "multiclass", "regression"]


@dataclass
class Predictions:
    """Row-aligned arrays: `scores` is (n,) for binary (P(y=1)) and regression, (n, k) for
    multi-class (one column per entry of `classes`); `labels` are the true labels or None."""

    kind: TaskKind
    ids: npt.NDArray[Any]
    scores: npt.NDArray[np.float64]
    labels: npt.NDArray[Any] | None = None
    classes: list[Any] = field(default_factory=list)
    threshold: float = 0.5

    def predicted(self) -> npt.NDArray[Any]:
        """Hard predictions: class labels (binary/multi-class) or the values (regression)."""
        if self.kind == "regression":
            return self.scores
        if self.kind == "binary":
            return (self.scores >= self.threshold).astype(np.int64)
        chosen: npt.NDArray[Any] = np.asarray(self.classes)[np.argmax(self.scores, axis=1)]
        return chosen

    def save(self, directory: Path, name: str) -> Path:
        """Write `<name>.csv`: id, label, predicted, score column(s)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.csv"
        scores = self.scores.reshape(len(self.ids), -1)
        score_names = (
            [f"score_{c}" for c in self.classes] if self.kind == "multiclass" else ["score"]
        )
        labels = self.labels if self.labels is not None else [""] * len(self.ids)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "label", "predicted", *score_names])
            for row, (key, label, guess) in enumerate(
                zip(self.ids.tolist(), list(labels), self.predicted().tolist(), strict=True)
            ):
                writer.writerow([key, label, guess, *scores[row].tolist()])
        return path
