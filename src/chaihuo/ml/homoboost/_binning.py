"""Quantile cut points of the union's columns, found by bisection on securely summed counts."""

# Target k of column j is the smallest t with #{x_j ≤ t} ≥ ⌈k/B · n_j⌉ over the union's n_j
# present cells (k = 1 … B−1, B = max_bin). Each step the server sends one probe t per
# (j, k); every client answers how many of its cells are ≤ t; the secure sum of the answers
# halves every interval. The first interval comes from the union's mean μ and deviation σ
# (chaihuo.ml.homo._handshake): by Cantelli's inequality the q-quantile lies in
# [μ − σ·√(1/q − 1), μ + σ·√(1/(1 − q) − 1)], widened ×1.5 for the fixed-point rounding of μ
# and σ. After the last step each cut sits within 2^−STEPS of the interval above a data value
# (so the value itself goes left); cuts with every present cell at or below them, and
# duplicates, are dropped. What crosses: probes (server → clients) and summed counts; the
# server learns the union's empirical quantiles, nothing about one client.

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from chaihuo.core import Role
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.boost._bins import Cuts
from chaihuo.ml.homo._aggregate import aggregate, contribute
from chaihuo.ml.homo._handshake import RoundSettings, aggregation
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.runtime import Context

__all__ = ["STEPS", "client_counts", "server_cuts"]

STEPS = 44
"""Bisection steps: an interval of 10σ shrinks below 10^-12 σ."""
Matrix = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _check_probes(obj: object, shape: tuple[int, int]) -> Matrix:
    if not isinstance(obj, np.ndarray) or obj.dtype != np.float64 or obj.shape != shape:
        raise ProtocolViolationError(f"binning probes: expected a float64 array of {shape}")
    if not np.all(np.isfinite(obj)):
        raise ProtocolViolationError("binning probes: a probe is not finite")
    return obj


def client_counts(ctx: Context, settings: RoundSettings, features: Matrix, max_bin: int) -> Cuts:
    """A client's side: answer every probe with its counts, then take the cuts."""
    columns = [np.sort(col[~np.isnan(col)]) for col in features.T]
    shape = (len(columns), max_bin - 1)
    server = ctx.peers(Role.SERVER)[0]
    for step in range(STEPS + 1):
        step_ctx = ctx.sub("bisect").indexed(step)
        probes = _check_probes(step_ctx.peers(Role.SERVER)[0].get("probes"), shape)
        counts = np.array(
            [np.searchsorted(col, probes[j], side="right") for j, col in enumerate(columns)],
            dtype=np.int64,
        ).reshape(-1)
        contribute(step_ctx.peers(Role.SERVER)[0].sub("agg"), counts,
                   aggregation(step_ctx, settings, integers=True))  # fmt: skip
    cuts = server.get("cuts")
    if not isinstance(cuts, list) or len(cuts) != len(columns):
        raise ProtocolViolationError("cuts: expected one array per column")
    out = []
    for j, column_cuts in enumerate(cuts):
        if not isinstance(column_cuts, np.ndarray) or column_cuts.dtype != np.float64:
            raise ProtocolViolationError(f"cuts of column {j}: expected a float64 array")
        if column_cuts.ndim != 1 or np.any(np.diff(column_cuts) <= 0):
            raise ProtocolViolationError(f"cuts of column {j}: expected increasing values")
        out.append(column_cuts)
    return tuple(out)


def server_cuts(
    ctx: Context, settings: RoundSettings, scaling: Scaling, present: Ints, max_bin: int
) -> Cuts:
    """The server's side: bisect every (column, quantile) together; send and return the cuts."""
    q = np.arange(1, max_bin) / max_bin
    targets = np.ceil(q[None, :] * present[:, None]).astype(np.int64)
    sigma, mu = scaling.scale[:, None], scaling.mean[:, None]
    margin = 1e-9 * (1.0 + np.abs(mu))
    low = mu - 1.5 * sigma * np.sqrt(1 / q - 1)[None, :] - margin
    high = mu + 1.5 * sigma * np.sqrt(1 / (1 - q) - 1)[None, :] + margin
    counts = np.zeros_like(targets)
    for step in range(STEPS + 1):
        # The last step probes the final upper ends, to know how many cells each cut keeps.
        probes = high if step == STEPS else (low + high) / 2
        step_ctx = ctx.sub("bisect").indexed(step)
        clients = step_ctx.peers(Role.CLIENT)
        clients.put("probes", np.ascontiguousarray(probes))
        how = aggregation(step_ctx, settings, integers=True)
        total, _ = aggregate(list(clients.sub("agg")), probes.size, how)
        counts = np.asarray(total, dtype=np.int64).reshape(probes.shape)
        if step < STEPS:
            enough = counts >= targets
            high, low = np.where(enough, probes, high), np.where(enough, low, probes)
    cuts = [
        np.unique(high[j][(counts[j] >= targets[j]) & (counts[j] < present[j])])
        for j in range(len(present))
    ]
    ctx.peers(Role.CLIENT).put("cuts", cuts)
    return tuple(np.asarray(c, dtype=np.float64) for c in cuts)
