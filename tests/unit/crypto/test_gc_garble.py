"""Half-gates garbling: garbled evaluation equals plaintext, serialisation, two-party runs."""

from __future__ import annotations

import secrets

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaihuo.crypto._errors import CircuitError, InvalidCryptoInputError
from chaihuo.crypto.gc import (
    Circuit,
    CircuitBuilder,
    GarbledCircuit,
    Gate,
    decode,
    evaluate,
    evaluate_plain,
    garble,
    int_to_bits,
    ints_to_bits,
    labels_from_bytes,
    labels_to_bytes,
    millionaires,
    millionaires_circuit,
    run_two_party,
    select_labels,
)


@st.composite
def _random_circuits(draw: st.DrawFn) -> tuple[Circuit, np.ndarray, np.ndarray]:
    """A random circuit with shuffled wire ids, plus random inputs for both parties."""
    n_garbler = draw(st.integers(0, 5))
    n_evaluator = draw(st.integers(0 if n_garbler else 1, 5))
    n_inputs = n_garbler + n_evaluator
    kinds = draw(st.lists(st.sampled_from(list(Gate)), min_size=1, max_size=40))
    rows = []
    for index, kind in enumerate(kinds):
        available = n_inputs + index
        a = draw(st.integers(0, available - 1))
        b = a if kind == Gate.NOT else draw(st.integers(0, available - 1))
        rows.append([kind, a, b, available])
    n_wires = n_inputs + len(kinds)
    rename = np.array(draw(st.permutations(range(n_wires))), dtype=np.int64)
    gates = np.array(rows, dtype=np.int64)
    gates[:, 1:] = rename[gates[:, 1:]]
    outputs = draw(st.lists(st.integers(0, n_wires - 1), min_size=1, max_size=8))
    circuit = Circuit(
        n_wires,
        rename[:n_garbler],
        rename[n_garbler:n_inputs],
        gates,
        rename[np.array(outputs, dtype=np.int64)],
    )
    garbler = np.array(draw(st.lists(st.integers(0, 1), min_size=n_garbler, max_size=n_garbler)))
    evaluator = draw(st.lists(st.integers(0, 1), min_size=n_evaluator, max_size=n_evaluator))
    return circuit, garbler.astype(np.uint8), np.array(evaluator, dtype=np.uint8)


def _garbled_run(circuit: Circuit, garbler: np.ndarray, evaluator: np.ndarray) -> np.ndarray:
    garbling = garble(circuit, garbler)
    evaluator_labels = select_labels(garbling.evaluator_label_pairs, evaluator)
    labels = evaluate(circuit, garbling.garbled, garbling.garbler_labels, evaluator_labels)
    bits = decode(labels, garbling.garbled.decoding)
    assert np.array_equal(garbling.decode_output_labels(labels), bits)
    return bits


@settings(max_examples=200, deadline=None)
@given(_random_circuits())
def test_garbled_equals_plaintext_on_random_circuits(
    case: tuple[Circuit, np.ndarray, np.ndarray],
) -> None:
    circuit, garbler, evaluator = case
    expected = evaluate_plain(circuit, garbler, evaluator)
    assert np.array_equal(_garbled_run(circuit, garbler, evaluator), expected)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 80).flatmap(
        lambda w: st.tuples(
            st.just(w), st.lists(st.integers(0, 2**w - 1), min_size=2, max_size=8, unique=True)
        )
    )
)
def test_garbled_gadgets_equal_plaintext(case: tuple[int, list[int]]) -> None:
    width, values = case
    builder = CircuitBuilder()
    a = builder.garbler_input((len(values), width))
    b = builder.evaluator_input((len(values), width))
    for wires in (builder.add(a, b), builder.sub(a, b), builder.maximum(a, b)):
        builder.output(wires)
    builder.output(builder.eq(a, b))
    builder.output(builder.constant([1, 0]))
    circuit = builder.build()
    garbler = ints_to_bits(values, width).reshape(-1)
    evaluator = ints_to_bits(values[::-1], width).reshape(-1)
    expected = evaluate_plain(circuit, garbler, evaluator)
    assert np.array_equal(_garbled_run(circuit, garbler, evaluator), expected)


def test_wide_comparison_circuit() -> None:
    lanes = 256
    circuit = millionaires_circuit(bits=64, lanes=lanes)
    a = [secrets.randbits(64) for _ in range(lanes)]
    b = [secrets.randbits(64) for _ in range(lanes)]
    b[:4] = [a[0], 0, 2**64 - 1, a[3] + 1 if a[3] < 2**64 - 1 else 0]
    bits = _garbled_run(circuit, ints_to_bits(a, 64).reshape(-1), ints_to_bits(b, 64).reshape(-1))
    assert bits.tolist() == [int(x > y) for x, y in zip(a, b, strict=True)]


def test_labels_have_free_xor_structure() -> None:
    circuit = millionaires_circuit(bits=8)
    garbling = garble(circuit, int_to_bits(5, 8))
    pairs = garbling.evaluator_label_pairs
    deltas = pairs[:, 0] ^ pairs[:, 1]
    assert (deltas == deltas[0]).all()  # one global offset Δ
    assert int(deltas[0, 0]) & 1 == 1  # lsb(Δ) = 1: the two labels' permute bits differ
    assert garbling.garbled.tables.shape == (circuit.n_and, 2, 2)
    assert "delta" not in repr(garbling)
    assert "evaluator_label_pairs" not in repr(garbling)  # both labels would reveal Δ
    other = garble(circuit, int_to_bits(5, 8))
    assert not np.array_equal(other.garbled.tables, garbling.garbled.tables)  # fresh randomness


def test_forged_output_label_is_rejected() -> None:
    circuit = millionaires_circuit(bits=8)
    garbling = garble(circuit, int_to_bits(5, 8))
    labels = select_labels(garbling.evaluator_label_pairs, int_to_bits(9, 8))
    out = evaluate(circuit, garbling.garbled, garbling.garbler_labels, labels)
    assert garbling.decode_output_labels(out).tolist() == [0]
    forged = out.copy()
    forged[0, 1] ^= np.uint64(1 << 40)
    with pytest.raises(InvalidCryptoInputError, match="not a valid label"):
        garbling.decode_output_labels(forged)


# -- serialisation --------------------------------------------------------------------------


def _garbled_example() -> tuple[Circuit, GarbledCircuit]:
    builder = CircuitBuilder()
    a, b = builder.garbler_input(5), builder.evaluator_input(5)
    builder.output(builder.add(a, b, carry_out=True))
    builder.output(builder.gt(a, b))
    circuit = builder.build()
    return circuit, garble(circuit, int_to_bits(13, 5)).garbled


def test_garbled_circuit_round_trip() -> None:
    circuit, garbled = _garbled_example()
    data = garbled.to_bytes()
    assert len(data) == 5 + 32 + 16 + circuit.n_and * 32 + 1
    parsed = GarbledCircuit.from_bytes(data, circuit)
    assert np.array_equal(parsed.tables, garbled.tables)
    assert np.array_equal(parsed.decoding, garbled.decoding)
    assert parsed.fingerprint == garbled.fingerprint
    assert parsed.to_bytes() == data


def test_garbled_circuit_rejects_bad_bytes() -> None:
    circuit, garbled = _garbled_example()
    data = garbled.to_bytes()
    for cut in (0, 10, 60, len(data) - 1):
        with pytest.raises(InvalidCryptoInputError):
            GarbledCircuit.from_bytes(data[:cut], circuit)
    with pytest.raises(InvalidCryptoInputError):
        GarbledCircuit.from_bytes(data + b"\x00", circuit)
    with pytest.raises(InvalidCryptoInputError, match="magic"):
        GarbledCircuit.from_bytes(b"XXXX" + data[4:], circuit)
    with pytest.raises(InvalidCryptoInputError, match="padding"):
        GarbledCircuit.from_bytes(data[:-1] + bytes([data[-1] | 0x80]), circuit)
    with pytest.raises(CircuitError, match="different circuit"):
        GarbledCircuit.from_bytes(data, millionaires_circuit(bits=5))


def test_labels_round_trip_and_reject_bad_sizes() -> None:
    labels = np.array([[1, 2], [2**64 - 1, 0]], dtype=np.uint64)
    data = labels_to_bytes(labels)
    assert len(data) == 32
    assert data[:8] == (1).to_bytes(8, "little")
    assert np.array_equal(labels_from_bytes(data, 2), labels)
    with pytest.raises(InvalidCryptoInputError):
        labels_from_bytes(data[:-1], 2)
    with pytest.raises(InvalidCryptoInputError):
        labels_from_bytes(data, 3)
    with pytest.raises(InvalidCryptoInputError):
        labels_to_bytes(np.zeros((2, 3), dtype=np.uint64))
    with pytest.raises(InvalidCryptoInputError):
        labels_to_bytes(np.zeros((2, 2), dtype=np.int64))


def test_evaluate_rejects_mismatched_inputs() -> None:
    circuit, garbled = _garbled_example()
    good = np.zeros((5, 2), dtype=np.uint64)
    with pytest.raises(InvalidCryptoInputError):
        evaluate(circuit, garbled, good[:4], good)
    with pytest.raises(InvalidCryptoInputError):
        evaluate(circuit, garbled, good, good.astype(np.int64))
    with pytest.raises(CircuitError, match="different circuit"):
        evaluate(millionaires_circuit(bits=5), garbled, good, good)
    with pytest.raises(CircuitError):
        garble(circuit, [0, 1])
    with pytest.raises(CircuitError):
        garble(circuit, np.zeros((2, 5), dtype=np.uint8))
    with pytest.raises(CircuitError):
        decode(good[:2], [0, 1, 0])
    with pytest.raises(InvalidCryptoInputError):
        select_labels(np.zeros((3, 2, 2), dtype=np.uint64), [[0, 1, 0]])


# -- two-party runs with real OT --------------------------------------------------------------

_MAX = 2**64 - 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (0, 0),
        (_MAX, _MAX),
        (12345, 12345),
        (0, _MAX),
        (_MAX, 0),
        (1, 0),
        (0, 1),
        (2**63, 2**63 - 1),
    ],
)
def test_millionaires_edge_cases(a: int, b: int) -> None:
    result = millionaires(a, b)
    assert result.a_greater is (a > b)
    assert result.stats.and_gates == 64
    # Garbler: header + 64 ANDs × 32 + 1 decoding byte + 64 labels + κ points + 64 × 2 labels.
    assert result.stats.garbler_bytes_sent == (53 + 64 * 32 + 1) + 64 * 16 + 128 * 32 + 64 * 32
    assert result.stats.evaluator_bytes_sent == 32 + 128 * 8 + 1


@settings(max_examples=8, deadline=None)
@given(st.integers(0, _MAX), st.integers(0, _MAX))
def test_millionaires_random(a: int, b: int) -> None:
    assert millionaires(a, b).a_greater is (a > b)


def test_millionaires_other_widths_and_bad_values() -> None:
    assert millionaires(6, 5, bits=3).a_greater
    assert not millionaires(5, 6, bits=3).a_greater
    with pytest.raises(InvalidCryptoInputError):
        millionaires(8, 1, bits=3)
    with pytest.raises(InvalidCryptoInputError):
        millionaires(-1, 1)


def test_run_two_party_without_evaluator_inputs() -> None:
    builder = CircuitBuilder()
    a = builder.garbler_input(4)
    builder.output(builder.add(a, builder.constant(int_to_bits(1, 4))))
    circuit = builder.build()
    result = run_two_party(circuit, int_to_bits(9, 4), np.zeros(0, dtype=np.uint8))
    assert result.outputs.tolist() == int_to_bits(10, 4).tolist()
    with pytest.raises(CircuitError):
        run_two_party(circuit, np.zeros((2, 4), dtype=np.uint8), [])
