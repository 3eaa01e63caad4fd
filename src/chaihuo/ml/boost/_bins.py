"""Each party's own binning: cut points per feature column, the bin of every cell, candidates."""

# A candidate split of feature j is "x ≤ cuts_j[b]" for b < len(cuts_j): bin b and the bins
# before it go left. Columns with at most `max_bin` distinct values cut between every two
# values; others at the (1..max_bin−1)/max_bin quantiles (duplicates merged), as a histogram
# GBDT does. Cuts never leave their party: a host's thresholds stay on the host.
# With `use_missing`, a missing cell falls in a bin of its own after the others, and every
# cut is a candidate twice — missing values going right, then left (the learned default
# direction) — plus "is missing" (every present value left); every column has these
# candidates whether it has missing cells or not, so their number says nothing.

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "Bins",
    "Candidate",
    "ColumnSampler",
    "Cuts",
    "bin_columns",
    "fit_bins",
    "goes_left",
    "left_of",
]

_T = TypeVar("_T")
Cuts = tuple[npt.NDArray[np.float64], ...]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


class Candidate(NamedTuple):
    """One candidate split: column, last bin going left, and where missing cells go."""

    column: int
    bin: int
    missing_left: bool


@dataclass(frozen=True)
class Bins:
    """Cut points of every column, the binned training matrix, and whether cells may be
    missing (then each column has a last, missing bin)."""

    cuts: Cuts
    binned: npt.NDArray[np.int32]
    missing: bool = False

    @property
    def counts(self) -> list[int]:
        """Bins per column: cuts + 1, and the missing bin."""
        return [len(c) + 1 + self.missing for c in self.cuts]

    @functools.cached_property
    def candidates(self) -> list[Candidate]:
        """Every candidate split, column by column, cut by cut (built once)."""
        out = []
        for j, cuts in enumerate(self.cuts):
            for b in range(len(cuts)):
                out.append(Candidate(j, b, False))
                if self.missing:
                    out.append(Candidate(j, b, True))
            if self.missing:
                out.append(Candidate(j, len(cuts), False))
        return out

    @functools.cached_property
    def candidate_arrays(self) -> tuple[Ints, Ints, Mask, Ints]:
        """`candidates` as arrays (column, bin, missing_left) and each one's missing bin
        (built once: histograms read them for every node)."""
        column = np.array([c.column for c in self.candidates], dtype=np.int64)
        cut = np.array([c.bin for c in self.candidates], dtype=np.int64)
        left = np.array([c.missing_left for c in self.candidates], dtype=bool)
        lengths = np.array([len(c) for c in self.cuts], dtype=np.int64)
        return column, cut, left, lengths[column] + 1 if len(column) else column

    def threshold(self, candidate: Candidate) -> float:
        """x ≤ threshold goes left (+inf: every present value, for "is missing")."""
        cuts = self.cuts[candidate.column]
        return float(cuts[candidate.bin]) if candidate.bin < len(cuts) else float("inf")

    def left_values(
        self, histogram: list[list[_T]], add: Callable[[_T, _T], _T], zero: _T
    ) -> list[_T]:
        """The value left of every candidate (in `candidates` order) from one node's
        histogram (per column, per bin): the sum over bins up to the cut, plus the missing
        bin's when missing cells go left."""
        out = []
        for j, bins in enumerate(histogram):
            present = len(self.cuts[j]) + 1
            running, prefix = zero, []
            for value in bins[:present]:
                running = add(running, value)
                prefix.append(running)
            for b in range(present - 1 + self.missing):
                out.append(prefix[b])
                if self.missing and b < present - 1:
                    out.append(add(prefix[b], bins[present]))
        return out


def left_of(values: npt.NDArray[np.float64], threshold: float, missing_left: bool) -> Mask:
    """Which raw values go left at a split: x ≤ threshold, and missing ones if they go left."""
    going: Mask = values <= threshold
    return going | (np.isnan(values) & missing_left) if missing_left else going


def goes_left(binned: npt.NDArray[np.int32], candidate: Candidate, missing_bin: int) -> Mask:
    """Which binned cells of the candidate's column go left."""
    left: Mask = binned <= candidate.bin
    if candidate.missing_left:
        left |= binned == missing_bin
    return left


def _cuts(column: npt.NDArray[np.float64], max_bin: int) -> npt.NDArray[np.float64]:
    values = np.unique(column[~np.isnan(column)])
    if len(values) <= max_bin:
        return values[:-1].astype(np.float64)
    present = column[~np.isnan(column)]
    quantiles = np.unique(np.quantile(present, np.arange(1, max_bin) / max_bin))
    kept: npt.NDArray[np.float64] = quantiles[quantiles < values[-1]].astype(np.float64)
    return kept


def bin_columns(features: npt.NDArray[np.float64], cuts: Cuts) -> npt.NDArray[np.int32]:
    """The bin of every cell: the number of cut points strictly below the value; a missing
    cell's bin is len(cuts) + 1."""
    binned = np.empty(features.shape, dtype=np.int32)
    for j, column_cuts in enumerate(cuts):
        column = features[:, j]
        binned[:, j] = np.searchsorted(column_cuts, column, side="left")
        binned[np.isnan(column), j] = len(column_cuts) + 1
    return binned


def fit_bins(features: npt.NDArray[np.float64], max_bin: int, missing: bool = False) -> Bins:
    """Cut points of each column of `features` and its binned matrix."""
    cuts = tuple(_cuts(features[:, j], max_bin) for j in range(features.shape[1]))
    return Bins(cuts, bin_columns(features, cuts), missing)


@dataclass(frozen=True)
class ColumnSampler:
    """Column subsampling per tree (`colsample_bytree`): each party draws its own columns
    from its own seed; a candidate of a column left out cannot win that tree."""

    bins: Bins
    rate: float
    seed: int
    party: int
    """0 for the guest, k + 1 for host k (the reference draws as each party does)."""

    def columns(self, tree: int) -> Mask:
        """Which columns this tree may split on."""
        count = len(self.bins.cuts)
        keep = max(1, round(self.rate * count))
        rng = np.random.default_rng([self.seed, 1, self.party, tree])
        mask = np.zeros(count, dtype=bool)
        mask[rng.choice(count, size=min(keep, count), replace=False)] = True
        return mask

    def candidates(self, tree: int) -> Mask:
        """Which candidates (in `bins.candidates` order) this tree may use."""
        columns = self.bins.candidate_arrays[0]
        return self.columns(tree)[columns] if len(columns) else np.zeros(0, dtype=bool)
