"""`sigmoid: taylor_clipped`: σ(z) ≈ clip(½ + z/4, 0, 1) on secret shares, by a garbled circuit."""

# After the shared forward step the parties hold integer shares of v = (2 + z − 4y)·2^F; the
# guest subtracts its label term, so the shares a_G + a_H = Z = z·2^F (|Z| < 2^(F+Z_BITS)).
# One garbled circuit per batch (guest garbles, host evaluates; inputs by IKNP OT), per row:
#     Z    = a_G + a_H                      (mod 2^64, read as signed: |Z| < 2^63)
#     Z_c  = C if Z > C, −C if Z < −C, else Z        (C = 2·2^F: the clip at z = ±2)
#     out  = Z_c + m                        (mod 2^96; m ∈ [C, C + 2^(F+2+σ)) never wraps)
# m is the guest's fresh mask; the host learns only out (statistically hiding Z_c, σ = 40
# bits), the guest nothing. New shares over Z: host out, guest −m + (2 − 4y)·2^F; each then
# sends the other its share encrypted under its own key, so each holds [[v_c]] under the
# peer's key as after the plain forward step. About 64·5 + 96 AND gates per row. The host also
# learns one bit per batch, sent on to the guest: whether some |z| ≥ 2^16 (training diverged).
# Why: the plain Taylor sigmoid's training converges to the least-squares fit (0.6 % AUC
# below logistic regression on default_credit); clipping at |z| = 2 stops confident rows from
# pulling the weights, and the fixed point moves to −0.37 % (benchmarks/sshe_sigmoid.py).

from __future__ import annotations

import secrets
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.gc import Circuit, CircuitBuilder, bits_to_ints, ints_to_bits
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.sshe._errors import TrainingDivergedError
from chaihuo.ml.sshe._fixed import SIGMA, Z_BITS, F
from chaihuo.ml.sshe._link import Forward, Link
from chaihuo.ml.vertical import expect_ciphertexts
from chaihuo.ml.vertical import he as _he
from chaihuo.mpc import run_garbled
from chaihuo.runtime import Peer

__all__ = ["CLIP", "clip_circuit", "clip_forward"]

Ints = list[int]
CLIP = 2 << F
"""The clip point |z| = 2 in the residual's fixed point."""
_WORD = 64
_OUT = 96
_MASK_BITS = F + 2 + SIGMA
LANES = 2048
"""Rows per garbled circuit: bounds its size (≈ 25 MB of tables) and its build time."""
OVERFLOW = "a score left the protocol's range (|z| ≥ 2^16): lower the learning rate"


def _word(value: int, width: int) -> npt.NDArray[np.uint8]:
    bits: npt.NDArray[np.uint8] = ints_to_bits([value % (1 << width)], width)[0]
    return bits


@lru_cache(maxsize=8)
def clip_circuit(lanes: int) -> Circuit:
    """The per-batch circuit of the module comment for `lanes` rows."""
    builder = CircuitBuilder()
    guest_share = builder.garbler_input((lanes, _WORD))
    mask = builder.garbler_input((lanes, _OUT))
    host_share = builder.evaluator_input((lanes, _WORD))
    z = builder.add(guest_share, host_share)
    sign = _WORD - 1
    biased = np.concatenate([z[..., :sign], builder.not_(z[..., sign:])], axis=-1)
    above = builder.gt(biased, builder.constant(_word(CLIP + (1 << sign), _WORD)))
    below = builder.lt(biased, builder.constant(_word((1 << sign) - CLIP, _WORD)))
    clipped = builder.mux(
        above,
        builder.constant(_word(CLIP, _WORD)),
        builder.mux(below, builder.constant(_word(-CLIP, _WORD)), z),
    )
    extended = np.concatenate(
        [clipped, np.repeat(clipped[..., sign:], _OUT - _WORD, axis=-1)], axis=-1
    )
    builder.output(builder.add(extended, mask))
    # |Z| ≥ 2^(F+Z_BITS) (|z| ≥ 2^16, beyond the protocol's bound): the top bits of Z are not
    # all copies of its sign bit in some row. One bit for the whole batch, to the evaluator.
    top = z[..., F + Z_BITS : sign]
    differs = builder.xor(top, z[..., sign:])
    flags = differs[..., 0]
    for column in range(1, differs.shape[-1]):
        flags = builder.or_(flags, differs[..., column])
    overflow = flags[0]
    for lane in range(1, lanes):
        overflow = builder.or_(overflow, flags[lane])
    builder.output(np.array([overflow]))
    return builder.build()


def clip_forward(link: Link, ch: Peer, forward: Forward, offset: Ints | None) -> Forward:
    """The forward step's result with v replaced by v_c (clipped z); `offset` is the guest's
    label term (2 − 4y)·2^F per row, None on the host. Rows go through circuits of at most
    LANES rows (one circuit per distinct size, built once per process)."""
    rows = len(forward.share)
    share: Ints = []
    for start in range(0, rows, LANES):
        part = slice(start, min(start + LANES, rows))
        chunk = ch.sub(f"gc{start // LANES}")
        if offset is not None:
            share += _garble(chunk, forward.share[part], offset[part])
        else:
            share += _evaluate(chunk, forward.share[part])
    pool = link.pool(rows * 100)
    ch.put("v_share", _he.encrypt(link.keys.private_key, share, pool))
    theirs = expect_ciphertexts(
        ch.get("v_share"), link.peer_key, "peer's residual share", length=rows, integer=True
    )
    return Forward(_he.add_plain(theirs, share), share)


def _garble(ch: Peer, shares: Ints, offset: Ints) -> Ints:
    """Guest: garble one chunk with its shares of Z and fresh masks; its new shares."""
    mask = [CLIP + secrets.randbits(_MASK_BITS) for _ in shares]
    z_share = [(s - o) % (1 << _WORD) for s, o in zip(shares, offset, strict=True)]
    bits = np.concatenate(
        [ints_to_bits(z_share, _WORD).reshape(-1), ints_to_bits(mask, _OUT).reshape(-1)]
    )
    run_garbled(ch, clip_circuit(len(shares)), bits, "garbler", share_output=False)
    if ch.get("overflow") is not False:
        raise TrainingDivergedError(OVERFLOW)
    return [o - m for o, m in zip(offset, mask, strict=True)]


def _evaluate(ch: Peer, shares: Ints) -> Ints:
    """Host: evaluate one chunk; its new shares are the outputs Z_c + m."""
    rows = len(shares)
    bits = ints_to_bits([v % (1 << _WORD) for v in shares], _WORD).reshape(-1)
    output = run_garbled(ch, clip_circuit(rows), bits, "evaluator", share_output=False)
    if output is None or output.size != rows * _OUT + 1:
        raise ProtocolViolationError("clipped residual: wrong number of output bits")
    ch.put("overflow", bool(output[-1]))
    if output[-1]:
        raise TrainingDivergedError(OVERFLOW)
    return bits_to_ints(output[:-1].reshape(rows, _OUT))
