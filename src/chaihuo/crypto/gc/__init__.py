"""Semi-honest two-party garbled circuits: circuits, half-gates garbling, base OT and IKNP."""

from chaihuo.crypto.gc._aes import BLOCK_BYTES
from chaihuo.crypto.gc._base_ot import KEY_BYTES, POINT_BYTES, BaseOTReceiver, BaseOTSender
from chaihuo.crypto.gc._bits import bits_to_int, bits_to_ints, int_to_bits, ints_to_bits
from chaihuo.crypto.gc._builder import CircuitBuilder, millionaires_circuit
from chaihuo.crypto.gc._circuit import Circuit, Gate, Layer, evaluate_plain
from chaihuo.crypto.gc._garble import (
    GarbledCircuit,
    Garbling,
    decode,
    evaluate,
    garble,
    labels_from_bytes,
    labels_to_bytes,
    select_labels,
)
from chaihuo.crypto.gc._iknp import (
    KAPPA,
    OTExtensionReceiver,
    OTExtensionSender,
    transpose_bit_matrix,
)
from chaihuo.crypto.gc._two_party import (
    EvaluatorParty,
    GarblerParty,
    MillionairesResult,
    RunStats,
    TwoPartyResult,
    millionaires,
    run_two_party,
)

__all__ = [
    "BLOCK_BYTES",
    "KAPPA",
    "KEY_BYTES",
    "POINT_BYTES",
    "BaseOTReceiver",
    "BaseOTSender",
    "Circuit",
    "CircuitBuilder",
    "EvaluatorParty",
    "GarbledCircuit",
    "GarblerParty",
    "Garbling",
    "Gate",
    "Layer",
    "MillionairesResult",
    "OTExtensionReceiver",
    "OTExtensionSender",
    "RunStats",
    "TwoPartyResult",
    "bits_to_int",
    "bits_to_ints",
    "decode",
    "evaluate",
    "evaluate_plain",
    "garble",
    "int_to_bits",
    "ints_to_bits",
    "labels_from_bytes",
    "labels_to_bytes",
    "millionaires",
    "millionaires_circuit",
    "run_two_party",
    "select_labels",
    "transpose_bit_matrix",
]
