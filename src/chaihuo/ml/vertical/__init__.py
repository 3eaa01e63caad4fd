"""The shared vertical toolkit: batch schedule and leak rule, stopping rules, received checks."""

from chaihuo.ml.vertical._checks import expect_ciphertexts
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
    "expect_ciphertexts",
    "exposes_residuals",
    "smallest_batch",
]
