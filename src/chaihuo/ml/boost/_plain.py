"""The plaintext reference of hetero_secureboost: the same trees, every party's columns at hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.ml.boost._bins import Bins, Cuts, bin_columns, fit_bins, left_of
from chaihuo.ml.boost._boosting import boost
from chaihuo.ml.boost._grow import ColumnSource, SplitSource, column_source
from chaihuo.ml.boost._objectives import Objective
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._tree import GUEST, Node, Tree, margins, route

__all__ = ["PlainBoost", "fit_plaintext"]

Matrix = npt.NDArray[np.float64]


@dataclass
class PlainBoost:
    """Trees whose host nodes name (host index, candidate) in the host's column order."""

    objective: Objective
    init_scores: npt.NDArray[np.float64]
    trees: list[Tree]
    guest: ColumnSource
    hosts: list[ColumnSource]

    def host_split(self, owner: int, split: int) -> tuple[int, float, bool]:
        """(column, threshold, missing cells go left) of a host node."""
        return self.hosts[owner].column_and_cut(split)

    def decision_function(self, guest_x: Matrix, host_xs: list[Matrix]) -> Matrix:
        """Raw scores (rows × outputs) given every party's columns."""

        def decide(
            tree: int, node_id: int, node: Node, rows: npt.NDArray[np.int64]
        ) -> npt.NDArray[np.bool_]:
            if node.owner == GUEST:
                return node.left(guest_x[rows, node.split])
            column, cut, missing_left = self.host_split(node.owner, node.split)
            return left_of(host_xs[node.owner][rows, column], cut, missing_left)

        leaves = route(self.trees, guest_x.shape[0], decide)
        return margins(self.trees, leaves, self.init_scores)

    def predict(self, guest_x: Matrix, host_xs: list[Matrix]) -> Matrix:
        """P(y = 1) (binary), class probabilities (rows × classes) or values (regression)."""
        return self.objective.link(self.decision_function(guest_x, host_xs))


def fit_plaintext(
    guest_x: Matrix,
    host_xs: list[Matrix],
    y: npt.NDArray[np.float64],
    params: BoostParams,
    ids: npt.NDArray[Any] | None = None,
    *,
    cuts: Cuts | None = None,
) -> PlainBoost:
    """Fit the algorithm of the protocol on plaintext columns (rows aligned across parties);
    `y`: 0/1 (binary), class indices 0..K−1 (multi:softmax) or values (regression); `ids`
    (the rows' ids) choose each round's rows with `subsample` < 1, as the guest does; `cuts`
    (the guest's columns only, no hosts) replace its own quantile cuts, e.g. the cuts a
    horizontal job agreed on."""
    labels = np.asarray(y, dtype=np.float64)
    loss = params.loss(int(labels.max()) + 1 if len(labels) else 1)
    loss.check_labels(labels)
    missing, seed = params.use_missing, params.random_seed or 0
    bins = (
        fit_bins(guest_x, params.max_bin, missing) if cuts is None
        else Bins(cuts, bin_columns(guest_x, cuts), missing)
    )  # fmt: skip
    guest = column_source(GUEST, bins, params, seed)
    hosts = [
        column_source(k, fit_bins(x, params.max_bin, missing), params, seed)
        for k, x in enumerate(host_xs)
    ]
    sources: list[SplitSource] = [guest, *hosts]
    trees, init, _ = boost(sources, loss, labels, params, seed=seed, ids=ids)
    return PlainBoost(loss, init, trees, guest, hosts)
