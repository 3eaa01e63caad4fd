"""The server's messages to clients: each level's splits and histogram requests, each tree."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.boost._bins import Candidate
from chaihuo.ml.boost._tree import GUEST, Node, Tree

__all__ = ["TREE_FIELDS", "LevelPlan", "tree_arrays", "tree_from_arrays"]

Ints = npt.NDArray[np.int64]
_MAX_NODE = 1 << 13  # depth ≤ 12
TREE_FIELDS = ("node", "column", "threshold", "missing_left", "value", "gain")


def _ints(value: object, what: str, width: int | None = None) -> Ints:
    if not isinstance(value, np.ndarray) or value.dtype != np.int64:
        raise ProtocolViolationError(f"{what}: expected an int64 array")
    if value.ndim != 1 if width is None else value.ndim != 2 or value.shape[1] != width:
        raise ProtocolViolationError(f"{what}: wrong shape {value.shape}")
    if value.size and (value.min() < 0 or value.max() >= _MAX_NODE):
        raise ProtocolViolationError(f"{what}: values out of range")
    return value


@dataclass(frozen=True)
class LevelPlan:
    """The previous level's splits (node, column, bin, missing left) and the nodes whose
    histograms the server asks for now (none: the tree is complete)."""

    splits: Ints
    nodes: Ints

    def to_wire(self) -> dict[str, Any]:
        """Codec-ready form."""
        return {"splits": self.splits, "nodes": self.nodes}

    @classmethod
    def from_wire(cls, obj: object, columns: int) -> LevelPlan:
        """Rebuild and check a plan for `columns` feature columns."""
        if not isinstance(obj, dict) or set(obj) != {"splits", "nodes"}:
            raise ProtocolViolationError("level plan: expected fields splits and nodes")
        splits = _ints(obj["splits"], "level plan splits", 4)
        if splits.size and (splits[:, 1].max() >= columns or splits[:, 3].max() > 1):
            raise ProtocolViolationError("level plan splits: column or direction out of range")
        return cls(splits, _ints(obj["nodes"], "level plan nodes"))

    def candidates(self) -> dict[int, Candidate]:
        """Node → the candidate that splits it."""
        return {int(n): Candidate(int(c), int(b), bool(m)) for n, c, b, m in self.splits.tolist()}


def tree_arrays(tree: Tree) -> dict[str, npt.NDArray[Any]]:
    """A tree as arrays (node id, column, threshold, missing left, value, gain), ids sorted."""
    ids = sorted(tree.nodes)
    nodes = [tree.nodes[k] for k in ids]
    return {
        "node": np.array(ids, dtype=np.int64),
        "column": np.array([n.split for n in nodes], dtype=np.int64),
        "threshold": np.array([n.threshold for n in nodes], dtype=np.float64),
        "missing_left": np.array([n.missing_left for n in nodes], dtype=np.int64),
        "value": np.array([math.nan if n.value is None else n.value for n in nodes]),
        "gain": np.array([n.gain for n in nodes], dtype=np.float64),
    }


def tree_from_arrays(obj: object, columns: int) -> Tree:
    """Rebuild and check a tree sent (or saved) by `tree_arrays`."""
    names = set(TREE_FIELDS)
    if not isinstance(obj, dict) or set(obj) != names:
        raise ProtocolViolationError(f"tree: expected fields {sorted(names)}")
    node = _ints(obj["node"], "tree nodes")
    size = len(node)
    arrays = [obj[k] for k in ("column", "threshold", "missing_left", "value", "gain")]
    if any(not isinstance(a, np.ndarray) or a.shape != (size,) for a in arrays):
        raise ProtocolViolationError("tree: every field needs one value per node")
    column, threshold, missing, value, gain = arrays
    tree = Tree()
    for k in range(size):
        if math.isnan(float(value[k])):
            if not 0 <= int(column[k]) < columns or int(node[k]) * 2 + 2 >= _MAX_NODE:
                raise ProtocolViolationError("tree: an internal node's column is out of range")
            tree.nodes[int(node[k])] = Node(
                GUEST, int(column[k]), float(threshold[k]), gain=float(gain[k]),
                missing_left=bool(missing[k]),
            )  # fmt: skip
        else:
            tree.nodes[int(node[k])] = Node(value=float(value[k]))
    for k, item in tree.nodes.items():
        if not item.leaf and (2 * k + 1 not in tree.nodes or 2 * k + 2 not in tree.nodes):
            raise ProtocolViolationError("tree: an internal node lacks a child")
    if 0 not in tree.nodes:
        raise ProtocolViolationError("tree: no root")
    return tree
