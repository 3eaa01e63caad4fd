"""One party's end of the SSHE protocol: the batch steps both parties run symmetrically."""

# Notation: P is this party, Q its peer; [[x]]_P is encrypted under P's key. Each party
# holds its own features X̃_P (integers, per-column scales) and, with shared weights, a share
# of both weight vectors: w_P = own_P + other_Q (over Z). Steps of one batch:
#
# forward (shared weights, CAESAR's "secure matrix multiplication", Chen et al. 2021 §4):
#   P → Q  [[other_P]]_P                      (P's share of Q's weights, under P's key)
#   P      [[z_P]]_Q = X̃_P·([[other_Q]]_Q + own_P)        exact: the shares cancel inside
#   P      [[u_P]]_Q = [[z_P]]_Q + offset_P   (the guest adds its label term 2 − 4y)
#   P → Q  pack([[u_P + m_P]]_Q), [[−m_P]]_P  (m_P uniform, σ bits above |u|)
#   P      t_P = Dec_P(pack([[u_Q + m_Q]]_P));  [[v]]_Q = [[u_P]]_Q + t_P + [[−m_Q]]_Q
# so v = u_P + u_Q = 4e·2^F (e = ½ + z/4 − y, the Taylor residual), P holds [[v]]_Q and the
# plaintext share t_P − m_P of v.
# forward (revealed weights): P knows u_P; P → Q [[u_P]]_P; [[v]]_Q = [[u_Q]]_Q + u_P.
# backward: [[G_P]]_Q = X̃_P^T [[v]]_Q, rescaled per column to one public scale (shared
#   mode); P → Q pack([[G_P + r_P]]_Q); Q decrypts h = G_P + r_P, its share of P's gradient,
#   and P keeps −r_P. Revealed weights: Q sends h back and P learns G_P = h − r_P.
#
# What crosses the wire: ciphertexts (re-randomised), values masked by σ = 40 (rows) or 48
# (gradients) bits of fresh uniform randomness, and nothing else.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gmpy2
import numpy as np
import numpy.typing as npt

from chaihuo.crypto.paillier import (
    EncryptedVector,
    PaillierKeyPair,
    PaillierPool,
    PaillierPublicKey,
)
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.sshe._fixed import G_SIGMA, SIGMA, V_BITS, split_share
from chaihuo.ml.vertical import expect_ciphertexts
from chaihuo.ml.vertical import he as _he
from chaihuo.runtime import Peer

__all__ = ["Forward", "Link", "received_ints"]

Ints = list[int]
IntMatrix = npt.NDArray[np.int64]
_PER_CIPHER = 100
"""Work of one encryption or packing in multiplications (the pool's unit: exponent cells)."""


@dataclass
class Forward:
    """[[v]] under the peer's key, this party's plaintext share of v, and step-specific
    extras (`_expansion` keeps the guest's encrypted coefficients there)."""

    v: EncryptedVector
    share: Ints
    aux: object = None


def received_ints(received: object, count: int, what: str) -> Ints:
    if not isinstance(received, list) or len(received) != count:
        raise ProtocolViolationError(f"{what}: expected a list of {count} integers")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in received):
        raise ProtocolViolationError(f"{what}: expected integers")
    return received


class Link:
    """This party's keys, the peer's public key and the symmetric protocol steps."""

    def __init__(
        self,
        keys: PaillierKeyPair,
        peer_key: PaillierPublicKey,
        pool: Callable[[int], PaillierPool | None],
    ) -> None:
        self.keys, self.peer_key, self._pool = keys, peer_key, pool

    def pool(self, work: int) -> PaillierPool | None:
        """The worker pool when `work` (exponent cells or ciphertexts) pays for it."""
        return self._pool(work)

    # -- forward -----------------------------------------------------------------------------

    def shared_forward(
        self, ch: Peer, x: IntMatrix, own: Ints, other: Ints, offset: Ints | None
    ) -> Forward:
        """Forward step with secret-shared weights (see the module comment)."""
        rows, width = x.shape
        ch.put("w", _he.encrypt(self.keys.private_key, other, self.pool(len(other) * _PER_CIPHER)))
        theirs = expect_ciphertexts(
            ch.get("w"), self.peer_key, "peer's weight share", length=width, integer=True
        )
        z = _he.matvec(x, _he.add_plain(theirs, own), self.pool(rows * width))
        u = _he.add_plain(z, offset) if offset is not None else z
        return self._convert(ch, u, rows)

    def revealed_forward(self, ch: Peer, u: Ints) -> Forward:
        """Forward step with revealed weights: P knows u_P and sends [[u_P]]_P."""
        ch.put("u", _he.encrypt(self.keys.private_key, u, self.pool(len(u) * _PER_CIPHER)))
        theirs = expect_ciphertexts(
            ch.get("u"), self.peer_key, "peer's partial score", length=len(u), integer=True
        )
        return Forward(_he.add_plain(theirs, u), list(u))

    def _convert(self, ch: Peer, u: EncryptedVector, rows: int) -> Forward:
        pool = self.pool(rows * _PER_CIPHER)
        packed, drawn = _he.mask_pack(u, V_BITS, SIGMA, pool)
        ch.put("u_masked", packed)
        ch.put("neg_mask", _he.encrypt(self.keys.private_key, [-m for m in drawn], pool))
        opened = _he.open_packed(
            ch.get("u_masked"), self.keys.private_key, rows, V_BITS, SIGMA, pool, "masked score"
        )
        neg = expect_ciphertexts(
            ch.get("neg_mask"), self.peer_key, "peer's negated mask", length=rows, integer=True
        )
        v = _he.add(_he.add_plain(u, opened), neg)
        return Forward(v, [t - m for t, m in zip(opened, drawn, strict=True)])

    # -- backward ----------------------------------------------------------------------------

    def gradient(
        self,
        ch: Peer,
        x: IntMatrix,
        v: EncryptedVector,
        peer_width: int,
        *,
        bits: int,
        peer_bits: int,
        shifts: npt.NDArray[np.int64] | None,
    ) -> tuple[Ints, Ints | None]:
        """Shares (mine of my gradient, mine of the peer's) — or, when `shifts` is None
        (revealed weights), my plaintext gradient X̃^T v and None."""
        rows, width = x.shape
        pool = self.pool(rows * width)
        g = _he.matvec(np.ascontiguousarray(x.T), v, pool)
        if shifts is not None:
            g = _he.pow2(g, shifts)
        packed, drawn = _he.mask_pack(g, bits, G_SIGMA, pool)
        ch.put("g", packed)
        peer_masked = _he.open_packed(
            ch.get("g"), self.keys.private_key, peer_width, peer_bits, G_SIGMA, pool, "gradient"
        )
        if shifts is not None:
            return [-r for r in drawn], peer_masked
        ch.put("g_back", peer_masked)
        back = received_ints(ch.get("g_back"), width, "returned masked gradient")
        return [h - r for h, r in zip(back, drawn, strict=True)], None

    # -- loss: Σ v² revealed to the guest only ------------------------------------------------

    def square_sum_host(self, ch: Peer, forward: Forward) -> None:
        """Host: [[Σ b·v]]_G + μ and Σ b² + 2μ, with b its share (v = a + b)."""
        b = forward.share
        pool = self.pool(len(b) * 16)
        cross = _he.inner(forward.v, b, pool)
        squares = sum(x * x for x in b)
        (mu,) = _he.masks(1, max(cross.bound_bits, squares.bit_length()) + SIGMA)
        ch.put("loss_cross", _he.add_plain(cross, [mu]).rerandomize())
        ch.put("loss_square", squares + 2 * mu)

    def square_sum_guest(self, ch: Peer, forward: Forward) -> int:
        """Guest: Σ v² = Σ a² + 2(Σ ab + Σ b² + μ) − (Σ b² + 2μ)."""
        cross = expect_ciphertexts(
            ch.get("loss_cross"), self.keys.public_key, "loss term", length=1, integer=True
        )
        (opened,) = cross.decrypt_int(self.keys.private_key)
        squares = ch.get("loss_square")
        if not isinstance(squares, int) or isinstance(squares, bool):
            raise ProtocolViolationError("loss term: expected an integer")
        return sum(a * a for a in forward.share) + 2 * opened - squares

    # -- weights: initial sharing and final reveal ---------------------------------------------

    def share_weights(self, ch: Peer, own_values: Ints, peer_width: int) -> tuple[Ints, Ints]:
        """Split my initial integer weights; returns (my share of mine, my share of the peer's)."""
        pairs = [split_share(v) for v in own_values]
        ch.put("init", [other for _, other in pairs])
        theirs = received_ints(ch.get("init"), peer_width, "peer's initial weight shares")
        return [own for own, _ in pairs], theirs

    def exchange_shares(self, ch: Peer, other: Ints, width: int) -> Ints:
        """Send my share of the peer's weights and receive the peer's share of mine."""
        ch.put("reveal", other)
        return received_ints(ch.get("reveal"), width, "peer's weight share")

    def elementwise(self, vector: EncryptedVector, scalars: Ints) -> EncryptedVector:
        """[[x_i · k_i]] for integers k_i (negative allowed)."""
        nsq = vector.public_key.nsquare
        pool = self.pool(len(scalars) * 30)
        pairs = list(zip(vector.values, scalars, strict=True))
        if pool is not None:
            values = pool.elementwise_power(nsq, pairs)
        else:
            values = [gmpy2.powmod(c, k, nsq) for c, k in pairs]
        bits = max((abs(k).bit_length() for k in scalars), default=0)
        return EncryptedVector(
            vector.public_key,
            values,
            exponent=0,
            bound_bits=vector.bound_bits + bits,
            codec=vector.codec,
        )
