"""The shared vertical toolkit: batch schedule and leak rule, stopping rules, received checks."""

from chaihuo.ml.vertical._checks import expect_ciphertexts
from chaihuo.ml.vertical._schedule import (
    CHUNK_ROWS,
    Convergence,
    EarlyStopping,
    EpochStop,
    batch_count,
    batches,
    exposes_residuals,
    row_chunks,
    smallest_batch,
)

__all__ = [
    "CHUNK_ROWS",
    "Convergence",
    "EarlyStopping",
    "EpochStop",
    "batch_count",
    "batches",
    "expect_ciphertexts",
    "exposes_residuals",
    "row_chunks",
    "smallest_batch",
]
