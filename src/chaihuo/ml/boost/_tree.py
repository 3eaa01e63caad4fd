"""Trees as the guest keeps them: who splits each node, and the leaf values; routing rows."""

# Node ids are heap indices: the root is 0, the children of k are 2k+1 (left: x ≤ cut) and
# 2k+2. An internal node is owned by the guest (owner −1: its column and cut are known to the
# guest) or by host k (owner k: the guest knows only the host's split id; the column and cut
# stay on the host). Rows are routed level by level, all rows of a node at once.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from chaihuo.ml.boost._bins import left_of

__all__ = ["GUEST", "Node", "Tree", "margins", "route", "tree_values"]

GUEST = -1
"""Owner of the guest's own splits."""

Ints = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float64]
Decide = Callable[[int, int, "Node", Ints], npt.NDArray[np.bool_]]
"""(tree index, node id, node, rows) → which of those rows go left."""


@dataclass(frozen=True)
class Node:
    """An internal node (owner, split, threshold, the split's gain) or a leaf (value)."""

    owner: int = GUEST
    split: int = -1
    threshold: float = float("nan")
    value: float | None = None
    gain: float = float("nan")
    missing_left: bool = False
    """Where a missing cell goes (the guest's own splits; a host keeps its own)."""

    def left(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Which of a column's values go left at this (guest) node."""
        return left_of(values, self.threshold, self.missing_left)

    @property
    def leaf(self) -> bool:
        """True for a leaf."""
        return self.value is not None


@dataclass
class Tree:
    """One tree: node id → node."""

    nodes: dict[int, Node] = field(default_factory=dict)

    def depth(self) -> int:
        """Levels below the root."""
        return max((int(np.log2(k + 1)) for k in self.nodes), default=0)


def route(trees: list[Tree], rows: int, decide: Decide) -> Ints:
    """Leaf id of every row in every tree (rows × trees)."""
    leaves = np.zeros((rows, len(trees)), dtype=np.int64)
    for t, tree in enumerate(trees):
        at = np.zeros(rows, dtype=np.int64)
        for _ in range(tree.depth()):
            for node_id in np.unique(at).tolist():
                node = tree.nodes[node_id]
                if node.leaf:
                    continue
                members = np.flatnonzero(at == node_id)
                left = decide(t, node_id, node, members)
                at[members] = np.where(left, 2 * node_id + 1, 2 * node_id + 2)
        leaves[:, t] = at
    return leaves


def tree_values(tree: Tree, leaf_ids: Ints) -> npt.NDArray[np.float64]:
    """The value of each row's leaf in one tree."""
    values = {k: n.value for k, n in tree.nodes.items() if n.value is not None}
    return np.array([values[k] for k in leaf_ids.tolist()], dtype=np.float64)


def margins(trees: list[Tree], leaves: Ints, init: npt.NDArray[np.float64]) -> Matrix:
    """Scores (rows × outputs): `init` plus every tree's leaf values, tree t adding to output
    t mod outputs (one tree per output per round)."""
    out = np.tile(np.asarray(init, dtype=np.float64), (leaves.shape[0], 1))
    for t, tree in enumerate(trees):
        out[:, t % len(init)] += tree_values(tree, leaves[:, t])
    return out
