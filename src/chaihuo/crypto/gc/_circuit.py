"""Boolean circuits over XOR/AND/NOT gates, validated and compiled into topological layers."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import CircuitError, CryptoError

__all__ = [
    "BitArray",
    "Circuit",
    "Gate",
    "IndexArray",
    "Layer",
    "WireArray",
    "check_input_bits",
    "evaluate_plain",
]

WireArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
BitArray = npt.NDArray[np.uint8]

_FINGERPRINT_DOMAIN = b"chaihuo/gc/circuit/v1"


class Gate(enum.IntEnum):
    """Gate kinds of the `gates` table; NOT reads only its first input."""

    XOR = 0
    AND = 1
    NOT = 2


@dataclass(frozen=True, slots=True)
class Layer:
    """One topological level: no gate reads a wire written in the same level."""

    xor_a: IndexArray
    xor_b: IndexArray
    xor_out: IndexArray
    not_in: IndexArray
    not_out: IndexArray
    and_a: IndexArray
    and_b: IndexArray
    and_out: IndexArray
    and_start: int  # position of this level's first AND gate in the garbled table


class Circuit:
    """An immutable, validated circuit; `layers` groups gates by topological level.

    Wires are numbered 0..n_wires-1. Each wire is written exactly once, either as a garbler
    input, an evaluator input or the output of one gate. `gates` is an (G, 4) table of rows
    (kind, in0, in1, out) listed in topological order: a gate reads only input wires or
    outputs of earlier gates. NOT gates ignore in1 (it is normalised to in0).
    """

    def __init__(
        self,
        n_wires: int,
        garbler_inputs: npt.ArrayLike,
        evaluator_inputs: npt.ArrayLike,
        gates: npt.ArrayLike,
        outputs: npt.ArrayLike,
    ) -> None:
        if isinstance(n_wires, bool) or not isinstance(n_wires, int) or n_wires < 0:
            raise CircuitError(f"n_wires must be a non-negative int, got {n_wires!r}")
        self._n_wires = n_wires
        self._garbler_inputs = _wire_vector(garbler_inputs, "garbler_inputs", n_wires)
        self._evaluator_inputs = _wire_vector(evaluator_inputs, "evaluator_inputs", n_wires)
        self._gates = _gate_table(gates, n_wires)
        self._outputs = _wire_vector(outputs, "outputs", n_wires)
        inputs = np.concatenate([self._garbler_inputs, self._evaluator_inputs])
        levels = _gate_levels(n_wires, inputs, self._gates, self._outputs)
        self._layers = _compile_layers(self._gates, levels)

    @property
    def n_wires(self) -> int:
        """Number of wire ids (0..n_wires-1)."""
        return self._n_wires

    @property
    def garbler_inputs(self) -> WireArray:
        """Wire ids of the garbler's input bits, in input order (read-only)."""
        return self._garbler_inputs

    @property
    def evaluator_inputs(self) -> WireArray:
        """Wire ids of the evaluator's input bits, in input order (read-only)."""
        return self._evaluator_inputs

    @property
    def gates(self) -> WireArray:
        """The (G, 4) gate table of rows (kind, in0, in1, out) (read-only)."""
        return self._gates

    @property
    def outputs(self) -> WireArray:
        """Wire ids of the output bits, in output order (read-only)."""
        return self._outputs

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Gates grouped by topological level, the unit of garbling and evaluation."""
        return self._layers

    @property
    def n_garbler_inputs(self) -> int:
        """Number of garbler input bits."""
        return int(self._garbler_inputs.size)

    @property
    def n_evaluator_inputs(self) -> int:
        """Number of evaluator input bits."""
        return int(self._evaluator_inputs.size)

    @property
    def n_outputs(self) -> int:
        """Number of output bits."""
        return int(self._outputs.size)

    @cached_property
    def n_and(self) -> int:
        """Number of AND gates (the only gates that cost ciphertexts under free-XOR)."""
        return int(np.count_nonzero(self._gates[:, 0] == Gate.AND))

    @cached_property
    def n_xor(self) -> int:
        """Number of XOR gates."""
        return int(np.count_nonzero(self._gates[:, 0] == Gate.XOR))

    @cached_property
    def n_not(self) -> int:
        """Number of NOT gates."""
        return int(np.count_nonzero(self._gates[:, 0] == Gate.NOT))

    @property
    def depth(self) -> int:
        """Number of layers (topological depth counting every gate)."""
        return len(self._layers)

    @cached_property
    def and_depth(self) -> int:
        """Number of layers that contain at least one AND gate."""
        return sum(1 for layer in self._layers if layer.and_out.size)

    @cached_property
    def fingerprint(self) -> bytes:
        """SHA-256 of the circuit's canonical description; binds garbled data to it."""
        digest = hashlib.sha256(_FINGERPRINT_DOMAIN)
        sizes = (self._n_wires, self.n_garbler_inputs, self.n_evaluator_inputs)
        digest.update(np.array((*sizes, len(self._gates), self.n_outputs), "<i8").tobytes())
        for array in (self._garbler_inputs, self._evaluator_inputs, self._gates, self._outputs):
            digest.update(array.astype("<i8").tobytes())
        return digest.digest()

    def __repr__(self) -> str:
        return (
            f"Circuit(n_wires={self._n_wires}, garbler_inputs={self.n_garbler_inputs}, "
            f"evaluator_inputs={self.n_evaluator_inputs}, and={self.n_and}, xor={self.n_xor}, "
            f"not={self.n_not}, outputs={self.n_outputs}, depth={self.depth})"
        )


def _frozen(array: npt.NDArray[np.int64]) -> WireArray:
    array.setflags(write=False)
    return array


def _int_array(value: npt.ArrayLike, name: str) -> WireArray:
    array = np.asarray(value)
    if array.size == 0:
        return np.zeros(array.shape, dtype=np.int64)
    if array.dtype == np.bool_ or array.dtype.kind not in "iu":
        raise CircuitError(f"{name} must hold integers, got dtype {array.dtype}")
    if array.dtype == np.uint64 and int(array.max()) > np.iinfo(np.int64).max:
        raise CircuitError(f"{name} holds a value beyond int64")
    return array.astype(np.int64, copy=True)


def _check_range(array: WireArray, name: str, n_wires: int) -> None:
    if array.size and (int(array.min()) < 0 or int(array.max()) >= n_wires):
        bad = int(array[(array < 0) | (array >= n_wires)][0])
        raise CircuitError(f"{name} refers to wire {bad}, outside 0..{n_wires - 1}")


def _wire_vector(value: npt.ArrayLike, name: str, n_wires: int) -> WireArray:
    array = _int_array(value, name)
    if array.ndim != 1:
        raise CircuitError(f"{name} must be a 1-D array of wire ids, got shape {array.shape}")
    _check_range(array, name, n_wires)
    return _frozen(array)


def _gate_table(value: npt.ArrayLike, n_wires: int) -> WireArray:
    table = _int_array(value, "gates")
    if table.size == 0:
        table = table.reshape(0, 4)
    if table.ndim != 2 or table.shape[1] != 4:
        raise CircuitError(f"gates must have shape (G, 4), got {table.shape}")
    kinds = table[:, 0]
    unknown = ~np.isin(kinds, [int(kind) for kind in Gate])
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise CircuitError(f"gate {row} has unknown kind {int(kinds[row])}")
    is_not = kinds == Gate.NOT
    table[is_not, 2] = table[is_not, 1]
    _check_range(table[:, 1:], "gates", n_wires)
    return _frozen(table)


def _gate_levels(
    n_wires: int, inputs: WireArray, gates: WireArray, outputs: WireArray
) -> npt.NDArray[np.int64]:
    """Level of each gate: 1 + the deeper of its inputs (inputs are level 0).

    One pass over the topologically ordered table also checks that every wire is written
    once and read only after it is written; it is a plain loop because each level depends
    on the previous gates' levels.
    """
    level = [-1] * n_wires
    for wire in inputs.tolist():
        if level[wire] >= 0:
            raise CircuitError(f"wire {wire} is declared as an input twice")
        level[wire] = 0
    gate_level = [0] * len(gates)
    columns = zip(gates[:, 1].tolist(), gates[:, 2].tolist(), gates[:, 3].tolist(), strict=True)
    for index, (in0, in1, out) in enumerate(columns):
        left, right = level[in0], level[in1]
        if left < 0 or right < 0:
            missing = in0 if left < 0 else in1
            raise CircuitError(f"gate {index} reads wire {missing} before it is written")
        if level[out] >= 0:
            raise CircuitError(f"gate {index} writes wire {out}, which is already written")
        level[out] = gate_level[index] = (left if left > right else right) + 1
    for wire in outputs.tolist():
        if level[wire] < 0:
            raise CircuitError(f"output wire {wire} is never written")
    return np.array(gate_level, dtype=np.int64)


def _compile_layers(gates: WireArray, levels: npt.NDArray[np.int64]) -> tuple[Layer, ...]:
    """Group gates by level (stable), then by kind inside a level."""
    if not len(gates):
        return ()
    kinds = gates[:, 0]
    order = np.lexsort((kinds, levels))
    ordered = gates[order].astype(np.intp)
    ordered_levels = levels[order]
    bounds = np.flatnonzero(np.diff(ordered_levels)) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    stops = np.concatenate([bounds, [len(ordered)]]).tolist()
    layers = []
    and_start = 0
    for start, stop in zip(starts, stops, strict=True):
        block = ordered[start:stop]
        split = np.searchsorted(block[:, 0], [Gate.AND, Gate.NOT])
        xor, and_, not_ = block[: split[0]], block[split[0] : split[1]], block[split[1] :]
        layers.append(_make_layer(xor, and_, not_, and_start))
        and_start += len(and_)
    return tuple(layers)


def _make_layer(xor: IndexArray, and_: IndexArray, not_: IndexArray, and_start: int) -> Layer:
    def column(block: IndexArray, index: int) -> IndexArray:
        array: IndexArray = np.ascontiguousarray(block[:, index])
        array.setflags(write=False)
        return array

    return Layer(
        xor_a=column(xor, 1),
        xor_b=column(xor, 2),
        xor_out=column(xor, 3),
        not_in=column(not_, 1),
        not_out=column(not_, 3),
        and_a=column(and_, 1),
        and_b=column(and_, 2),
        and_out=column(and_, 3),
        and_start=and_start,
    )


def check_input_bits(
    bits: npt.ArrayLike, count: int, name: str, error: type[CryptoError] = CircuitError
) -> BitArray:
    """Validate a 0/1 array of shape (count,) or (batch, count); return it as uint8."""
    array = np.asarray(bits)
    if array.dtype != np.bool_ and array.dtype.kind not in "iu":
        raise error(f"{name} bits must be integers or booleans, got dtype {array.dtype}")
    if array.ndim not in (1, 2) or array.shape[-1] != count:
        raise error(
            f"{name} bits must have shape ({count},) or (batch, {count}), got {array.shape}"
        )
    if array.size and (int(array.min()) < 0 or int(array.max()) > 1):
        raise error(f"{name} bits must be 0 or 1")
    return array.astype(np.uint8)


def evaluate_plain(
    circuit: Circuit, garbler_bits: npt.ArrayLike, evaluator_bits: npt.ArrayLike
) -> BitArray:
    """Evaluate in the clear, one layer at a time, on one or many input vectors.

    Inputs of shape (n,) give (n_out,); if either is (batch, n) the result is (batch, n_out)
    and a 1-D input is used for every row.
    """
    garbler = check_input_bits(garbler_bits, circuit.n_garbler_inputs, "garbler")
    evaluator = check_input_bits(evaluator_bits, circuit.n_evaluator_inputs, "evaluator")
    batched = garbler.ndim == 2 or evaluator.ndim == 2
    rows = {len(side) for side in (garbler, evaluator) if side.ndim == 2}
    if len(rows) > 1:
        raise CircuitError(f"garbler and evaluator batch sizes differ: {sorted(rows)}")
    batch = rows.pop() if rows else 1
    values = np.zeros((circuit.n_wires, batch), dtype=np.uint8)
    values[circuit.garbler_inputs] = np.atleast_2d(garbler).T
    values[circuit.evaluator_inputs] = np.atleast_2d(evaluator).T
    for layer in circuit.layers:
        values[layer.xor_out] = values[layer.xor_a] ^ values[layer.xor_b]
        values[layer.not_out] = values[layer.not_in] ^ 1
        values[layer.and_out] = values[layer.and_a] & values[layer.and_b]
    result: BitArray = np.ascontiguousarray(values[circuit.outputs].T)
    return result if batched else result[0]
