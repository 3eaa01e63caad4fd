"""The protocol's messages as frozen typed records, checked field by field on arrival."""

# Each record crosses as a plain dict of codec types (ints, int arrays, ciphertexts) and is
# rebuilt by `from_wire` from the shared checks of chaihuo.ml.vertical.wire, which refuse
# anything else with a ProtocolViolationError naming the message and the field.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.paillier import EncryptedVector, PackedVector, PaillierPublicKey
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.vertical import expect_ciphertexts, wire

__all__ = [
    "Chosen",
    "Directions",
    "Gradients",
    "HostSums",
    "LevelRequest",
    "NodeBits",
]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Gradients:
    """Guest → host, once per tree: [[g_i·2^(HB+CB) + h_i·2^CB + 1]] and the sums' width."""

    values: EncryptedVector
    slot_bits: int

    def to_wire(self) -> dict[str, Any]:
        return {"values": self.values, "slot_bits": self.slot_bits}

    @classmethod
    def from_wire(cls, obj: object, key: PaillierPublicKey, rows: int) -> Gradients:
        what = "boost gradients"
        fields = wire.fields(obj, what, ("values", "slot_bits"))
        values = expect_ciphertexts(fields["values"], key, what, length=rows, integer=True)
        return cls(values, wire.integer(fields["slot_bits"], f"{what}.slot_bits", 1, 1024))


@dataclass(frozen=True)
class LevelRequest:
    """Guest → host, per depth: each row's node (−1: in a leaf), the nodes to split, the
    nodes split at the previous depth, and the active nodes whose sums the guest needs (it
    derives the others: parent − sibling). No active node: the tree is complete."""

    positions: Ints
    active: Ints
    parents: Ints
    send: Ints

    def to_wire(self) -> dict[str, Any]:
        return {
            name: getattr(self, name).astype(np.int32)
            for name in ("positions", "active", "parents", "send")
        }

    @classmethod
    def from_wire(cls, obj: object, rows: int, max_node: int) -> LevelRequest:
        what = "boost level"
        fields = wire.fields(obj, what, ("positions", "active", "parents", "send"))
        positions = wire.ints(fields["positions"], f"{what}.positions", low=-1, high=max_node)
        active = wire.ints(fields["active"], f"{what}.active", high=max_node)
        if not len(active):
            return cls(positions, active, active, active)  # the tree is complete
        if len(positions) != rows:
            raise ProtocolViolationError(f"{what}: expected {rows} positions")
        parents = wire.ints(fields["parents"], f"{what}.parents", high=max_node)
        send = wire.ints(fields["send"], f"{what}.send", high=max_node)
        if len(np.unique(active)) != len(active) or not np.isin(active, positions).all():
            raise ProtocolViolationError(f"{what}: active nodes repeat or hold no rows")
        if len(np.unique(send)) != len(send) or not np.isin(send, active).all():
            raise ProtocolViolationError(f"{what}: nodes to send that are not active")
        return cls(positions, active, parents, send)


@dataclass(frozen=True)
class HostSums:
    """Host → guest, per depth: the packed sums left of each candidate, node by node, in the
    host's split-id order."""

    packed: PackedVector

    def to_wire(self) -> dict[str, Any]:
        return {"packed": self.packed}

    @classmethod
    def from_wire(cls, obj: object) -> HostSums:
        fields = wire.fields(obj, "boost host sums", ("packed",))
        if not isinstance(fields["packed"], PackedVector):
            raise ProtocolViolationError("boost host sums: expected packed ciphertexts")
        return cls(fields["packed"])


@dataclass(frozen=True)
class Chosen:
    """Guest → host, per depth: the nodes this host's splits won, and the split ids."""

    nodes: Ints
    splits: Ints

    def to_wire(self) -> dict[str, Any]:
        return {"nodes": self.nodes.astype(np.int32), "splits": self.splits.astype(np.int32)}

    @classmethod
    def from_wire(cls, obj: object, active: Ints, candidates: int) -> Chosen:
        what = "boost chosen splits"
        fields = wire.fields(obj, what, ("nodes", "splits"))
        nodes = wire.ints(fields["nodes"], f"{what}.nodes")
        splits = wire.ints(fields["splits"], f"{what}.splits", high=candidates)
        if len(nodes) != len(splits) or not np.isin(nodes, active).all():
            raise ProtocolViolationError(f"{what}: nodes that were not asked for")
        if len(np.unique(nodes)) != len(nodes):
            raise ProtocolViolationError(f"{what}: a node chosen twice")
        return cls(nodes, splits)


@dataclass(frozen=True)
class Directions:
    """Host → guest: for each chosen node, which of its rows (in row order) go left."""

    bits: npt.NDArray[np.bool_]

    def to_wire(self) -> dict[str, Any]:
        return {"bits": wire.pack_bits(self.bits)}

    @classmethod
    def from_wire(cls, obj: object, count: int) -> Directions:
        fields = wire.fields(obj, "boost directions", ("bits",))
        return cls(wire.bits(fields["bits"], count, "boost directions"))


@dataclass(frozen=True)
class NodeBits:
    """Host → guest when predicting: for every row, x ≤ cut at each of the host's nodes (in
    (tree, node) order), all trees at once."""

    bits: npt.NDArray[np.bool_]

    def to_wire(self) -> dict[str, Any]:
        return {"bits": wire.pack_bits(self.bits.reshape(-1))}

    @classmethod
    def from_wire(cls, obj: object, rows: int, nodes: int) -> NodeBits:
        fields = wire.fields(obj, "boost node decisions", ("bits",))
        flat = wire.bits(fields["bits"], rows * nodes, "boost node decisions")
        return cls(flat.reshape(rows, nodes))
