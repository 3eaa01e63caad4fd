"""Mini-batch schedule with its leak rule, convergence rules and validation early stopping."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHUNK_ROWS",
    "Convergence",
    "EarlyStopping",
    "EpochStop",
    "batch_count",
    "batches",
    "exposes_residuals",
    "row_chunks",
    "smallest_batch",
]


def batch_count(rows: int, batch_size: int) -> int:
    """Batches per epoch: ⌈rows / batch_size⌉ (1 for the full batch)."""
    if batch_size == -1 or batch_size >= rows:
        return 1
    return -(-rows // batch_size)


def batches(
    rows: int, batch_size: int, seed: int, epoch: int, *, shuffle: bool
) -> list[npt.NDArray[np.int64]]:
    """Row indices of every batch of `epoch`: a seeded permutation cut into near-equal parts.

    Parts differ in size by at most one row (no tiny trailing batch: a batch with fewer rows
    than a party has features would let that party solve X^T d = g for d). Every party
    derives the same batches from the guest's seed; the seed protects nothing secret.
    """
    order = (
        np.random.default_rng([seed, epoch]).permutation(rows)
        if shuffle
        else np.arange(rows, dtype=np.int64)
    )
    parts = np.array_split(order.astype(np.int64), batch_count(rows, batch_size))
    return [np.sort(part) for part in parts]


def smallest_batch(rows: int, batch_size: int) -> int:
    """Rows in the smallest batch of the schedule above."""
    return rows // batch_count(rows, batch_size)


CHUNK_ROWS = 32_768
"""Most rows of a batch whose ciphertexts are in flight at once (≈ 16 MiB per vector at 2048
bits): a batch larger than this streams chunk by chunk, so a party holds O(chunk) ciphertexts
and the partial products over the chunks add up to the batch's exactly."""


def row_chunks(rows: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
    """A batch's rows cut into near-equal consecutive chunks of at most CHUNK_ROWS rows (the
    same cut on every party)."""
    pieces = max(1, -(-len(rows) // CHUNK_ROWS))
    return list(np.array_split(rows, pieces))


def exposes_residuals(rows: int, batch_size: int, width: int) -> bool:
    """The leak rule: some batch has no more rows than a party has columns, so a party that
    learns X^T·d of a batch (a gradient) could solve it for d, and so for the labels."""
    return smallest_batch(rows, batch_size) <= width


@dataclass
class Convergence:
    """FATE's convergence rules, judged by the arbiter after every epoch."""

    rule: str
    tol: float
    previous: float | None = None

    def converged(self, loss: float, weight_change: float | None) -> bool:
        """diff: |Δloss| < tol; abs: loss < tol; weight_diff: ‖Δw‖₂ < tol."""
        if self.rule == "weight_diff":
            return weight_change is not None and math.sqrt(max(weight_change, 0.0)) < self.tol
        if self.rule == "abs":
            return loss < self.tol
        done = self.previous is not None and abs(self.previous - loss) < self.tol
        self.previous = loss
        return done


@dataclass
class EarlyStopping:
    """Validation early stopping with patience; `higher` says whether bigger is better."""

    patience: int | None
    higher: bool
    best: float | None = None
    best_epoch: int = -1
    waited: int = 0
    history: list[float] = field(default_factory=list)

    def update(self, value: float, epoch: int) -> tuple[bool, bool]:
        """(improved, stop) after this epoch's validation metric."""
        self.history.append(value)
        better = self.best is None or (value > self.best if self.higher else value < self.best)
        if better:
            self.best, self.best_epoch, self.waited = value, epoch, 0
        else:
            self.waited += 1
        stop = self.patience is not None and self.waited >= self.patience
        return better, stop


@dataclass
class EpochStop:
    """One party's per-epoch decision: the loss rule (`Convergence`), validation early stopping
    on a loss (lower is better, keep the best epoch), and a loss that is no longer finite."""

    rule: str
    tol: float
    patience: int | None
    validating: bool
    losses: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loss_rule = Convergence(self.rule, self.tol)
        self._validation = EarlyStopping(self.patience, higher=False)

    @property
    def validation(self) -> list[float]:
        """Validation losses recorded so far."""
        return self._validation.history

    @property
    def best_epoch(self) -> int:
        """Epoch of the lowest validation loss (−1 before any)."""
        return self._validation.best_epoch

    def update(self, loss: float | None, validation_loss: float | None) -> tuple[bool, bool]:
        """Record an epoch; returns (this epoch is the best so far, stop now)."""
        for value in (loss, validation_loss):
            if value is not None and not math.isfinite(value):
                return False, True
        stop = False
        if loss is not None:
            self.losses.append(loss)
            stop = self.tol > 0 and self._loss_rule.converged(loss, None)
        best = False
        if self.validating and validation_loss is not None:
            best, patience_spent = self._validation.update(validation_loss, len(self.validation))
            stop = stop or patience_spent
        return best, stop
