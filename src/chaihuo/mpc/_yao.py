"""Two-party Yao over a Channel: garbler and evaluator in separate processes, OT for inputs."""

# Message flow (G = garbler, E = evaluator), one name each in the caller's namespace:
#
#     E → G  "ot_setup"   base-OT first message (E is the base-OT sender inside IKNP)
#     G → E  "ot_base"    base-OT points
#     G → E  "circuit"    (garbled tables, G's active input labels)
#     E → G  "ot_u"       IKNP matrix u
#     G → E  "ot_labels"  E's input labels, encrypted pairwise
#     E → G  "output"     output bits (only when `share_output`; otherwise only E learns them)
#
# Semi-honest security (Yao 1986; Lindell–Pinkas 2009 proof): the evaluator sees garbled
# tables and one label per wire, the garbler sees only OT messages and, if shared, the output.
# Both parties must build the same circuit; the garbled circuit is bound to its fingerprint.

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.gc import (
    Circuit,
    EvaluatorParty,
    GarblerParty,
    int_to_bits,
    millionaires_circuit,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_bytes, expect_tuple
from chaihuo.mpc._errors import InvalidInputError, local_input, peer_data

__all__ = ["Role", "millionaires", "run_garbled"]

BitArray = npt.NDArray[np.uint8]

Role = Literal["garbler", "evaluator"]


def run_garbled(
    channel: Channel,
    circuit: Circuit,
    my_bits: npt.ArrayLike,
    role: Role,
    *,
    share_output: bool = True,
) -> BitArray | None:
    """Run `circuit` with this party's input bits; returns the output bits.

    The garbler passes its `circuit.n_garbler_inputs` bits, the evaluator its evaluator bits.
    With `share_output=False` the garbler gets None and only the evaluator learns the output.
    """
    bits = np.asarray(my_bits)
    if bits.size == 0:  # an empty list reads as float64; no bits is no bits
        bits = bits.astype(np.uint8)
    if role == "garbler":
        return _garble_side(channel, circuit, bits, share_output)
    if role == "evaluator":
        return _evaluate_side(channel, circuit, bits, share_output)
    raise InvalidInputError(f"role must be 'garbler' or 'evaluator', got {role!r}")


def _garble_side(
    channel: Channel, circuit: Circuit, bits: npt.ArrayLike, share_output: bool
) -> BitArray | None:
    with local_input("garbler input bits"):
        garbler = GarblerParty(circuit, bits)
    if circuit.n_evaluator_inputs:
        with peer_data("base OT setup"):
            channel.put(
                "ot_base",
                garbler.base_ot_response(expect_bytes(channel.get("ot_setup"), "ot_setup")),
            )
    channel.put("circuit", garbler.circuit_message())
    if circuit.n_evaluator_inputs:
        with peer_data("OT extension"):
            channel.put("ot_labels", garbler.ot_send(expect_bytes(channel.get("ot_u"), "ot_u")))
    if not share_output:
        return None
    with peer_data("output bits"):
        return garbler.receive_output(expect_bytes(channel.get("output"), "output"))


def _evaluate_side(
    channel: Channel, circuit: Circuit, bits: npt.ArrayLike, share_output: bool
) -> BitArray:
    with local_input("evaluator input bits"):
        evaluator = EvaluatorParty(circuit, bits)
    if evaluator.needs_ot:
        channel.put("ot_setup", evaluator.ot_setup())
        with peer_data("base OT reply"):
            channel.put(
                "ot_u", evaluator.ot_extend(expect_bytes(channel.get("ot_base"), "ot_base"))
            )
    tables, labels = expect_tuple(channel.get("circuit"), 2, "garbled circuit")
    with peer_data("garbled circuit"):
        evaluator.receive_circuit(expect_bytes(tables, "tables"), expect_bytes(labels, "labels"))
        if evaluator.needs_ot:
            evaluator.ot_receive(expect_bytes(channel.get("ot_labels"), "ot_labels"))
    output = evaluator.evaluate()
    if share_output:
        channel.put("output", np.ascontiguousarray(output, dtype=np.uint8).tobytes())
    return output


def millionaires(channel: Channel, my_value: int, role: Role, *, bits: int = 64) -> bool:
    """Yao's millionaires between two parties: True iff the garbler's value > the evaluator's.

    Each party passes its own unsigned `bits`-bit integer; both learn the one-bit answer.
    """
    with local_input("millionaires value"):
        my_bits = int_to_bits(my_value, bits)
        circuit = millionaires_circuit(bits)
    output = run_garbled(channel, circuit, my_bits, role, share_output=True)
    assert output is not None
    return bool(output[0])
