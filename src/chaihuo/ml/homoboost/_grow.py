"""One tree grown from the clients' summed histograms: the server's loop and a client's."""

# The server never sees a row. At each depth it asks the clients for the histograms
# (Σg_i, Σh_i, count per column and bin, chaihuo.ml.boost._split.histogram) of the nodes it
# needs, summed securely; for two children of one split it asks for the one with fewer rows
# and takes the other as parent − sibling (exact: the sums are integers). Node sums, every
# candidate's left sums, the gain, the limits and the leaf values are chaihuo.ml.boost's, on
# the same integers, so the tree is the one the plaintext reference grows on the union of
# the clients' rows with the same cuts — split for split, leaf for leaf. Clients learn each
# level's splits (they route their own rows) and the finished tree.

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.core import Role
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.boost._bins import Bins, ColumnSampler, goes_left
from chaihuo.ml.boost._gradients import Coded, GradientCoding
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._split import NodeSums, best_split, candidate_sums, histogram, leaf_value
from chaihuo.ml.boost._tree import GUEST, Node, Tree
from chaihuo.ml.homo._aggregate import aggregate, contribute
from chaihuo.ml.homo._handshake import RoundSettings, aggregation
from chaihuo.ml.homoboost._messages import LevelPlan, tree_arrays, tree_from_arrays
from chaihuo.runtime import Context

__all__ = ["client_tree", "server_tree"]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Grower:
    """What the server grows a tree with."""

    bins: Bins
    """The agreed cuts (no rows)."""
    coding: GradientCoding
    params: BoostParams
    settings: RoundSettings
    sampler: ColumnSampler | None


def _totals(table: Ints, offset: int) -> NodeSums:
    # Every row of a node sits in one bin of column 0: its bins hold the node's sums.
    grad, hess, count = (int(part[0].sum()) for part in table)
    return NodeSums(grad - count * offset, hess, count)


def _active(depth: int, sums: NodeSums, params: BoostParams) -> bool:
    return depth < params.max_depth and sums.count >= params.min_samples_split


class _ServerTree:
    """One tree's state on the server: node sums, the histograms still needed, the nodes."""

    def __init__(self, grower: Grower, number: int) -> None:
        self.grower, self.tree = grower, Tree()
        self.scale = 2.0**-grower.coding.precision
        self.sums: dict[int, NodeSums] = {}
        self.drawn = grower.sampler.candidates(number) if grower.sampler is not None else None

    def leaf(self, node: int) -> None:
        self.tree.nodes[node] = Node(
            value=leaf_value(self.sums[node], self.scale, self.grower.params)
        )

    def split(self, node: int, depth: int, table: Ints) -> tuple[int, int, int, int] | None:
        """Split `node` on its best candidate (its children's sums follow), or make it a leaf;
        the split as (node, column, bin, missing left)."""
        bins, params, offset = self.grower.bins, self.grower.params, self.grower.coding.offset
        best = None
        if _active(depth, self.sums[node], params):
            grad, hess, count = candidate_sums(bins, table)
            if self.drawn is not None:
                count = np.where(self.drawn, count, 0)
            best = best_split(self.sums[node], grad, hess, count, offset, self.scale, params)
        if best is None:
            self.leaf(node)
            return None
        k, candidate = best.candidate, bins.candidates[best.candidate]
        self.tree.nodes[node] = Node(
            GUEST, candidate.column, bins.threshold(candidate), gain=best.gain,
            missing_left=candidate.missing_left,
        )  # fmt: skip
        whole = self.sums[node]
        left = NodeSums(int(grad[k]) - int(count[k]) * offset, int(hess[k]), int(count[k]))
        self.sums[2 * node + 1] = left
        self.sums[2 * node + 2] = NodeSums(
            whole.grad - left.grad, whole.hess - left.hess, whole.count - left.count
        )
        return node, candidate.column, candidate.bin, int(candidate.missing_left)

    def asked(self, node: int, depth: int) -> tuple[int, int, int] | None:
        """For a node just split: (node, child whose histogram to ask, its sibling) when a
        child splits further; leaves at once the children that will not."""
        children = (2 * node + 1, 2 * node + 2)
        params = self.grower.params
        for child in children:
            if not _active(depth + 1, self.sums[child], params):
                self.leaf(child)
        if not any(_active(depth + 1, self.sums[c], params) for c in children):
            return None
        small = min(children, key=lambda c: (self.sums[c].count, c))
        return node, small, children[0] + children[1] - small


def server_tree(ctx: Context, grower: Grower, number: int) -> Tree:
    """Tree `number`: request, sum and split level by level; send every client the tree."""
    state = _ServerTree(grower, number)
    splits, request = np.zeros((0, 4), np.int64), [0]
    pairs: list[tuple[int, int, int]] = []
    tables: dict[int, Ints] = {}
    width = (3, len(grower.bins.cuts), max(grower.bins.counts))
    for depth in range(grower.params.max_depth + 2):
        level_ctx = ctx.sub("level").indexed(depth)
        clients = level_ctx.peers(Role.CLIENT)
        clients.put("plan", LevelPlan(splits, np.array(request, dtype=np.int64)).to_wire())
        if not request:
            break
        how = aggregation(level_ctx, grower.settings, integers=True)
        total, _ = aggregate(list(clients.sub("agg")), len(request) * int(np.prod(width)), how)
        summed = np.asarray(total, dtype=np.int64).reshape(len(request), *width)
        received = {node: summed[k] for k, node in enumerate(request)}
        for parent, small, sibling in pairs:
            received[sibling] = tables[parent] - received[small]
        if depth == 0:
            state.sums[0] = _totals(received[0], grower.coding.offset)
        done = [state.split(node, depth, received[node]) for node in sorted(received)]
        rows = [split for split in done if split is not None]
        asks = [state.asked(split[0], depth) for split in rows]
        pairs = [ask for ask in asks if ask is not None]
        splits = np.array(rows, dtype=np.int64).reshape(-1, 4)
        request = sorted(small for _parent, small, _sibling in pairs)
        tables = {parent: received[parent] for parent, _small, _sibling in pairs}
    ctx.peers(Role.CLIENT).put("tree", tree_arrays(state.tree))
    return state.tree


def client_tree(
    ctx: Context, settings: RoundSettings, bins: Bins, coded: Coded
) -> tuple[Tree, Ints]:
    """A client's side of one tree: route its rows by each level's splits, send the requested
    nodes' histograms; the finished tree and each row's leaf."""
    positions = np.zeros(len(coded.gi), dtype=np.int64)
    columns = len(bins.cuts)
    for depth in range(64):
        level_ctx = ctx.sub("level").indexed(depth)
        server = level_ctx.peers(Role.SERVER)[0]
        plan = LevelPlan.from_wire(server.get("plan"), columns)
        for node, candidate in plan.candidates().items():
            members = np.flatnonzero(positions == node)
            missing_bin = len(bins.cuts[candidate.column]) + 1
            left = goes_left(bins.binned[members, candidate.column], candidate, missing_bin)
            positions[members] = np.where(left, 2 * node + 1, 2 * node + 2)
        if not len(plan.nodes):
            break
        tables = [
            histogram(bins, np.flatnonzero(positions == node), coded.gi, coded.hi, coded.ci)
            for node in plan.nodes.tolist()
        ]
        how = aggregation(level_ctx, settings, integers=True)
        contribute(server.sub("agg"), np.stack(tables).reshape(-1), how)
    tree = tree_from_arrays(ctx.peers(Role.SERVER)[0].get("tree"), columns)
    reached = {int(k) for k in np.unique(positions)}
    if not all(k in tree.nodes and tree.nodes[k].leaf for k in reached):
        raise ProtocolViolationError("tree: this client's rows end outside its leaves")
    return tree, positions
