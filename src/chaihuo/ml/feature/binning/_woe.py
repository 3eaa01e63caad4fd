"""Weight of evidence and information value from per-bin event and row counts."""

# For one feature with bins i, events e_i (label 1) and non-events n_i = rows_i − e_i, and
# totals E = Σe_i, N = Σn_i:
#     r_i = e_i / E,  q_i = n_i / N,  WOE_i = ln(r_i / q_i),  IV = Σ_i (r_i − q_i)·WOE_i
# (Siddiqi, "Credit Risk Scorecards", 2006; FATE's iv_calculator). A bin with no events or
# no non-events would give ln 0 or a division by zero, so there — and only there — FATE's
# adjustment is used: r_i = (e_i + a)/E, q_i = (n_i + a)/N with a = adjustment_factor (0.5).
# The missing-value bin takes part only when it holds at least one row; otherwise its WOE is
# 0 (neutral) and its IV term is 0, so a feature without missing values gets the IV of its
# regular bins alone. Regular bins always take part (an empty bucket bin gets the adjusted
# WOE ln(N/E), as in FATE).

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError

__all__ = ["WoeTable", "woe_table"]

Counts = npt.NDArray[np.int64]


@dataclass(frozen=True)
class WoeTable:
    """Per-bin events, non-events, WOE and IV terms of one feature, and its total IV."""

    events: Counts
    non_events: Counts
    woe: npt.NDArray[np.float64]
    iv_terms: npt.NDArray[np.float64]

    @property
    def iv(self) -> float:
        """Information value: the sum of the per-bin terms."""
        return float(np.sum(self.iv_terms))


def woe_table(events: Counts, rows: Counts, adjustment: float = 0.5) -> WoeTable:
    """WOE/IV of one feature; the last bin is the missing-value bin."""
    events = np.asarray(events, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    non_events = rows - events
    if np.any(events < 0) or np.any(non_events < 0):
        raise InvalidInputError("event counts must lie between 0 and the bin's row count")
    total_events, total_non_events = int(events.sum()), int(non_events.sum())
    if total_events == 0 or total_non_events == 0:
        raise InvalidInputError(
            "WOE/IV need both classes in the data: "
            f"{total_events} events (label 1) and {total_non_events} non-events (label 0)"
        )
    used = np.ones(len(rows), dtype=np.bool_)
    used[-1] = rows[-1] > 0
    adjust = (events == 0) | (non_events == 0)
    shift = np.where(adjust, adjustment, 0.0)
    event_rate = (events + shift) / total_events
    non_event_rate = (non_events + shift) / total_non_events
    with np.errstate(divide="ignore", invalid="ignore"):
        woe = np.where(used, np.log(event_rate / non_event_rate), 0.0)
    iv_terms = np.where(used, (event_rate - non_event_rate) * woe, 0.0)
    if not np.all(np.isfinite(woe)):
        raise InvalidInputError("adjustment_factor must be positive to handle pure bins")
    return WoeTable(events, non_events, woe.astype(np.float64), iv_terms.astype(np.float64))
