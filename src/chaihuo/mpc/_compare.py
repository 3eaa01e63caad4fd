"""Secure comparison: shared bits [x < 0] by one wide garbled circuit and an OT-based B2A."""

# Method (two parties; garbler = party 0, evaluator = party 1). For x = x0 + x1 mod 2^64 read
# in two's complement, x < 0 iff msb(x0 + x1) = 1. One SIMD circuit with a lane per element
# computes msb(x0 + x1) ⊕ r, where r is a uniform mask bit input by the garbler:
#   carry chain c_{i+1} = c_i ⊕ ((a_i ⊕ c_i) ∧ (b_i ⊕ c_i)) over the low 63 bits (one AND per
#   bit, the Boyar–Peralta majority), then msb = a_63 ⊕ b_63 ⊕ c_63: 63 AND gates per element,
#   garbled with half-gates (2 ciphertexts, 32 bytes, per AND) layer by layer for all lanes.
# The evaluator's 64 input bits per element travel by IKNP OT extension. It decodes o = msb ⊕ r,
# a uniform bit, so the pair (r, o) is an XOR sharing of [x < 0] and nobody learns the result.
#
# Boolean-to-arithmetic (ABY, Demmler–Schneider–Zohner NDSS 2015, B2A by OT): with b = r ⊕ o,
# the garbler picks a uniform s and offers m_c = (r ⊕ c) − s for c ∈ {0, 1}; an OT with choice
# o gives the evaluator m_o = b − s, so s + m_o = b in Z_2^64. The OT is a *random* OT run in
# the same IKNP batch as the circuit inputs (choice c uniform, pads k_0, k_1), derandomised
# afterwards (Beaver, "Precomputing oblivious transfer", CRYPTO 1995): the evaluator sends
# d = o ⊕ c, the garbler sends z_v = m_v ⊕ k_{v⊕d}, and m_o = z_o ⊕ k_c. No triple is used.
#
# Cost per element: 63 ANDs = 2 KiB of garbled tables, 65 OTs (≈ 2.1 KiB), one 64-bit word and
# one bit back; 7 messages per chunk of up to CHUNK_LANES elements. Circuits are built once per
# lane count and cached in the session (building dominates small calls).
#
# Three or more parties reduce to two: parties 2.. send their shares to party 1, which adds
# them to its own. Against any single semi-honest party this keeps privacy: party 1 then sees
# x1, x2, ... but not x0, and any n − 1 shares of an additive sharing are uniform and
# independent of x. Caveat: a coalition of parties 0 and 1 now holds every share, so the
# comparison tolerates one corrupted party (honest majority for three), not n − 1.

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._random import random_bits_array, random_uint64
from chaihuo.crypto.gc import (
    Circuit,
    CircuitBuilder,
    GarbledCircuit,
    OTExtensionReceiver,
    OTExtensionSender,
    decode,
    evaluate,
    garble,
    ints_to_bits,
    labels_from_bytes,
    labels_to_bytes,
)
from chaihuo.crypto.sharing import RingArray
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_array, expect_bytes, expect_ring, expect_tuple
from chaihuo.mpc._errors import ProtocolError, peer_data
from chaihuo.mpc._session import Session
from chaihuo.mpc._shared import SharedTensor

__all__ = ["CHUNK_LANES", "less_than_zero", "msb_circuit"]

CHUNK_LANES: Final = 8192
"""Most elements per garbled circuit (≈ 16 MiB of tables); larger inputs run in chunks."""
_BITS: Final = 64


def msb_circuit(lanes: int) -> Circuit:
    """`lanes` copies of msb(x0 + x1 mod 2^64) ⊕ r.

    Garbler inputs: x0 bits (lanes, 64) little-endian, then r (lanes,); evaluator inputs: x1
    bits (lanes, 64); output k is lane k's masked sign bit.
    """
    builder = CircuitBuilder()
    x0 = builder.garbler_input((lanes, _BITS))
    mask = builder.garbler_input(lanes)
    x1 = builder.evaluator_input((lanes, _BITS))
    carry = np.broadcast_to(builder.constant(0), (lanes,))
    for i in range(_BITS - 1):
        a, b = x0[:, i], x1[:, i]
        carry = builder.xor(carry, builder.and_(builder.xor(a, carry), builder.xor(b, carry)))
    top = builder.xor(builder.xor(x0[:, _BITS - 1], x1[:, _BITS - 1]), carry)
    builder.output(builder.xor(top, mask))
    return builder.build()


def _circuit(session: Session, lanes: int) -> Circuit:
    if lanes not in session.circuits:
        session.circuits[lanes] = msb_circuit(lanes)
    return session.circuits[lanes]


def less_than_zero(x: SharedTensor) -> SharedTensor:
    """Arithmetic shares of the bits [x < 0] (an integer tensor), for 2 or more parties."""
    session = x.session
    scope = session.scope("ltz")
    flat = x.share.reshape(-1)
    total = flat.size
    if session.index == 1:
        flat = _fold_shares(session, scope, flat)
    elif session.index >= 2:
        session.peer(1).sub(scope).put("fold", flat)
        return SharedTensor(session, np.zeros(x.shape, dtype=np.uint64), 0)
    out = np.zeros(total, dtype=np.uint64)
    if total:
        chunks = -(-total // CHUNK_LANES)
        lanes = -(-total // chunks)
        padded = np.zeros(chunks * lanes, dtype=np.uint64)
        padded[:total] = flat
        circuit = _circuit(session, lanes)
        run = _garbler_chunk if session.index == 0 else _evaluator_chunk
        channel = session.peer(1 - session.index).sub(scope)
        pieces = [
            run(channel.sub(f"c{k}"), circuit, padded[k * lanes : (k + 1) * lanes])
            for k in range(chunks)
        ]
        out = np.concatenate(pieces)[:total]
    return SharedTensor(session, out.reshape(x.shape), 0)


def _fold_shares(session: Session, scope: str, mine: RingArray) -> RingArray:
    folded = mine.copy()
    for party in range(2, session.n_parties):
        raw = session.peer(party).sub(scope).get("fold")
        folded += expect_ring(raw, mine.shape, f"comparison share of party {party}")
    return folded


def _garbler_chunk(channel: Channel, circuit: Circuit, x0: RingArray) -> RingArray:
    """Party 0: garble, answer the OTs, then the derandomised B2A; returns s (its share)."""
    lanes = x0.size
    sender = OTExtensionSender()
    with peer_data("comparison base OT"):
        channel.put("base", sender.base_ot_response(expect_bytes(channel.get("setup"), "setup")))
    r = random_bits_array(lanes)
    garbling = garble(circuit, np.concatenate([ints_to_bits(x0, _BITS).reshape(-1), r]))
    channel.put("gc", (garbling.garbled.to_bytes(), labels_to_bytes(garbling.garbler_labels)))
    pads = random_uint64((lanes, 2, 2))
    pairs = np.concatenate([garbling.evaluator_label_pairs, pads])
    with peer_data("comparison OT extension"):
        channel.put("ot", sender.send(expect_bytes(channel.get("u"), "OT matrix"), pairs))
    d = expect_array(channel.get("d"), np.uint8, (lanes,), "derandomisation bits")
    if d.size and int(d.max()) > 1:
        raise ProtocolError("derandomisation bits must be 0 or 1")
    s = random_uint64(lanes)
    r64 = r.astype(np.uint64)
    m0, m1 = r64 - s, (np.uint64(1) - r64) - s
    k0, k1 = pads[:, 0, 0], pads[:, 1, 0]
    flip = d.astype(bool)
    z0 = m0 ^ np.where(flip, k1, k0)  # pad k_{0 ⊕ d}
    z1 = m1 ^ np.where(flip, k0, k1)  # pad k_{1 ⊕ d}
    channel.put("z", np.stack([z0, z1]))
    return s


def _evaluator_chunk(channel: Channel, circuit: Circuit, x1: RingArray) -> RingArray:
    """Party 1: OT for its bits and a random choice, evaluate, derandomise; returns m_o."""
    lanes = x1.size
    c = random_bits_array(lanes)
    receiver = OTExtensionReceiver(np.concatenate([ints_to_bits(x1, _BITS).reshape(-1), c]))
    channel.put("setup", receiver.base_ot_setup())
    with peer_data("comparison base OT"):
        channel.put("u", receiver.extend(expect_bytes(channel.get("base"), "base OT reply")))
    garbled_raw, labels_raw = expect_tuple(channel.get("gc"), 2, "garbled circuit")
    with peer_data("garbled circuit"):
        garbled = GarbledCircuit.from_bytes(expect_bytes(garbled_raw, "tables"), circuit)
        garbler_labels = labels_from_bytes(
            expect_bytes(labels_raw, "labels"), circuit.n_garbler_inputs
        )
        received = receiver.receive(expect_bytes(channel.get("ot"), "OT reply"))
    inputs = lanes * _BITS
    o = decode(evaluate(circuit, garbled, garbler_labels, received[:inputs]), garbled.decoding)
    channel.put("d", (o ^ c).astype(np.uint8))
    z = expect_ring(channel.get("z"), (2, lanes), "B2A messages")
    chosen: npt.NDArray[np.uint64] = np.where(o.astype(bool), z[1], z[0])
    return np.asarray(chosen ^ received[inputs:, 0], dtype=np.uint64)
