"""The shared vertical toolkit: set-up status, model parts, batches, stopping, checks, kernels."""

# Submodules: `he` (exact-integer Paillier kernels) and `wire` (field checks of protocol
# records), imported by name: `from chaihuo.ml.vertical import he, wire`.

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
from chaihuo.ml.vertical._status import (
    acknowledge,
    load_part,
    receive_status,
    scoring_input,
    send_status,
)

__all__ = [
    "CHUNK_ROWS",
    "Convergence",
    "EarlyStopping",
    "EpochStop",
    "acknowledge",
    "batch_count",
    "batches",
    "expect_ciphertexts",
    "exposes_residuals",
    "load_part",
    "receive_status",
    "row_chunks",
    "scoring_input",
    "send_status",
    "smallest_batch",
]
