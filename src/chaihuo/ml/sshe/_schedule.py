"""Batches and stopping rules of SSHE LR, shared by the secure run and its plaintext reference."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from chaihuo.ml.sshe._params import SsheParams

__all__ = ["Convergence", "batch_order", "smallest_batch"]


def batch_order(
    rows: int, batch_size: int, seed: int, epoch: int, *, shuffle: bool
) -> list[npt.NDArray[np.int64]]:
    """The epoch's batches of row indices: a seeded permutation (same on both parties) cut
    into slices of `batch_size` (-1: one batch). Shuffling rows protects nothing secret: both
    parties hold the same aligned ids."""
    order = (
        np.random.default_rng([seed, epoch]).permutation(rows)
        if shuffle
        else np.arange(rows, dtype=np.int64)
    )
    size = rows if batch_size == -1 else max(1, min(batch_size, rows))
    return [np.sort(order[start : start + size]) for start in range(0, rows, size)]


def smallest_batch(rows: int, batch_size: int) -> int:
    """Rows of the smallest batch of an epoch."""
    if batch_size == -1 or batch_size >= rows:
        return rows
    remainder = rows % batch_size
    return remainder if remainder else batch_size


@dataclass
class Convergence:
    """The guest's per-epoch decision: converged on the training loss (FATE's `diff` / `abs`),
    or no better validation loss for `early_stopping_rounds` epochs (keep the best)."""

    params: SsheParams
    validating: bool
    losses: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    best_epoch: int = -1

    def update(self, loss: float | None, validation_loss: float | None) -> tuple[bool, bool]:
        """Record an epoch; returns (this epoch is the best so far, stop now)."""
        for value in (loss, validation_loss):
            if value is not None and not math.isfinite(value):
                return False, True
        stop = False
        if loss is not None:
            self.losses.append(loss)
            tol = self.params.tol
            if tol > 0 and self.params.early_stop == "abs":
                stop = loss < tol
            elif tol > 0 and len(self.losses) > 1:
                stop = abs(self.losses[-1] - self.losses[-2]) < tol
        best = False
        if self.validating and validation_loss is not None:
            self.validation.append(validation_loss)
            epoch = len(self.validation) - 1
            if self.best_epoch < 0 or validation_loss < self.validation[self.best_epoch]:
                self.best_epoch, best = epoch, True
            rounds = self.params.early_stopping_rounds
            if rounds is not None and epoch - self.best_epoch >= rounds:
                stop = True
        return best, stop
