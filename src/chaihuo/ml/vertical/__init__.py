"""The shared vertical toolkit: batch schedule and its leak rule, convergence and stopping."""

from chaihuo.ml.vertical._schedule import (
    Convergence,
    EarlyStopping,
    EpochStop,
    batch_count,
    batches,
    exposes_residuals,
    smallest_batch,
)

__all__ = [
    "Convergence",
    "EarlyStopping",
    "EpochStop",
    "batch_count",
    "batches",
    "exposes_residuals",
    "smallest_batch",
]
