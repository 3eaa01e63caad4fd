"""The plaintext reference of hetero_secureboost: the same trees, every party's columns at hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.ml.boost._bins import fit_bins
from chaihuo.ml.boost._gradients import GradientCoding, Objective, objective
from chaihuo.ml.boost._grow import ColumnSource, SplitSource, grow_tree
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._tree import GUEST, Node, Tree, leaf_values, route

__all__ = ["PlainBoost", "fit_plaintext"]

Matrix = npt.NDArray[np.float64]


@dataclass
class PlainBoost:
    """Trees whose host nodes name (host index, candidate) in the host's column order."""

    objective: Objective
    init_score: float
    trees: list[Tree]
    guest: ColumnSource
    hosts: list[ColumnSource]

    def host_split(self, owner: int, split: int) -> tuple[int, float]:
        """(column, threshold) of a host node."""
        return self.hosts[owner].column_and_cut(split)

    def decision_function(self, guest_x: Matrix, host_xs: list[Matrix]) -> Matrix:
        """Raw scores (margins) of rows given every party's columns."""

        def decide(
            tree: int, node_id: int, node: Node, rows: npt.NDArray[np.int64]
        ) -> npt.NDArray[np.bool_]:
            if node.owner == GUEST:
                left: npt.NDArray[np.bool_] = guest_x[rows, node.split] <= node.threshold
                return left
            column, cut = self.host_split(node.owner, node.split)
            right: npt.NDArray[np.bool_] = host_xs[node.owner][rows, column] <= cut
            return right

        leaves = route(self.trees, guest_x.shape[0], decide)
        return self.init_score + leaf_values(self.trees, leaves)

    def predict(self, guest_x: Matrix, host_xs: list[Matrix]) -> Matrix:
        """Probabilities (binary) or values (regression)."""
        return self.objective.link(self.decision_function(guest_x, host_xs))


def fit_plaintext(
    guest_x: Matrix, host_xs: list[Matrix], y: npt.NDArray[np.float64], params: BoostParams
) -> PlainBoost:
    """Fit the algorithm of the protocol on plaintext columns (rows aligned across parties)."""
    loss = objective(params.objective)
    labels = np.asarray(y, dtype=np.float64)
    loss.check_labels(labels)
    guest = ColumnSource(GUEST, fit_bins(guest_x, params.max_bin))
    hosts = [ColumnSource(k, fit_bins(x, params.max_bin)) for k, x in enumerate(host_xs)]
    sources: list[SplitSource] = [guest, *hosts]
    init = loss.initial_score(labels)
    score = np.full(len(labels), init)
    trees = []
    for _ in range(params.num_trees):
        g, h = loss.gradients(score, labels)
        coding = GradientCoding.for_tree(g, h, params.precision_bits)
        gi, hi = coding.encode(g, h)
        tree, leaves = grow_tree(sources, gi, hi, coding, params)
        trees.append(tree)
        score = score + leaf_values([tree], leaves[:, None])
    return PlainBoost(loss, init, trees, guest, hosts)
