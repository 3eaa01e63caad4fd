"""Two-party Yao over channels: millionaires and general circuits match plaintext evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chaihuo.core import InvalidInputError
from chaihuo.crypto.gc import CircuitBuilder, evaluate_plain, ints_to_bits
from chaihuo.mpc import ProtocolError, millionaires, run_garbled

RNG = np.random.default_rng(5)  # test data only
TOP = 2**64 - 1


def _yao(hub: Any, a: int, b: int, bits: int = 64) -> dict[str, Any]:
    return hub.run(
        {
            "alice": lambda: millionaires(hub.channel("alice", "bob"), a, "garbler", bits=bits),
            "bob": lambda: millionaires(hub.channel("bob", "alice"), b, "evaluator", bits=bits),
        }
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [(0, 0), (1, 0), (0, 1), (TOP, TOP - 1), (TOP - 1, TOP), (TOP, TOP), (2**63, 2**63 - 1)],
)
def test_millionaires_edge_cases(hub: Any, a: int, b: int) -> None:
    result = _yao(hub, a, b)
    assert result == {"alice": a > b, "bob": a > b}


def test_millionaires_random_and_narrow(hub: Any) -> None:
    a, b = (int(v) for v in RNG.integers(0, 2**20, size=2))
    assert _yao(hub, a, b, bits=20)["bob"] is (a > b)


def _adder_circuit() -> Any:
    builder = CircuitBuilder()
    x = builder.garbler_input((3, 16))
    y = builder.evaluator_input((3, 16))
    builder.output(builder.add(x, y))
    builder.output(builder.eq(x, y))
    return builder.build()


@pytest.mark.parametrize("share_output", [True, False])
def test_run_garbled_matches_plaintext(hub: Any, share_output: bool) -> None:
    circuit = _adder_circuit()
    x, y = RNG.integers(0, 2**16, size=(2, 3))
    y[1] = x[1]
    gbits, ebits = ints_to_bits(x, 16).reshape(-1), ints_to_bits(y, 16).reshape(-1)
    result = hub.run(
        {
            "g": lambda: run_garbled(
                hub.channel("g", "e"), circuit, gbits, "garbler", share_output=share_output
            ),
            "e": lambda: run_garbled(
                hub.channel("e", "g"), circuit, ebits, "evaluator", share_output=share_output
            ),
        }
    )
    expected = evaluate_plain(circuit, gbits, ebits)
    np.testing.assert_array_equal(result["e"], expected)
    if share_output:
        np.testing.assert_array_equal(result["g"], expected)
    else:
        assert result["g"] is None
        assert not any(tag.endswith("output") for tag, _ in hub.received["g"])


def test_evaluator_without_inputs(hub: Any) -> None:
    builder = CircuitBuilder()
    x = builder.garbler_input(4)
    builder.output(builder.and_(x[:2], x[2:]))
    circuit = builder.build()
    bits = np.array([1, 1, 1, 0], dtype=np.uint8)
    result = hub.run(
        {
            "g": lambda: run_garbled(hub.channel("g", "e"), circuit, bits, "garbler"),
            "e": lambda: run_garbled(hub.channel("e", "g"), circuit, [], "evaluator"),
        }
    )
    np.testing.assert_array_equal(result["e"], [1, 0])


def test_tampered_garbled_circuit_is_a_protocol_error(hub: Any) -> None:
    hub.tamper[("alice", "circuit")] = lambda message: (message[0][:10], message[1])
    results = hub.run_collect(
        {
            "alice": lambda: millionaires(hub.channel("alice", "bob"), 5, "garbler"),
            "bob": lambda: millionaires(hub.channel("bob", "alice"), 3, "evaluator"),
        }
    )
    assert isinstance(results["bob"], ProtocolError)


def test_bad_output_message_is_a_protocol_error(hub: Any) -> None:
    hub.tamper[("bob", "output")] = lambda output: b"\x07"
    results = hub.run_collect(
        {
            "alice": lambda: millionaires(hub.channel("alice", "bob"), 5, "garbler"),
            "bob": lambda: millionaires(hub.channel("bob", "alice"), 3, "evaluator"),
        }
    )
    assert isinstance(results["alice"], ProtocolError)


def test_local_arguments_are_checked(hub: Any) -> None:
    with pytest.raises(InvalidInputError):
        millionaires(hub.channel("a", "b"), -1, "garbler")
    with pytest.raises(InvalidInputError):
        millionaires(hub.channel("a", "b"), 1, "referee")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        run_garbled(hub.channel("a", "b"), _adder_circuit(), [1, 0], "garbler")
