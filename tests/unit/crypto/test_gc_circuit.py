"""Circuits, the builder's gadgets and plaintext evaluation against Python integers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaihuo.crypto._errors import CircuitError, InvalidCryptoInputError
from chaihuo.crypto.gc import (
    Circuit,
    CircuitBuilder,
    Gate,
    bits_to_int,
    bits_to_ints,
    evaluate_plain,
    int_to_bits,
    ints_to_bits,
    millionaires_circuit,
)

# -- bit encoding ---------------------------------------------------------------------------


@given(st.integers(1, 200).flatmap(lambda w: st.tuples(st.just(w), st.integers(0, 2**w - 1))))
def test_int_bits_round_trip(case: tuple[int, int]) -> None:
    width, value = case
    bits = int_to_bits(value, width)
    assert bits.shape == (width,)
    assert bits.dtype == np.uint8
    assert [int(bit) for bit in bits] == [(value >> i) & 1 for i in range(width)]
    assert bits_to_int(bits) == value


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=20))
def test_ints_bits_round_trip_mixed_magnitudes(values: list[int]) -> None:
    # A list mixing values above and below 2^63 must not go through float64.
    assert bits_to_ints(ints_to_bits(values, 64)) == values
    array = np.array(values, dtype=np.uint64)
    assert np.array_equal(ints_to_bits(array, 64), ints_to_bits(values, 64))


def test_ints_to_bits_keeps_leading_shape() -> None:
    bits = ints_to_bits(np.arange(6, dtype=np.int64).reshape(2, 3), 4)
    assert bits.shape == (2, 3, 4)
    assert bits_to_ints(bits.reshape(6, 4)) == list(range(6))


@pytest.mark.parametrize(
    ("values", "width"),
    [([-1], 8), ([256], 8), ([2**64], 64), (np.array([-3]), 8), (["7"], 8), ([1], 0), ([1], True)],
)
def test_ints_to_bits_rejects_bad_values(values: object, width: object) -> None:
    with pytest.raises(InvalidCryptoInputError):
        ints_to_bits(values, width)  # type: ignore[arg-type]


@pytest.mark.parametrize("bits", [[0, 2], [[1]], np.zeros((0,)), [0.5], 3])
def test_bits_to_int_rejects_bad_bits(bits: object) -> None:
    with pytest.raises(InvalidCryptoInputError):
        bits_to_int(bits)  # type: ignore[arg-type]


# -- circuit validation ---------------------------------------------------------------------


def _and_circuit() -> Circuit:
    return Circuit(3, [0], [1], [[Gate.AND, 0, 1, 2]], [2])


def test_circuit_properties_and_layers() -> None:
    gates = [[Gate.XOR, 0, 1, 2], [Gate.AND, 0, 1, 3], [Gate.NOT, 2, 0, 4], [Gate.AND, 3, 4, 5]]
    circuit = Circuit(6, [0], [1], gates, [5, 2])
    assert (circuit.n_and, circuit.n_xor, circuit.n_not) == (2, 1, 1)
    assert circuit.depth == 3
    assert circuit.and_depth == 2
    assert circuit.gates[2, 2] == 2  # NOT's unused input normalised to its real one
    first = circuit.layers[0]
    assert first.xor_out.tolist() == [2]
    assert first.and_out.tolist() == [3]
    assert circuit.layers[2].and_start == 1
    assert len(circuit.fingerprint) == 32
    assert "and=2" in repr(circuit)
    with pytest.raises(ValueError, match="read-only"):
        circuit.gates[0, 0] = 1


def test_fingerprint_depends_on_every_part() -> None:
    base = _and_circuit().fingerprint
    assert Circuit(3, [0], [1], [[Gate.XOR, 0, 1, 2]], [2]).fingerprint != base
    assert Circuit(3, [1], [0], [[Gate.AND, 0, 1, 2]], [2]).fingerprint != base
    assert Circuit(4, [0], [1], [[Gate.AND, 0, 1, 2]], [2]).fingerprint != base
    assert _and_circuit().fingerprint == base


def test_gates_may_use_any_wire_numbering() -> None:
    circuit = Circuit(5, [4], [0], [[Gate.XOR, 4, 0, 2], [Gate.AND, 2, 4, 1]], [1, 2])
    for a in (0, 1):
        for b in (0, 1):
            assert evaluate_plain(circuit, [a], [b]).tolist() == [(a ^ b) & a, a ^ b]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_wires": -1}, "n_wires"),
        ({"n_wires": 2.5}, "n_wires"),
        ({"gates": [[Gate.AND, 0, 1]]}, "shape"),
        ({"gates": [[7, 0, 1, 2]]}, "unknown kind"),
        ({"gates": [[Gate.AND, 0, 2, 2]]}, "before it is written"),
        ({"gates": [[Gate.AND, 0, 1, 1]]}, "already written"),
        ({"gates": [[Gate.AND, 0, 1, 3]]}, "outside"),
        ({"gates": [[Gate.AND, 0, -1, 2]]}, "outside"),
        ({"gates": [[Gate.AND, 0.0, 1.0, 2.0]]}, "integers"),
        ({"garbler_inputs": [0, 0]}, "twice"),
        ({"evaluator_inputs": [0]}, "twice"),
        ({"garbler_inputs": [[0]]}, "1-D"),
        ({"outputs": [5]}, "outside"),
        ({"gates": [], "outputs": [2]}, "never written"),
    ],
)
def test_malformed_circuits_are_rejected(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "n_wires": 3,
        "garbler_inputs": [0],
        "evaluator_inputs": [1],
        "gates": [[Gate.AND, 0, 1, 2]],
        "outputs": [2],
    }
    arguments.update(kwargs)
    with pytest.raises(CircuitError, match=message):
        Circuit(**arguments)  # type: ignore[arg-type]


def test_evaluate_plain_batches_and_broadcasts() -> None:
    circuit = _and_circuit()
    garbler = np.array([[0], [1], [0], [1]])
    evaluator = np.array([[0], [0], [1], [1]])
    assert evaluate_plain(circuit, garbler, evaluator).tolist() == [[0], [0], [0], [1]]
    assert evaluate_plain(circuit, [1], evaluator).tolist() == [[0], [0], [1], [1]]
    assert evaluate_plain(circuit, [True], [True]).tolist() == [1]


@pytest.mark.parametrize(
    ("garbler", "evaluator"),
    [([2], [0]), ([0, 1], [0]), ([[0], [1]], [[0], [1], [1]]), ([0.0], [1]), ([[[0]]], [1])],
)
def test_evaluate_plain_rejects_bad_inputs(garbler: object, evaluator: object) -> None:
    with pytest.raises(CircuitError):
        evaluate_plain(_and_circuit(), garbler, evaluator)  # type: ignore[arg-type]


# -- builder gadgets against Python integers -------------------------------------------------

_OPERATIONS = ("add", "add_carry", "sub", "gt", "lt", "ge", "le", "eq", "mux", "max", "min", "or")


def _gadget_circuit(width: int, lanes: int) -> tuple[Circuit, dict[str, slice]]:
    builder = CircuitBuilder()
    a = builder.garbler_input((lanes, width))
    select = builder.garbler_input(lanes)
    b = builder.evaluator_input((lanes, width))
    outputs = {
        "add": builder.add(a, b),
        "add_carry": builder.add(a, b, carry_out=True),
        "sub": builder.sub(a, b),
        "gt": builder.gt(a, b),
        "lt": builder.lt(a, b),
        "ge": builder.ge(a, b),
        "le": builder.le(a, b),
        "eq": builder.eq(a, b),
        "mux": builder.mux(select, a, b),
        "max": builder.maximum(a, b),
        "min": builder.minimum(a, b),
        "or": builder.or_(a, b),
    }
    slices = {name: builder.output(wires) for name, wires in outputs.items()}
    return builder.build(), slices


def _expected(name: str, x: int, y: int, s: int, width: int) -> int:
    mask = (1 << width) - 1
    return {
        "add": (x + y) & mask,
        "add_carry": x + y,
        "sub": (x - y) & mask,
        "gt": int(x > y),
        "lt": int(x < y),
        "ge": int(x >= y),
        "le": int(x <= y),
        "eq": int(x == y),
        "mux": x if s else y,
        "max": max(x, y),
        "min": min(x, y),
        "or": x | y,
    }[name]


@st.composite
def _gadget_cases(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, int]]]:
    width = draw(st.integers(1, 70))
    value = st.integers(0, 2**width - 1)
    lanes = draw(st.lists(st.tuples(value, value, st.integers(0, 1)), min_size=1, max_size=6))
    if draw(st.booleans()):
        lanes.append((lanes[0][0], lanes[0][0], 0))  # equal operands
    return width, lanes


@settings(max_examples=60, deadline=None)
@given(_gadget_cases())
def test_gadgets_match_python_integers(case: tuple[int, list[tuple[int, int, int]]]) -> None:
    width, lanes = case
    circuit, slices = _gadget_circuit(width, len(lanes))
    xs, ys, ss = ([lane[k] for lane in lanes] for k in range(3))
    garbler = np.concatenate([ints_to_bits(xs, width).reshape(-1), np.array(ss)])
    evaluator = ints_to_bits(ys, width).reshape(-1)
    out = evaluate_plain(circuit, garbler, evaluator)
    for name in _OPERATIONS:
        bits = out[slices[name]].reshape(len(lanes), -1)
        got = bits_to_ints(bits)
        want = [_expected(name, x, y, s, width) for x, y, s in lanes]
        assert got == want, name


def test_gadget_gate_counts() -> None:
    builder = CircuitBuilder()
    a, b = builder.garbler_input(64), builder.evaluator_input(64)
    builder.output(builder.gt(a, b))
    assert builder.build().n_and == 64
    builder = CircuitBuilder()
    a, b = builder.garbler_input(32), builder.evaluator_input(32)
    builder.output(builder.add(a, b, carry_out=True))
    builder.output(builder.eq(a, b))
    circuit = builder.build()
    assert circuit.n_and == 32 + 31
    assert circuit.depth < 32 * 3 + 8


def test_millionaires_circuit_is_wide() -> None:
    circuit = millionaires_circuit(bits=64, lanes=1024)
    assert circuit.n_and == 64 * 1024
    assert circuit.and_depth == 64
    assert {len(layer.and_out) for layer in circuit.layers} <= {0, 1024}
    values = np.array([0, 1, 2**64 - 1, 2**63, 5], dtype=np.uint64)
    small = millionaires_circuit(bits=64, lanes=5)
    a, b = values, values[::-1].copy()
    out = evaluate_plain(small, ints_to_bits(a, 64).reshape(-1), ints_to_bits(b, 64).reshape(-1))
    assert out.tolist() == [int(x > y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]


def test_constants_fold_and_materialise() -> None:
    builder = CircuitBuilder()
    a = builder.garbler_input(8)
    three = builder.constant(int_to_bits(3, 8))
    above = builder.gt(a, three)
    total = builder.add(a, three)
    zero_and = builder.and_(a, builder.constant(np.zeros(8, dtype=np.uint8)))
    constant_out = builder.output(builder.constant([1, 0, 1]))
    outputs = [builder.output(wires) for wires in (above, total, zero_and)]
    circuit = builder.build()
    for value in (0, 3, 4, 255):
        out = evaluate_plain(circuit, int_to_bits(value, 8), np.zeros(0, dtype=np.uint8))
        assert out[constant_out].tolist() == [1, 0, 1]
        assert out[outputs[0]].tolist() == [int(value > 3)]
        assert bits_to_int(out[outputs[1]]) == (value + 3) % 256
        assert out[outputs[2]].tolist() == [0] * 8


def test_constant_only_expressions_fold_completely() -> None:
    builder = CircuitBuilder()
    one, zero = builder.constant(1), builder.constant(0)
    assert builder.xor(one, one).tolist() == builder.constant(0).tolist()
    assert builder.and_(one, one).tolist() == one.tolist()
    assert builder.not_(zero).tolist() == one.tolist()
    with pytest.raises(CircuitError, match="input wire"):
        builder.output(one)


@pytest.mark.parametrize(
    "action",
    [
        lambda b, x, y: b.add(x, y[:4]),
        lambda b, x, y: b.gt(x[0], y[0]),
        lambda b, x, y: b.eq(x[:0], y[:0]),
        lambda b, x, y: b.xor(x, np.array([99])),
        lambda b, x, y: b.xor(x, np.array([0.5])),
        lambda b, x, y: b.constant([2]),
        lambda b, x, y: b.garbler_input(-1),
    ],
)
def test_builder_rejects_misuse(action: object) -> None:
    builder = CircuitBuilder()
    x, y = builder.garbler_input(8), builder.evaluator_input(8)
    with pytest.raises(CircuitError):
        action(builder, x, y)  # type: ignore[operator]


def test_millionaires_circuit_rejects_bad_sizes() -> None:
    with pytest.raises(CircuitError):
        millionaires_circuit(bits=0)
    with pytest.raises(CircuitError):
        millionaires_circuit(lanes=True)
