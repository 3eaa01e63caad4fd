"""Both sides of semi-honest two-party Yao as role objects, and a run of both in one process."""

# Message flow (G = garbler, E = evaluator; IKNP runs its base OTs in reverse roles):
#
#     G → E  garbled circuit, G's active input labels
#     E → G  base-OT setup A                       (E is the base-OT sender)
#     G → E  base-OT points B_1..B_κ
#     E → G  IKNP matrix u
#     G → E  encrypted label pairs y
#     E → G  output bits                            (so both parties learn the result)
#
# The garbler learns only the output; the evaluator learns the output and random-looking labels.

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import CircuitError, InvalidCryptoInputError
from chaihuo.crypto.gc._bits import int_to_bits
from chaihuo.crypto.gc._builder import millionaires_circuit
from chaihuo.crypto.gc._circuit import BitArray, Circuit, check_input_bits
from chaihuo.crypto.gc._garble import (
    GarbledCircuit,
    Garbling,
    decode,
    evaluate,
    garble,
    labels_from_bytes,
    labels_to_bytes,
)
from chaihuo.crypto.gc._iknp import OTExtensionReceiver, OTExtensionSender

__all__ = [
    "EvaluatorParty",
    "GarblerParty",
    "MillionairesResult",
    "RunStats",
    "TwoPartyResult",
    "millionaires",
    "run_two_party",
]


@dataclass(frozen=True)
class RunStats:
    """Size of one run: AND gates and bytes each side put on the wire."""

    and_gates: int
    garbler_bytes_sent: int
    evaluator_bytes_sent: int


@dataclass(frozen=True)
class TwoPartyResult:
    """Output bits of a two-party run, as both parties learn them, with its stats."""

    outputs: BitArray
    stats: RunStats


@dataclass(frozen=True)
class MillionairesResult:
    """Answer of Yao's millionaires problem: is the garbler's a greater than the evaluator's b."""

    a_greater: bool
    stats: RunStats


class GarblerParty:
    """The garbler's side of one run: its bits, Δ and labels (inside `Garbling`), its OT state.

    Drive it with the message flow above: `circuit_message` → (`base_ot_response`, `ot_send`
    when the evaluator has inputs) → `receive_output` if the evaluator shares the result.
    """

    def __init__(self, circuit: Circuit, bits: npt.ArrayLike) -> None:
        checked = check_input_bits(bits, circuit.n_garbler_inputs, "garbler")
        if checked.ndim != 1:
            raise CircuitError("the garbler takes one input vector, shape (n_garbler_inputs,)")
        self._circuit = circuit
        self._garbling: Garbling = garble(circuit, checked)
        self._ot = OTExtensionSender()
        self.output: BitArray | None = None

    def circuit_message(self) -> tuple[bytes, bytes]:
        """The garbled circuit and the garbler's active input labels, for the evaluator."""
        return (
            self._garbling.garbled.to_bytes(),
            labels_to_bytes(self._garbling.garbler_labels),
        )

    def base_ot_response(self, setup: bytes) -> bytes:
        """Reply to the evaluator's base-OT setup (validates the received point)."""
        return self._ot.base_ot_response(setup)

    def ot_send(self, u: bytes) -> bytes:
        """The evaluator's input label pairs, encrypted under IKNP for its matrix `u`."""
        return self._ot.send(u, self._garbling.evaluator_label_pairs)

    def receive_output(self, data: bytes) -> BitArray:
        """Accept the output bits the evaluator reports (one byte 0/1 per output)."""
        count = self._circuit.n_outputs
        if len(data) != count:
            raise InvalidCryptoInputError(f"expected {count} output bytes, got {len(data)}")
        self.output = check_input_bits(np.frombuffer(data, np.uint8), count, "output")
        return self.output


class EvaluatorParty:
    """The evaluator's side of one run: its bits, its OT-receiver state, the labels it gets."""

    def __init__(self, circuit: Circuit, bits: npt.ArrayLike) -> None:
        checked = check_input_bits(bits, circuit.n_evaluator_inputs, "evaluator")
        if checked.ndim != 1:
            raise CircuitError("the evaluator takes one input vector, shape (n_evaluator_inputs,)")
        self._circuit = circuit
        self._ot = OTExtensionReceiver(checked) if len(checked) else None
        self._garbled: GarbledCircuit | None = None
        self._garbler_labels = np.empty((0, 2), dtype=np.uint64)
        self._labels = np.empty((0, 2), dtype=np.uint64)

    @property
    def needs_ot(self) -> bool:
        """Whether this evaluator has input bits, hence runs the OT steps."""
        return self._ot is not None

    def receive_circuit(self, garbled: bytes, garbler_labels: bytes) -> None:
        """Parse and check the garbled circuit and the garbler's labels."""
        self._garbled = GarbledCircuit.from_bytes(garbled, self._circuit)
        count = self._circuit.n_garbler_inputs
        self._garbler_labels = labels_from_bytes(garbler_labels, count)

    def _receiver(self) -> OTExtensionReceiver:
        if self._ot is None:
            raise InvalidCryptoInputError("an evaluator without input bits runs no OT")
        return self._ot

    def ot_setup(self) -> bytes:
        """First base-OT message (the evaluator is the base-OT sender in IKNP)."""
        return self._receiver().base_ot_setup()

    def ot_extend(self, response: bytes) -> bytes:
        """The IKNP matrix u from the garbler's base-OT response."""
        return self._receiver().extend(response)

    def ot_receive(self, ciphertexts: bytes) -> None:
        """Decrypt the labels of this evaluator's input bits."""
        self._labels = self._receiver().receive(ciphertexts)

    def evaluate(self) -> BitArray:
        """Evaluate the garbled circuit and decode the output bits."""
        if self._garbled is None:
            raise InvalidCryptoInputError("evaluate() needs the garbled circuit first")
        labels = evaluate(self._circuit, self._garbled, self._garbler_labels, self._labels)
        return decode(labels, self._garbled.decoding)


def run_two_party(
    circuit: Circuit, garbler_bits: npt.ArrayLike, evaluator_bits: npt.ArrayLike
) -> TwoPartyResult:
    """Garble, transfer the evaluator's labels by base OT + IKNP, evaluate and share the output."""
    g_bits = check_input_bits(garbler_bits, circuit.n_garbler_inputs, "garbler")
    e_bits = check_input_bits(evaluator_bits, circuit.n_evaluator_inputs, "evaluator")
    if g_bits.ndim != 1 or e_bits.ndim != 1:
        raise CircuitError("run_two_party takes one input vector per party")
    garbler, evaluator = GarblerParty(circuit, g_bits), EvaluatorParty(circuit, e_bits)
    sent = {"garbler": 0, "evaluator": 0}

    def wire(sender: str, *messages: bytes) -> None:
        sent[sender] += sum(len(message) for message in messages)

    garbled, labels = garbler.circuit_message()
    wire("garbler", garbled, labels)
    evaluator.receive_circuit(garbled, labels)
    if len(e_bits):
        setup = evaluator.ot_setup()
        wire("evaluator", setup)
        response = garbler.base_ot_response(setup)
        wire("garbler", response)
        u = evaluator.ot_extend(response)
        wire("evaluator", u)
        ciphertexts = garbler.ot_send(u)
        wire("garbler", ciphertexts)
        evaluator.ot_receive(ciphertexts)
    result = evaluator.evaluate()
    wire("evaluator", result.tobytes())
    garbler.receive_output(result.tobytes())
    stats = RunStats(circuit.n_and, sent["garbler"], sent["evaluator"])
    return TwoPartyResult(result, stats)


def millionaires(a: int, b: int, bits: int = 64) -> MillionairesResult:
    """Yao's millionaires: the garbler holds a, the evaluator b; both learn whether a > b."""
    circuit = millionaires_circuit(bits)
    run = run_two_party(circuit, int_to_bits(a, bits), int_to_bits(b, bits))
    return MillionairesResult(bool(run.outputs[0]), run.stats)
