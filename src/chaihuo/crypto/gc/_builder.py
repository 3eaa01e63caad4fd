"""Vectorised circuit builder: bitwise ops and integer gadgets over arrays of wire ids."""

# A value is an int64 array of wire ids. Bitwise ops act elementwise (numpy broadcasting), so
# one call adds a gate per element and many independent instances ("lanes") share each
# layer. Integer gadgets take arrays of shape (..., width) holding little-endian bits on the
# last axis; the leading axes are lanes. Public constants are folded away at build time.

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import CircuitError
from chaihuo.crypto.gc._circuit import Circuit, Gate, WireArray

__all__ = ["CircuitBuilder", "millionaires_circuit"]

# Constant bits are negative pseudo-wires; they never reach a Circuit's gate table.
_ZERO = -1
_ONE = -2


def _const_value(wires: WireArray) -> npt.NDArray[np.bool_]:
    """Truth value of constant pseudo-wires."""
    return np.asarray(wires == _ONE)


class CircuitBuilder:
    """Builds a `Circuit` from bitwise ops and gadgets on arrays of wire ids."""

    def __init__(self) -> None:
        self._next_wire = 0
        self._garbler: list[WireArray] = []
        self._evaluator: list[WireArray] = []
        self._gates: list[npt.NDArray[np.int64]] = []
        self._outputs: list[WireArray] = []
        self._n_outputs = 0
        self._materialised: dict[int, int] = {}

    # -- wires -------------------------------------------------------------------------

    def _fresh(self, count: int) -> WireArray:
        wires = np.arange(self._next_wire, self._next_wire + count, dtype=np.int64)
        self._next_wire += count
        return wires

    def garbler_input(self, shape: int | tuple[int, ...]) -> WireArray:
        """New garbler input wires of `shape`; their bits are read in C order."""
        wires = self._fresh(_count(shape)).reshape(shape)
        self._garbler.append(wires.reshape(-1))
        return wires

    def evaluator_input(self, shape: int | tuple[int, ...]) -> WireArray:
        """New evaluator input wires of `shape`; their bits are read in C order."""
        wires = self._fresh(_count(shape)).reshape(shape)
        self._evaluator.append(wires.reshape(-1))
        return wires

    def constant(self, bits: npt.ArrayLike) -> WireArray:
        """Public constant bits (array of 0/1) usable wherever wires are."""
        array = np.asarray(bits)
        if array.dtype.kind not in "biu" or (array.size and not np.isin(array, (0, 1)).all()):
            raise CircuitError("constant bits must be 0 or 1")
        return np.where(array.astype(bool), _ONE, _ZERO).astype(np.int64)

    def _check(self, wires: npt.ArrayLike) -> WireArray:
        array = np.asarray(wires)
        if array.dtype.kind not in "iu" or array.dtype == np.bool_:
            raise CircuitError(f"wires must be integer arrays, got dtype {array.dtype}")
        array = array.astype(np.int64)
        if array.size and (int(array.min()) < _ONE or int(array.max()) >= self._next_wire):
            raise CircuitError("wire id does not belong to this builder")
        return array

    def _emit(self, kind: Gate, in0: WireArray, in1: WireArray) -> WireArray:
        out = self._fresh(in0.size)
        table = np.empty((in0.size, 4), dtype=np.int64)
        table[:, 0] = kind
        table[:, 1] = in0
        table[:, 2] = in1
        table[:, 3] = out
        self._gates.append(table)
        return out

    # -- bitwise operations with constant folding -----------------------------------------

    def xor(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Elementwise a ⊕ b (free under free-XOR)."""
        return self._binary(Gate.XOR, a, b)

    def and_(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Elementwise a ∧ b (one garbled AND gate per non-constant element)."""
        return self._binary(Gate.AND, a, b)

    def or_(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Elementwise a ∨ b = a ⊕ b ⊕ (a ∧ b)."""
        return self.xor(self.xor(a, b), self.and_(a, b))

    def not_(self, a: npt.ArrayLike) -> WireArray:
        """Elementwise ¬a (free: the garbler swaps the meaning of the two labels)."""
        wires = self._check(a)
        flat = wires.reshape(-1)
        out = np.where(flat == _ONE, _ZERO, _ONE).astype(np.int64)
        live = flat >= 0
        if live.any():
            out[live] = self._emit(Gate.NOT, flat[live], flat[live])
        return out.reshape(wires.shape)

    def _binary(self, kind: Gate, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        left, right = np.broadcast_arrays(self._check(a), self._check(b))
        shape = left.shape
        left, right = left.reshape(-1), right.reshape(-1)
        const_l, const_r = left < 0, right < 0
        if not (const_l.any() or const_r.any()):
            return self._emit(kind, left, right).reshape(shape)
        out = np.empty(left.size, dtype=np.int64)
        live = ~const_l & ~const_r
        out[live] = self._emit(kind, left[live], right[live])
        both = const_l & const_r
        value_l, value_r = _const_value(left[both]), _const_value(right[both])
        folded = value_l ^ value_r if kind == Gate.XOR else value_l & value_r
        out[both] = np.where(folded, _ONE, _ZERO)
        for const, other, mask in (
            (left, right, const_l & ~const_r),
            (right, left, const_r & ~const_l),
        ):
            out[mask] = self._with_constant(kind, _const_value(const[mask]), other[mask])
        return out.reshape(shape)

    def _with_constant(
        self, kind: Gate, value: npt.NDArray[np.bool_], wires: WireArray
    ) -> WireArray:
        """x ⊕ 0 = x, x ⊕ 1 = ¬x, x ∧ 0 = 0, x ∧ 1 = x."""
        if kind == Gate.AND:
            return np.where(value, wires, _ZERO).astype(np.int64)
        out = wires.copy()
        out[value] = self.not_(wires[value])
        return out

    # -- integer gadgets on (..., width) little-endian words -----------------------------

    def _words(self, a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[WireArray, WireArray]:
        left, right = self._check(a), self._check(b)
        if left.ndim == 0 or right.ndim == 0 or left.shape[-1] != right.shape[-1]:
            raise CircuitError(
                f"operands need the same non-empty bit width, got {left.shape} and {right.shape}"
            )
        if left.shape[-1] == 0:
            raise CircuitError("operands need at least one bit")
        return left, right

    def _carry(self, a: WireArray, b: WireArray, carry: WireArray) -> WireArray:
        """Majority(a, b, c) = c ⊕ ((a ⊕ c) ∧ (b ⊕ c)) with one AND (Boyar–Peralta)."""
        return self.xor(carry, self.and_(self.xor(a, carry), self.xor(b, carry)))

    def add(self, a: npt.ArrayLike, b: npt.ArrayLike, *, carry_out: bool = False) -> WireArray:
        """Ripple-carry a + b mod 2^w (1 AND per bit); carry_out appends bit w."""
        left, right = self._words(a, b)
        return self._ripple(left, right, self.constant(0), carry_out=carry_out)

    def sub(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """a − b mod 2^w as a + ¬b + 1 (two's complement), 1 AND per bit."""
        left, right = self._words(a, b)
        return self._ripple(left, self.not_(right), self.constant(1), carry_out=False)

    def _ripple(
        self, a: WireArray, b: WireArray, carry_in: WireArray, *, carry_out: bool
    ) -> WireArray:
        a, b = np.broadcast_arrays(a, b)
        width = a.shape[-1]
        carry = np.broadcast_to(carry_in, a.shape[:-1])
        bits = []
        for i in range(width):
            bits.append(self.xor(self.xor(a[..., i], b[..., i]), carry))
            if i < width - 1 or carry_out:
                carry = self._carry(a[..., i], b[..., i], carry)
        if carry_out:
            bits.append(carry)
        return np.stack(bits, axis=-1)

    def gt(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Unsigned a > b, shape (...): 1 AND per bit (Kolesnikov–Sadeghi–Schneider 2009).

        c_{i+1} = a_i ⊕ ((a_i ⊕ c_i) ∧ (b_i ⊕ c_i)), c_0 = 0, is the carry of a + ¬b, and
        a + ¬b = a + 2^w − 1 − b overflows exactly when a > b.
        """
        left, right = self._words(a, b)
        left, right = np.broadcast_arrays(left, right)
        carry = np.broadcast_to(self.constant(0), left.shape[:-1])
        for i in range(left.shape[-1]):
            ai, bi = left[..., i], right[..., i]
            carry = self.xor(ai, self.and_(self.xor(ai, carry), self.xor(bi, carry)))
        return carry

    def lt(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Unsigned a < b."""
        return self.gt(b, a)

    def ge(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Unsigned a ≥ b = ¬(b > a)."""
        return self.not_(self.gt(b, a))

    def le(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Unsigned a ≤ b = ¬(a > b)."""
        return self.not_(self.gt(a, b))

    def eq(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """a = b: AND of the bitwise XNORs as a balanced tree (w − 1 ANDs, depth log w)."""
        left, right = self._words(a, b)
        same = self.not_(self.xor(left, right))
        while same.shape[-1] > 1:
            half = same.shape[-1] // 2
            paired = self.and_(same[..., :half], same[..., half : 2 * half])
            same = np.concatenate([paired, same[..., 2 * half :]], axis=-1)
        return same[..., 0]

    def mux(self, select: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """a where select is 1 else b; select has shape (...), words (..., w): b ⊕ s(a ⊕ b)."""
        left, right = self._words(a, b)
        chooser = self._check(select)[..., None]
        return self.xor(right, self.and_(chooser, self.xor(left, right)))

    def maximum(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Unsigned max(a, b) (2 ANDs per bit)."""
        return self.mux(self.gt(a, b), a, b)

    def minimum(self, a: npt.ArrayLike, b: npt.ArrayLike) -> WireArray:
        """Unsigned min(a, b) (2 ANDs per bit)."""
        return self.mux(self.gt(a, b), b, a)

    # -- outputs -----------------------------------------------------------------------

    def output(self, wires: npt.ArrayLike) -> slice:
        """Append `wires` (C order) to the outputs; returns their positions in the output."""
        flat = self._check(wires).reshape(-1).copy()
        for constant in (_ZERO, _ONE):
            mask = flat == constant
            if mask.any():
                flat[mask] = self._materialise(constant)
        self._outputs.append(flat)
        start = self._n_outputs
        self._n_outputs += flat.size
        return slice(start, self._n_outputs)

    def _materialise(self, constant: int) -> int:
        """A real wire carrying a constant: x ⊕ x = 0 and ¬(x ⊕ x) = 1 for any input x."""
        if constant not in self._materialised:
            inputs = self._garbler + self._evaluator
            first = next((block for block in inputs if block.size), None)
            if first is None:
                raise CircuitError("a constant output needs at least one input wire")
            source = first[:1]
            zero = self._emit(Gate.XOR, source, source)
            self._materialised[_ZERO] = int(zero[0])
            self._materialised[_ONE] = int(self._emit(Gate.NOT, zero, zero)[0])
        return self._materialised[constant]

    def build(self) -> Circuit:
        """The validated, layer-compiled circuit."""

        def joined(blocks: list[npt.NDArray[np.int64]], width: int) -> npt.NDArray[np.int64]:
            if not blocks:
                return np.zeros((0, width) if width else 0, dtype=np.int64)
            return np.concatenate(blocks)

        return Circuit(
            n_wires=self._next_wire,
            garbler_inputs=joined(self._garbler, 0),
            evaluator_inputs=joined(self._evaluator, 0),
            gates=joined(self._gates, 4),
            outputs=joined(self._outputs, 0),
        )


def _count(shape: int | tuple[int, ...]) -> int:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(isinstance(dim, bool) or not isinstance(dim, int) or dim < 0 for dim in dims):
        raise CircuitError(f"input shape must hold non-negative ints, got {shape!r}")
    return int(np.prod(dims, dtype=np.int64))


def millionaires_circuit(bits: int = 64, lanes: int = 1) -> Circuit:
    """`lanes` independent Yao's-millionaires comparisons [a_k > b_k] of `bits`-bit unsigned ints.

    The garbler's input is a (lanes, bits) little-endian array (`ints_to_bits(a, bits)`,
    flattened), the evaluator's likewise; output k is 1 iff a_k > b_k. The circuit has
    lanes·bits AND gates in `bits` AND layers of width `lanes`.
    """
    for name, value in (("bits", bits), ("lanes", lanes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CircuitError(f"{name} must be a positive int, got {value!r}")
    builder = CircuitBuilder()
    a = builder.garbler_input((lanes, bits))
    b = builder.evaluator_input((lanes, bits))
    builder.output(builder.gt(a, b))
    return builder.build()
