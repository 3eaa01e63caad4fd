"""Secure comparison by garbled circuit + OT-based B2A: exact on edge cases, 2 and 3 parties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chaihuo.mpc._compare as compare_module
from chaihuo.crypto.gc import evaluate_plain, ints_to_bits
from chaihuo.mpc import ProtocolError, Session, msb_circuit

RNG = np.random.default_rng(11)  # test data only
EDGES = np.array(
    [0, 1, -1, 2, -2, 2**40, -(2**40), 2**40 + 1, -(2**40) - 1, 2**62, -(2**63), 2**63 - 1],
    dtype=np.int64,
)


def _integers() -> np.ndarray:
    return np.concatenate([EDGES, RNG.integers(-(2**63), 2**63 - 1, size=20, dtype=np.int64)])


def test_circuit_computes_masked_sign_bit() -> None:
    values = np.array([5, 2**63, 2**64 - 1, 0], dtype=np.uint64)
    x0 = RNG.integers(0, 2**63, size=4).astype(np.uint64) * np.uint64(2)
    x1 = values - x0
    mask = np.array([1, 0, 1, 0], dtype=np.uint8)
    circuit = msb_circuit(4)
    garbler = np.concatenate([ints_to_bits(x0, 64).reshape(-1), mask])
    out = evaluate_plain(circuit, garbler, ints_to_bits(x1, 64).reshape(-1))
    np.testing.assert_array_equal(out ^ mask, [0, 1, 1, 0])
    assert circuit.n_and == 4 * 63


@pytest.mark.parametrize("n", [2, 3])
def test_less_than_zero_is_exact_on_integers(hub: Any, n: int) -> None:
    values = _integers()

    def program(s: Session) -> Any:
        x = s.input(n - 1, values if s.index == n - 1 else None, integer=True)
        return x.ltz().reveal(), x.sign().reveal()

    for bits, signs in hub.spmd(n, program, triples=None):
        np.testing.assert_array_equal(bits, (values < 0).astype(np.int64))
        np.testing.assert_array_equal(signs, np.where(values < 0, -1, 1))


@pytest.mark.parametrize("n", [2, 3])
def test_comparison_of_reals(hub: Any, n: int) -> None:
    a = np.concatenate([[0.0, 1.0, -1.0, 2.0**40, -(2.0**40), 3.5], RNG.normal(size=10)])
    b = np.concatenate([[0.0, -1.0, 1.0, -(2.0**40), 2.0**40, 3.5], RNG.normal(size=10)])

    def program(s: Session) -> Any:
        x = s.input(0, a if s.index == 0 else None)
        y = s.input(1, b if s.index == 1 else None)
        return x.lt(y).reveal(), x.gt(y).reveal(), x.lt(0.5).reveal()

    for lt, gt, below in hub.spmd(n, program, triples=None):
        np.testing.assert_array_equal(lt, (a < b).astype(np.int64))
        np.testing.assert_array_equal(gt, (a > b).astype(np.int64))
        np.testing.assert_array_equal(below, (a < 0.5).astype(np.int64))


def test_comparison_runs_in_chunks(hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare_module, "CHUNK_LANES", 7)  # 20 elements → 3 chunks of 7
    values = RNG.integers(-1000, 1000, size=(4, 5))

    def program(s: Session) -> Any:
        x = s.input(0, values if s.index == 0 else None, integer=True)
        return x.ltz().reveal()

    for bits in hub.spmd(2, program, triples=None):
        np.testing.assert_array_equal(bits, (values < 0).astype(np.int64))


def test_comparison_result_feeds_arithmetic(hub: Any) -> None:
    """ReLU(x) = x·[x ≥ 0] with one Beaver multiplication by the shared bit."""
    values = np.array([-3.5, 0.0, 2.25, -0.125, 7.0])

    def program(s: Session) -> Any:
        x = s.input(0, values if s.index == 0 else None)
        return (x * (1 - x.ltz())).reveal()

    for relu in hub.spmd(2, program):
        np.testing.assert_allclose(relu, np.maximum(values, 0), atol=2.0**-16)


def test_no_party_receives_the_others_share_in_two_party_comparison(hub: Any) -> None:
    values = RNG.integers(2**40, 2**62, size=8)

    def program(s: Session) -> Any:
        x = s.input(0, values if s.index == 0 else None, integer=True)
        return x.ltz().reveal()

    hub.spmd(2, program, triples=None)
    raw = values.astype("<i8").tobytes()
    for payload in hub.payloads("p1"):
        assert all(raw[8 * i : 8 * i + 8] not in payload for i in range(8))


def _two_party(hub: Any) -> dict[str, Any]:
    def program(i: int) -> Any:
        s = hub.session(i, 2, None)
        x = s.input(0, np.array([1.0, -2.0]) if i == 0 else None)
        return x.ltz()

    return hub.run_collect({"p0": lambda: program(0), "p1": lambda: program(1)})


def test_bad_derandomisation_bits_are_rejected(hub: Any) -> None:
    hub.tamper[("p1", "d")] = lambda d: np.full_like(d, 2)
    assert isinstance(_two_party(hub)["p0"], ProtocolError)


def test_corrupted_garbled_circuit_is_rejected(hub: Any) -> None:
    hub.tamper[("p0", "gc")] = lambda gc: (gc[0][:-1], gc[1])
    assert isinstance(_two_party(hub)["p1"], ProtocolError)


def test_wrong_b2a_message_shape_is_rejected(hub: Any) -> None:
    hub.tamper[("p0", "z")] = lambda z: z[:, :1]
    assert isinstance(_two_party(hub)["p1"], ProtocolError)


def test_invalid_base_ot_point_is_rejected(hub: Any) -> None:
    hub.tamper[("p1", "setup")] = lambda setup: bytes(32)
    assert isinstance(_two_party(hub)["p0"], ProtocolError)
