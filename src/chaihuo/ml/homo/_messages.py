"""The server's messages to clients as frozen typed records, checked field by field on arrival."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.federation import ProtocolViolationError

__all__ = ["RoundPlan", "Setup"]

Matrix = npt.NDArray[np.float64]
_MAX_CLASSES = 64


def _fields(obj: object, what: str, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(obj, dict) or set(obj) != set(names):
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise ProtocolViolationError(f"{what}: expected fields {sorted(names)}, got {got}")
    return obj


def _matrix(value: object, shape: tuple[int, int], what: str) -> Matrix:
    if not isinstance(value, np.ndarray) or value.dtype != np.float64 or value.shape != shape:
        raise ProtocolViolationError(f"{what}: expected a float64 matrix of shape {shape}")
    if not np.all(np.isfinite(value)):
        raise ProtocolViolationError(f"{what}: holds a non-finite value")
    return value


@dataclass(frozen=True)
class Setup:
    """The union's classes, their row counts, and its rows (summed at set-up)."""

    classes: list[int]
    counts: list[int]
    rows: int

    def to_wire(self) -> dict[str, Any]:
        """Codec-ready form."""
        return {"classes": list(self.classes), "counts": list(self.counts), "rows": self.rows}

    @classmethod
    def from_wire(cls, obj: object) -> Setup:
        """Rebuild and check a received set-up."""
        fields = _fields(obj, "setup", ("classes", "counts", "rows"))
        classes, counts, rows = fields["classes"], fields["counts"], fields["rows"]
        if (
            not isinstance(classes, list)
            or not 2 <= len(classes) <= _MAX_CLASSES
            or not all(isinstance(c, int) and 0 <= c < _MAX_CLASSES for c in classes)
            or classes != sorted(set(classes))
        ):
            raise ProtocolViolationError("setup: classes must be 2-64 sorted ints in [0, 64)")
        if not isinstance(rows, int) or rows < 1:
            raise ProtocolViolationError("setup: rows must be a positive int")
        if (
            not isinstance(counts, list)
            or len(counts) != len(classes)
            or not all(isinstance(c, int) and 0 < c <= rows for c in counts)
            or sum(counts) != rows
        ):
            raise ProtocolViolationError("setup: counts must be one positive int per class")
        return cls(classes, counts, rows)


@dataclass(frozen=True)
class RoundPlan:
    """One round for one client: the global weights, whether it trains, whether to stop."""

    index: int
    train: bool
    stop: bool
    clients: int
    weights: Matrix
    control: Matrix | None

    def to_wire(self) -> dict[str, Any]:
        """Codec-ready form."""
        return {
            "index": self.index, "train": self.train, "stop": self.stop,
            "clients": self.clients, "weights": self.weights, "control": self.control,
        }  # fmt: skip

    @classmethod
    def from_wire(
        cls, obj: object, index: int, shape: tuple[int, int], scaffold: bool
    ) -> RoundPlan:
        """Rebuild and check the plan of round `index` for weights of `shape`."""
        names = ("index", "train", "stop", "clients", "weights", "control")
        fields = _fields(obj, "round plan", names)
        if fields["index"] != index:
            raise ProtocolViolationError(f"round plan: expected round {index}")
        if not isinstance(fields["train"], bool) or not isinstance(fields["stop"], bool):
            raise ProtocolViolationError("round plan: train and stop must be booleans")
        clients = fields["clients"]
        if not isinstance(clients, int) or isinstance(clients, bool) or clients < 0:
            raise ProtocolViolationError("round plan: clients must be a non-negative int")
        weights = _matrix(fields["weights"], shape, "round plan weights")
        control = fields["control"]
        if scaffold:
            control = _matrix(control, shape, "round plan control variate")
        elif control is not None:
            raise ProtocolViolationError("round plan: a control variate outside SCAFFOLD")
        return cls(index, fields["train"], fields["stop"], clients, weights, control)
