"""Each party's own binning: cut points per feature column and the bin index of every cell."""

# A candidate split of feature j is "x ≤ cuts_j[b]" for b < len(cuts_j): bin b and the bins
# before it go left. Columns with at most `max_bin` distinct values cut between every two
# values; others at the (1..max_bin−1)/max_bin quantiles (duplicates merged), as a histogram
# GBDT does. Cuts never leave their party: a host's thresholds stay on the host.

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Bins", "bin_columns", "fit_bins"]


@dataclass(frozen=True)
class Bins:
    """Cut points of every column and the binned training matrix."""

    cuts: tuple[npt.NDArray[np.float64], ...]
    binned: npt.NDArray[np.int32]

    @property
    def counts(self) -> list[int]:
        """Bins per column (cuts + 1)."""
        return [len(c) + 1 for c in self.cuts]

    @property
    def candidates(self) -> list[tuple[int, int]]:
        """Every candidate split as (column, bin), column by column."""
        return [(j, b) for j, cuts in enumerate(self.cuts) for b in range(len(cuts))]


def _cuts(column: npt.NDArray[np.float64], max_bin: int) -> npt.NDArray[np.float64]:
    values = np.unique(column)
    if len(values) <= max_bin:
        return values[:-1].astype(np.float64)
    quantiles = np.unique(np.quantile(column, np.arange(1, max_bin) / max_bin))
    kept: npt.NDArray[np.float64] = quantiles[quantiles < values[-1]].astype(np.float64)
    return kept


def bin_columns(
    features: npt.NDArray[np.float64], cuts: tuple[npt.NDArray[np.float64], ...]
) -> npt.NDArray[np.int32]:
    """The bin of every cell: the number of cut points strictly below the value."""
    binned = np.empty(features.shape, dtype=np.int32)
    for j, column_cuts in enumerate(cuts):
        binned[:, j] = np.searchsorted(column_cuts, features[:, j], side="left")
    return binned


def fit_bins(features: npt.NDArray[np.float64], max_bin: int) -> Bins:
    """Cut points of each column of `features` and its binned matrix."""
    cuts = tuple(_cuts(features[:, j], max_bin) for j in range(features.shape[1]))
    return Bins(cuts, bin_columns(features, cuts))
