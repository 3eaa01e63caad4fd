"""Predictions a model makes on the guest: ids, true labels if known, and scores."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError

__all__ = ["Predictions", "TaskKind"]

TaskKind = Literal["binary", "multiclass", "regression"]
_FORMAT = "chaihuo-predictions/1"


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
        """Write `<name>.csv` (id, label, predicted, score column(s)) and `<name>.meta.json`
        (kind, classes, threshold, dtypes), which `load` needs to read it back exactly."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.csv"
        meta = {
            "format": _FORMAT,
            "kind": self.kind,
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes],
            "threshold": self.threshold,
            "ids": "int" if all(isinstance(v, int) for v in self.ids.tolist()) else "str",
            "labels": None if self.labels is None else np.asarray(self.labels).dtype.str,
        }
        (directory / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
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

    @classmethod
    def load(cls, path: Path) -> Predictions:
        """Read predictions written by `save` (the CSV and its `.meta.json`)."""
        try:
            meta = json.loads(path.with_suffix(".meta.json").read_text(encoding="utf-8"))
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))[1:]
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read predictions {path}: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise InvalidInputError(f"{path} is not a chaihuo predictions file")
        ids = [row[0] for row in rows]
        id_array = np.array([int(v) for v in ids] if meta["ids"] == "int" else ids, dtype=object)
        labels = None
        if meta["labels"] is not None:
            labels = np.array([row[1] for row in rows]).astype(np.dtype(meta["labels"]))
        scores = np.array([[float(v) for v in row[3:]] for row in rows], dtype=np.float64)
        if meta["kind"] != "multiclass":
            scores = scores.reshape(len(rows))
        kind: TaskKind = meta["kind"]
        return cls(kind, id_array, scores, labels, list(meta["classes"]), float(meta["threshold"]))
