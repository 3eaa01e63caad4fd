"""Yao garbling with free-XOR, half-gates and point-and-permute, one circuit layer at a time."""

# Every wire w has labels W⁰ and W¹ = W⁰ ⊕ Δ for one secret global offset Δ with lsb(Δ) = 1
# (free-XOR: Kolesnikov–Schneider, ICALP 2008), so XOR gates cost nothing and NOT gates only
# flip the meaning of the labels. lsb(W) is the public point-and-permute bit (Beaver–Micali–
# Rogaway 1990). AND gates are half-gates (Zahur–Rosulek–Evans, "Two Halves Make a Whole",
# EUROCRYPT 2015): two ciphertexts per gate, four hashes to garble, two to evaluate.

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import CircuitError, InvalidCryptoInputError
from chaihuo.crypto._random import random_uint64
from chaihuo.crypto.gc._aes import BLOCK_BYTES, Blocks, FixedKeyAES
from chaihuo.crypto.gc._circuit import BitArray, Circuit, Layer, check_input_bits

__all__ = [
    "GarbledCircuit",
    "Garbling",
    "decode",
    "evaluate",
    "garble",
    "labels_from_bytes",
    "labels_to_bytes",
    "select_labels",
]

# Tweak i = (gate tweak, domain) in the TCCR hash; OT extension uses another domain.
GARBLE_TWEAK_DOMAIN = 0
_MAGIC = b"CHGC\x01"
_HEADER = struct.Struct("<5s32sQQ")
_ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def _check_labels(labels: npt.ArrayLike, count: int, name: str) -> Blocks:
    array = np.asarray(labels)
    if array.dtype != np.uint64 or array.shape != (count, 2):
        raise InvalidCryptoInputError(
            f"{name} must be a ({count}, 2) uint64 array, got {array.dtype} {array.shape}"
        )
    return array


def labels_to_bytes(labels: npt.ArrayLike) -> bytes:
    """Fixed layout of (n, 2) uint64 labels: n blocks of 16 bytes, words little-endian."""
    array = np.asarray(labels)
    if array.dtype != np.uint64 or array.ndim != 2 or array.shape[1] != 2:
        raise InvalidCryptoInputError(f"labels must be (n, 2) uint64, got {array.shape}")
    return array.astype("<u8").tobytes()


def labels_from_bytes(data: bytes, count: int) -> Blocks:
    """Parse exactly `count` labels written by `labels_to_bytes`."""
    if len(data) != count * BLOCK_BYTES:
        raise InvalidCryptoInputError(
            f"expected {count} labels ({count * BLOCK_BYTES} bytes), got {len(data)} bytes"
        )
    return np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(count, 2)


def select_labels(pairs: npt.ArrayLike, bits: npt.ArrayLike) -> Blocks:
    """Row j of (n, 2, 2) label pairs at index bits[j]: what 1-out-of-2 OT delivers."""
    array = np.asarray(pairs)
    if array.dtype != np.uint64 or array.ndim != 3 or array.shape[1:] != (2, 2):
        raise InvalidCryptoInputError(f"label pairs must be (n, 2, 2) uint64, got {array.shape}")
    choice = check_input_bits(bits, len(array), "choice", InvalidCryptoInputError)
    if choice.ndim != 1:
        raise InvalidCryptoInputError("choice bits must be one-dimensional")
    return np.ascontiguousarray(array[np.arange(len(array)), choice])


@dataclass(frozen=True)
class GarbledCircuit:
    """What the garbler publishes: half-gate tables and the output decoding bits."""

    tables: Blocks  # (n_and, 2, 2): (T_G, T_E) per AND gate, in layer order
    decoding: BitArray  # (n_out,): lsb of each output wire's 0-label
    fingerprint: bytes  # of the circuit it was garbled for

    def to_bytes(self) -> bytes:
        """Magic, circuit fingerprint, n_and, n_out (u64 LE), tables, packed decoding bits."""
        header = _HEADER.pack(_MAGIC, self.fingerprint, len(self.tables), len(self.decoding))
        table_bytes = self.tables.astype("<u8").tobytes()
        return header + table_bytes + np.packbits(self.decoding, bitorder="little").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, circuit: Circuit) -> GarbledCircuit:
        """Parse and check against `circuit` (fingerprint, gate and output counts, length)."""
        if len(data) < _HEADER.size:
            raise InvalidCryptoInputError(f"garbled circuit truncated: {len(data)} bytes")
        magic, fingerprint, n_and, n_out = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise InvalidCryptoInputError("not a garbled circuit (bad magic or version)")
        if not hmac.compare_digest(fingerprint, circuit.fingerprint):
            raise CircuitError("garbled circuit was made for a different circuit")
        if (n_and, n_out) != (circuit.n_and, circuit.n_outputs):
            raise CircuitError(f"garbled circuit has {n_and} ANDs/{n_out} outputs, circuit not")
        table_end = _HEADER.size + n_and * 2 * BLOCK_BYTES
        expected = table_end + (n_out + 7) // 8
        if len(data) != expected:
            raise InvalidCryptoInputError(f"garbled circuit is {len(data)} bytes, not {expected}")
        tables = np.frombuffer(data, dtype="<u8", count=n_and * 4, offset=_HEADER.size)
        packed = np.frombuffer(data, dtype=np.uint8, offset=table_end)
        decoding = np.unpackbits(packed, count=n_out, bitorder="little")
        if n_out % 8 and int(packed[-1]) >> (n_out % 8):
            raise InvalidCryptoInputError("garbled circuit has non-zero padding bits")
        return cls(tables.astype(np.uint64).reshape(n_and, 2, 2), decoding, fingerprint)


@dataclass(frozen=True)
class Garbling:
    """The garbler's result: public messages plus secrets that never leave the garbler."""

    garbled: GarbledCircuit  # send to the evaluator
    garbler_labels: Blocks  # (n_g, 2) active labels of the garbler's own bits: send
    # (n_e, 2, 2): [j, b] encodes bit b of evaluator input j; the OT sender's messages.
    evaluator_label_pairs: Blocks = field(repr=False)
    _delta: Blocks = field(repr=False)
    _output_zero_labels: Blocks = field(repr=False)

    def decode_output_labels(self, labels: npt.ArrayLike) -> BitArray:
        """Decode output labels returned by the evaluator; a label that is neither the
        0- nor the 1-label of its wire (a forged or corrupted one) is rejected.
        """
        active = _check_labels(labels, len(self._output_zero_labels), "output labels")
        one_labels = self._output_zero_labels ^ self._delta
        is_zero: npt.NDArray[np.bool_] = (active == self._output_zero_labels).all(axis=1)
        is_one: npt.NDArray[np.bool_] = (active == one_labels).all(axis=1)
        if not (is_zero | is_one).all():
            raise InvalidCryptoInputError("an output label is not a valid label of its wire")
        return is_one.astype(np.uint8)


def _lsb_mask(labels: Blocks) -> Blocks:
    """All-ones where lsb(label) = 1, else zero, shaped (n, 1) to mask whole blocks."""
    return ((labels[:, :1] & np.uint64(1)) * _ALL_ONES).astype(np.uint64)


def _gate_tweaks(layer: Layer, copies: int) -> npt.NDArray[np.uint64]:
    """Tweaks j = 2g (garbler half) and j' = 2g + 1 (evaluator half) for AND gate g."""
    count = len(layer.and_out)
    j = 2 * np.arange(layer.and_start, layer.and_start + count, dtype=np.uint64)
    return np.concatenate([j] * copies + [j + np.uint64(1)] * copies)


def _garble_layer(
    layer: Layer, zero: Blocks, delta: Blocks, tables: Blocks, aes: FixedKeyAES
) -> None:
    """Free XOR/NOT on 0-labels, then every AND of the layer with one batched hash."""
    if len(layer.xor_out):
        zero[layer.xor_out] = zero[layer.xor_a] ^ zero[layer.xor_b]
    if len(layer.not_out):
        zero[layer.not_out] = zero[layer.not_in] ^ delta
    count = len(layer.and_out)
    if not count:
        return
    a0, b0 = zero[layer.and_a], zero[layer.and_b]
    inputs = np.empty((4 * count, 2), dtype=np.uint64)
    inputs[:count] = a0
    np.bitwise_xor(a0, delta, out=inputs[count : 2 * count])
    inputs[2 * count : 3 * count] = b0
    np.bitwise_xor(b0, delta, out=inputs[3 * count :])
    hashed = aes.tccr(inputs, _gate_tweaks(layer, 2), GARBLE_TWEAK_DOMAIN)
    ha0, ha1 = hashed[:count], hashed[count : 2 * count]
    hb0, hb1 = hashed[2 * count : 3 * count], hashed[3 * count :]
    pa, pb = _lsb_mask(a0), _lsb_mask(b0)
    # Garbler half computes a ∧ p_b (p_b is known to the garbler):
    #   T_G = H(A⁰, j) ⊕ H(A¹, j) ⊕ p_b·Δ,   W_G⁰ = H(A⁰, j) ⊕ p_a·T_G.
    # Evaluator half computes a ∧ (b ⊕ p_b), where b ⊕ p_b = lsb of the active B label:
    #   T_E = H(B⁰, j') ⊕ H(B¹, j') ⊕ A⁰,   W_E⁰ = H(B⁰, j') ⊕ p_b·(T_E ⊕ A⁰).
    t_g = ha0 ^ ha1 ^ (pb & delta)
    t_e = hb0 ^ hb1 ^ a0
    stop = layer.and_start + count
    tables[layer.and_start : stop, 0] = t_g
    tables[layer.and_start : stop, 1] = t_e
    zero[layer.and_out] = ha0 ^ (pa & t_g) ^ hb0 ^ (pb & (hb0 ^ hb1))


def garble(circuit: Circuit, garbler_bits: npt.ArrayLike) -> Garbling:
    """Garble `circuit` with fresh labels and Δ, and encode the garbler's input bits."""
    bits = check_input_bits(garbler_bits, circuit.n_garbler_inputs, "garbler")
    if bits.ndim != 1:
        raise CircuitError("garble takes one garbler input vector, shape (n_garbler_inputs,)")
    delta = random_uint64((1, 2))
    delta[0, 0] |= np.uint64(1)  # lsb(Δ) = 1 makes the two labels' permute bits differ
    zero = np.empty((circuit.n_wires, 2), dtype=np.uint64)
    inputs = np.concatenate([circuit.garbler_inputs, circuit.evaluator_inputs])
    zero[inputs] = random_uint64((len(inputs), 2))
    tables = np.empty((circuit.n_and, 2, 2), dtype=np.uint64)
    aes = FixedKeyAES()
    for layer in circuit.layers:
        _garble_layer(layer, zero, delta, tables, aes)
    out_zero = zero[circuit.outputs]
    garbler_zero = zero[circuit.garbler_inputs]
    garbler_labels = garbler_zero ^ (bits[:, None].astype(np.uint64) * _ALL_ONES & delta)
    evaluator_zero = zero[circuit.evaluator_inputs]
    pairs = np.stack([evaluator_zero, evaluator_zero ^ delta], axis=1)
    garbled = GarbledCircuit(
        tables, (out_zero[:, 0] & np.uint64(1)).astype(np.uint8), circuit.fingerprint
    )
    return Garbling(garbled, garbler_labels, pairs, delta, out_zero)


def _evaluate_layer(layer: Layer, active: Blocks, tables: Blocks, aes: FixedKeyAES) -> None:
    if len(layer.xor_out):
        active[layer.xor_out] = active[layer.xor_a] ^ active[layer.xor_b]
    if len(layer.not_out):
        active[layer.not_out] = active[layer.not_in]
    count = len(layer.and_out)
    if not count:
        return
    a, b = active[layer.and_a], active[layer.and_b]
    hashed = aes.tccr(np.concatenate([a, b]), _gate_tweaks(layer, 1), GARBLE_TWEAK_DOMAIN)
    table = tables[layer.and_start : layer.and_start + count]
    # W = H(A, j) ⊕ s_a·T_G ⊕ H(B, j') ⊕ s_b·(T_E ⊕ A), s = lsb of the active label (ZRE15).
    active[layer.and_out] = (
        hashed[:count]
        ^ (_lsb_mask(a) & table[:, 0])
        ^ hashed[count:]
        ^ (_lsb_mask(b) & (table[:, 1] ^ a))
    )


def evaluate(
    circuit: Circuit,
    garbled: GarbledCircuit,
    garbler_labels: npt.ArrayLike,
    evaluator_labels: npt.ArrayLike,
) -> Blocks:
    """Evaluate the garbled circuit on active input labels; returns (n_out, 2) output labels."""
    if not hmac.compare_digest(garbled.fingerprint, circuit.fingerprint):
        raise CircuitError("garbled circuit was made for a different circuit")
    if garbled.tables.shape != (circuit.n_and, 2, 2) or garbled.tables.dtype != np.uint64:
        raise CircuitError(f"garbled tables must be ({circuit.n_and}, 2, 2) uint64")
    g_labels = _check_labels(garbler_labels, circuit.n_garbler_inputs, "garbler labels")
    e_labels = _check_labels(evaluator_labels, circuit.n_evaluator_inputs, "evaluator labels")
    active = np.empty((circuit.n_wires, 2), dtype=np.uint64)
    active[circuit.garbler_inputs] = g_labels
    active[circuit.evaluator_inputs] = e_labels
    aes = FixedKeyAES()
    for layer in circuit.layers:
        _evaluate_layer(layer, active, garbled.tables, aes)
    return np.ascontiguousarray(active[circuit.outputs])


def decode(output_labels: npt.ArrayLike, decoding: npt.ArrayLike) -> BitArray:
    """Output bits: lsb(active label) ⊕ lsb(0-label)."""
    labels = np.asarray(output_labels)
    bits = check_input_bits(decoding, len(labels), "decoding")
    labels = _check_labels(labels, len(bits), "output labels")
    return ((labels[:, 0] & np.uint64(1)).astype(np.uint8) ^ bits).astype(np.uint8)
