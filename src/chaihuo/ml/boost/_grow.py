"""Growing one tree level by level from every party's best splits (federated or plaintext)."""

# The guest drives. At each depth it lists the nodes worth splitting (`Level`), asks every
# split source for its best candidate per node, keeps the highest gain (ties: the guest's own
# candidates first, then hosts in order), asks each winning source which rows go left, and
# moves the rows. A source is the guest's own columns (`ColumnSource`, plaintext) or a host:
# over the network in the protocol (chaihuo.ml.boost.guest), or a host's plaintext columns
# in the reference (chaihuo.ml.boost._plain). Both paths run this same loop on the same
# integer sums, so the reference's trees are the protocol's, split for split.

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from chaihuo.ml.boost._bins import Bins, ColumnSampler, goes_left
from chaihuo.ml.boost._gradients import Coded, GradientCoding
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._split import NodeSums, Split, best_split, cumulative_sums, leaf_value
from chaihuo.ml.boost._tree import GUEST, Node, Tree

__all__ = ["ColumnSource", "Level", "SplitSource", "column_source", "grow_tree"]

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Level:
    """One depth of one tree, as the guest sees it."""

    depth: int
    positions: Ints
    """Node id of every row at this depth; −1 for rows already in a leaf."""
    active: list[int]
    """Nodes to split, in increasing id order."""
    parents: list[int]
    """Nodes split at the previous depth (both children of each are at this depth)."""
    members: dict[int, Ints]
    sums: dict[int, NodeSums]
    coded: Coded
    coding: GradientCoding
    tree: int
    """The tree's number in the model (column subsampling draws per tree)."""


class SplitSource(Protocol):
    """Where candidate splits come from: the guest's columns or one host."""

    owner: int

    def request(self, level: Level) -> None:
        """Ask for this level's candidates (a host: send the level)."""

    def answer(self, level: Level, params: BoostParams) -> dict[int, Split]:
        """The best candidate per active node (nodes without a valid one are left out)."""

    def choose(self, level: Level, chosen: dict[int, int]) -> None:
        """Tell the source which of its candidates split which nodes (possibly none)."""

    def directions(self, level: Level, chosen: dict[int, int]) -> dict[int, Mask]:
        """Per chosen node: which of its members (in `level.members` order) go left."""

    def close_tree(self) -> None:
        """The tree is complete."""


class ColumnSource:
    """Candidates of plaintext binned columns (the guest's own; a host's in the reference)."""

    def __init__(self, owner: int, bins: Bins, sampler: ColumnSampler | None = None) -> None:
        self.owner = owner
        self.bins = bins
        self.sampler = sampler
        self._candidates = bins.candidates

    def request(self, level: Level) -> None:
        """Nothing to ask: the columns are here."""

    def answer(self, level: Level, params: BoostParams) -> dict[int, Split]:
        """Best candidate per node from the node's cumulative histogram."""
        scale = 2.0**-level.coding.precision
        drawn = self.sampler.candidates(level.tree) if self.sampler is not None else None
        coded = level.coded
        best: dict[int, Split] = {}
        for node in level.active:
            grad, hess, count = cumulative_sums(
                self.bins, level.members[node], coded.gi, coded.hi, coded.ci
            )
            if drawn is not None:
                count = np.where(drawn, count, 0)
            split = best_split(
                level.sums[node], grad, hess, count, level.coding.offset, scale, params
            )
            if split is not None:
                best[node] = split
        return best

    def choose(self, level: Level, chosen: dict[int, int]) -> None:
        """Nothing to tell."""

    def directions(self, level: Level, chosen: dict[int, int]) -> dict[int, Mask]:
        """x ≤ cut for each chosen node's members."""
        out = {}
        for node, index in chosen.items():
            candidate = self._candidates[index]
            column = self.bins.binned[level.members[node], candidate.column]
            out[node] = goes_left(column, candidate, len(self.bins.cuts[candidate.column]) + 1)
        return out

    def close_tree(self) -> None:
        """Nothing to tell."""

    def column_and_cut(self, index: int) -> tuple[int, float, bool]:
        """The column, threshold and missing cells' direction of a candidate."""
        candidate = self._candidates[index]
        return candidate.column, self.bins.threshold(candidate), candidate.missing_left


def column_source(owner: int, bins: Bins, params: BoostParams, seed: int) -> ColumnSource:
    """A party's plaintext columns as a split source, with its column draws when
    `colsample_bytree` < 1 (party number: 0 for the guest, k + 1 for host k)."""
    sampler = None
    if params.colsample_bytree < 1:
        sampler = ColumnSampler(bins, params.colsample_bytree, seed, owner + 1)
    return ColumnSource(owner, bins, sampler)


def _level(  # noqa: PLR0917 - one depth's state
    depth: int, positions: Ints, parents: list[int], coded: Coded,
    coding: GradientCoding, params: BoostParams, tree: int,
) -> Level:  # fmt: skip
    members = {int(k): np.flatnonzero(positions == k) for k in np.unique(positions) if k >= 0}
    sums = {
        k: NodeSums.of(coded.gi, coded.hi, coded.ci, rows, coding.offset)
        for k, rows in members.items()
    }
    active = [
        k
        for k in sorted(members)
        if depth < params.max_depth and sums[k].count >= params.min_samples_split
    ]
    return Level(depth, positions, active, parents, members, sums, coded, coding, tree)


def grow_tree(
    sources: list[SplitSource],
    coded: Coded,
    coding: GradientCoding,
    params: BoostParams,
    number: int = 0,
) -> tuple[Tree, Ints]:
    """Tree `number` of the model and the leaf id of every row."""
    rows = len(coded.gi)
    positions = np.zeros(rows, dtype=np.int64)
    leaf_of_row = np.zeros(rows, dtype=np.int64)
    tree, scale, parents = Tree(), 2.0**-coding.precision, list[int]()
    for depth in range(params.max_depth + 1):
        level = _level(depth, positions, parents, coded, coding, params, number)
        winners: dict[int, tuple[SplitSource, Split]] = {}
        if level.active:
            for source in sources:
                source.request(level)
            for source in sources:
                for node, split in source.answer(level, params).items():
                    if node not in winners or split.gain > winners[node][1].gain:
                        winners[node] = (source, split)
            for source in sources:
                chosen = {n: s.candidate for n, (src, s) in winners.items() if src is source}
                source.choose(level, chosen)
            for source in sources:
                chosen = {n: s.candidate for n, (src, s) in winners.items() if src is source}
                for node, left in source.directions(level, chosen).items():
                    rows_here = level.members[node]
                    positions[rows_here] = np.where(left, 2 * node + 1, 2 * node + 2)
                    tree.nodes[node] = _internal(source, winners[node][1])
        for node, rows_here in level.members.items():
            if node not in winners:
                tree.nodes[node] = Node(value=leaf_value(level.sums[node], scale, params))
                leaf_of_row[rows_here] = node
                positions[rows_here] = -1
        parents = sorted(winners)
        if not winners:
            break
    for source in sources:
        source.close_tree()
    return tree, leaf_of_row


def _internal(source: SplitSource, split: Split) -> Node:
    if source.owner == GUEST and isinstance(source, ColumnSource):
        column, cut, missing_left = source.column_and_cut(split.candidate)
        return Node(GUEST, column, cut, gain=split.gain, missing_left=missing_left)
    return Node(owner=source.owner, split=split.candidate, gain=split.gain)
