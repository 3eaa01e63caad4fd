"""SecureBoost model parts (JSON + arrays, no pickle) and the one-shot predict protocol."""

# The guest's part holds every tree's shape, its own splits (column, cut), which host owns
# each other split (by host index and that host's split id, never the host's column or cut)
# and the leaf values. A host's part holds only its own nodes: (tree, node) → column, cut.
# Predicting (EINI-style, one message per host for a whole batch): each host evaluates every
# node it owns for every row and sends the bits; the guest walks the trees. The guest thereby
# learns, per predicted row, the outcome of every host node (not only those on the row's
# path); the host learns nothing.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.boost._bins import left_of
from chaihuo.ml.boost._messages import NodeBits
from chaihuo.ml.boost._tree import GUEST, Node, Tree, margins, route
from chaihuo.runtime import Peer

__all__ = ["KIND", "GuestModel", "HostModel", "guest_margins", "host_send_bits", "tree_sums"]

KIND = "hetero_secureboost"
Matrix = npt.NDArray[np.float64]


@dataclass
class GuestModel:
    """The guest's part: trees, initial score, objective, its feature names, the hosts."""

    trees: list[Tree]
    init_scores: npt.NDArray[np.float64]
    """One per output: tree t adds to output t mod outputs."""
    meta: dict[str, Any]

    def host_nodes(self, owner: int) -> list[tuple[int, int]]:
        """(tree, node) of every node host `owner` splits, in the order its bits arrive."""
        return sorted(
            (t, k) for t, tree in enumerate(self.trees) for k, n in tree.nodes.items()
            if n.owner == owner and not n.leaf
        )  # fmt: skip

    def importance(self, hosts: list[str]) -> dict[str, dict[str, float]]:
        """Split count and total gain per guest feature (by name) and per host (its features
        anonymous to the guest: `host:<party>`)."""
        names = [str(n) for n in self.meta.get("feature_names", [])]
        out: dict[str, dict[str, float]] = {}
        for tree in self.trees:
            for node in tree.nodes.values():
                if node.leaf:
                    continue
                key = names[node.split] if node.owner == GUEST else f"host:{hosts[node.owner]}"
                entry = out.setdefault(key, {"splits": 0.0, "gain": 0.0})
                entry["splits"] += 1
                entry["gain"] += node.gain
        return dict(sorted(out.items(), key=lambda item: -item[1]["gain"]))

    def artifact(self) -> ModelArtifact:
        """The saved form."""
        rows = [
            (t, k, n) for t, tree in enumerate(self.trees) for k, n in sorted(tree.nodes.items())
        ]
        arrays: dict[str, npt.NDArray[Any]] = {
            "tree": np.array([t for t, _, _ in rows], dtype=np.int32),
            "node": np.array([k for _, k, _ in rows], dtype=np.int32),
            "owner": np.array([n.owner for _, _, n in rows], dtype=np.int32),
            "split": np.array([n.split for _, _, n in rows], dtype=np.int32),
            "threshold": np.array([n.threshold for _, _, n in rows], dtype=np.float64),
            "leaf": np.array([n.leaf for _, _, n in rows], dtype=np.int8),
            "value": np.array(
                [n.value if n.value is not None else np.nan for _, _, n in rows], dtype=np.float64
            ),
            "gain": np.array([n.gain for _, _, n in rows], dtype=np.float64),
            "missing_left": np.array([n.missing_left for _, _, n in rows], dtype=np.int8),
        }
        meta = {**self.meta, "init_scores": [float(v) for v in self.init_scores],
                "trees": len(self.trees)}  # fmt: skip
        return ModelArtifact(KIND, "guest", meta, arrays)

    @classmethod
    def from_artifact(cls, model: ModelArtifact) -> GuestModel:
        """Rebuild the trees, refusing an artifact whose arrays do not line up."""
        try:
            columns = [model.arrays[k] for k in ("tree", "node", "owner", "split", "threshold")]
            extra = (model.arrays[k] for k in ("leaf", "value", "gain", "missing_left"))
            trees = [Tree() for _ in range(int(model.meta["trees"]))]
            rows = zip(*columns, *extra, strict=True)
            for t, k, owner, split, cut, is_leaf, v, g, ml in rows:
                node = Node(int(owner), int(split), float(cut), float(v) if is_leaf else None,
                            float(g), bool(ml))  # fmt: skip
                trees[int(t)].nodes[int(k)] = node
            init = np.array([float(v) for v in model.meta["init_scores"]], dtype=np.float64)
            if not len(init) or len(trees) % len(init):
                raise ValueError("the trees do not divide among the outputs")
            return cls(trees, init, dict(model.meta))
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise InvalidInputError(f"the guest's {KIND} model part is malformed: {exc}") from exc


@dataclass
class HostModel:
    """A host's part: (tree, node) → (column, cut, missing cells go left) of each node it
    splits."""

    nodes: dict[tuple[int, int], tuple[int, float, bool]]
    feature_names: tuple[str, ...]

    def artifact(self, meta: dict[str, Any]) -> ModelArtifact:
        """The saved form."""
        keys = sorted(self.nodes)
        arrays: dict[str, npt.NDArray[Any]] = {
            "tree": np.array([t for t, _ in keys], dtype=np.int32),
            "node": np.array([k for _, k in keys], dtype=np.int32),
            "column": np.array([self.nodes[key][0] for key in keys], dtype=np.int32),
            "threshold": np.array([self.nodes[key][1] for key in keys], dtype=np.float64),
            "missing_left": np.array([self.nodes[key][2] for key in keys], dtype=np.int8),
        }
        splits: dict[str, int] = {}
        for column, _, _ in self.nodes.values():
            name = self.feature_names[column]
            splits[name] = splits.get(name, 0) + 1
        meta = {**meta, "feature_names": list(self.feature_names), "split_counts": splits}
        return ModelArtifact(KIND, "host", meta, arrays)

    @classmethod
    def from_artifact(cls, model: ModelArtifact) -> HostModel:
        """Rebuild the node table."""
        try:
            names = tuple(str(n) for n in model.meta["feature_names"])
            columns = [
                model.arrays[k] for k in ("tree", "node", "column", "threshold", "missing_left")
            ]
            nodes = {
                (int(t), int(k)): (int(c), float(cut), bool(ml))
                for t, k, c, cut, ml in zip(*columns, strict=True)
            }
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInputError(f"the host's {KIND} model part is malformed: {exc}") from exc
        if any(not 0 <= c < len(names) for c, _, _ in nodes.values()):
            raise InvalidInputError(f"the host's {KIND} model part names unknown columns")
        return cls(nodes, names)

    def decisions(self, features: Matrix, trees: range | None = None) -> npt.NDArray[np.bool_]:
        """x ≤ cut of every row at every node (of `trees`, default all), in (tree, node)
        order."""
        keys = sorted(k for k in self.nodes if trees is None or k[0] in trees)
        out = np.empty((features.shape[0], len(keys)), dtype=bool)
        for i, key in enumerate(keys):
            column, cut, missing_left = self.nodes[key]
            out[:, i] = left_of(features[:, column], cut, missing_left)
        return out

    def keep(self, trees: int) -> HostModel:
        """The part of the first `trees` trees (early stopping keeps the best round's)."""
        return HostModel({k: v for k, v in self.nodes.items() if k[0] < trees},
                         self.feature_names)  # fmt: skip


def host_send_bits(
    peer: Peer, model: HostModel, features: Matrix, trees: range | None = None
) -> None:
    """Host: every node's decision (of `trees`, default all) for every row, in one message."""
    peer.put("node_bits", NodeBits(model.decisions(features, trees)).to_wire())


def tree_sums(
    peers: list[Peer], trees: list[Tree], first: int, outputs: int, features: Matrix
) -> Matrix:
    """Guest: Σ leaf values (rows × outputs) of `trees`, numbered from `first` (tree t adds to
    output t mod outputs), from its own splits and each host's node bits for them."""
    rows = features.shape[0]
    numbered = range(first, first + len(trees))
    columns: list[dict[tuple[int, int], int]] = []
    bits = []
    for owner, peer in enumerate(peers):
        order = sorted(
            (t, k) for t, tree in zip(numbered, trees, strict=True)
            for k, n in tree.nodes.items() if n.owner == owner and not n.leaf
        )  # fmt: skip
        columns.append({key: i for i, key in enumerate(order)})
        bits.append(NodeBits.from_wire(peer.get("node_bits"), rows, len(order)).bits)

    def decide(tree: int, node_id: int, node: Node, members: npt.NDArray[np.int64]) -> Any:
        if node.owner == GUEST:
            return node.left(features[members, node.split])
        return bits[node.owner][members, columns[node.owner][(first + tree, node_id)]]

    leaves = route(trees, rows, decide)
    out = margins(trees, leaves, np.zeros(outputs))
    return np.roll(out, first % outputs, axis=1) if outputs > 1 else out


def guest_margins(peers: list[Peer], model: GuestModel, features: Matrix) -> Matrix:
    """Guest: raw scores (rows × outputs) from its splits and each host's node bits."""
    outputs = len(model.init_scores)
    return model.init_scores + tree_sums(peers, model.trees, 0, outputs, features)
