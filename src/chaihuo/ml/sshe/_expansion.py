"""`sigmoid: taylor_at_guest`: σ exact at the guest's partial score, first order in the host's."""

# With revealed weights the guest knows its partial score z_g and the host knows z_h. Instead
# of expanding σ at 0 (FATE's ½ + z/4, whose fixed point is least squares), expand it at z_g:
#
#     σ(z_g + z_h) ≈ σ(z_g) + σ'(z_g)·z_h,     |error| ≤ max|σ''|/2 · z_h² ≈ 0.048·z_h²,
#
# exact whenever the host's contribution is 0, and never steeper than ¼ in z_h. The residual
# e = σ(z_g) − y + σ'(z_g)·z_h is linear in z_h with coefficients only the guest knows, so:
#   guest → host  [[c0]]_G, [[c1]]_G   c0 = (σ(z_g) − y)·2^F, c1 = σ'(z_g)·2^Q
#   host  → guest [[z'_h]]_H           z'_h = z_h·2^(F−Q)
#   guest [[v]]_H = c0 + c1 ⊙ [[z'_h]]_H ;  host [[v]]_G = [[c0]]_G + z'_h ⊙ [[c1]]_G
# (v = e·2^F), and the backward pass is the common one. The loss, expanded the same way,
# ℓ ≈ softplus(z_g) − y·z_g + (σ(z_g) − y)·z_h + ½σ'(z_g)·z_h², needs from the host only
# [[Σ 2·c0·z'_h + c1·z'_h²]]_G, which the guest decrypts: it is the loss minus what the guest
# knows, so it reveals nothing beyond the loss.

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.paillier import EncryptedVector
from chaihuo.ml.sshe._fixed import F, encode_reals
from chaihuo.ml.sshe._link import Forward, Link
from chaihuo.ml.vertical import expect_ciphertexts
from chaihuo.ml.vertical import he as _he
from chaihuo.runtime import Peer

__all__ = ["Q", "forward", "loss"]

Q = 20
"""Fractional bits of the guest's slope σ'(z_g)."""
Vector = npt.NDArray[np.float64]


def _sigmoid(z: Vector) -> Vector:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def forward(link: Link, ch: Peer, z: Vector, y: Vector | None, *, guest: bool) -> Forward:
    """[[v]] under the peer's key (v = e·2^F); the host's share field holds z'_h."""
    rows = len(z)
    pool = link.pool(rows * 200)
    if guest:
        assert y is not None
        s = _sigmoid(z)
        c0, c1 = encode_reals(s - y, F), encode_reals(s * (1 - s), Q)
        ch.put("coefficients", _he.encrypt(link.keys.private_key, c0 + c1, pool))
        zh = expect_ciphertexts(
            ch.get("host_score"), link.peer_key, "host's partial score", length=rows, integer=True
        )
        return Forward(_he.add_plain(link.elementwise(zh, c1), c0), c0)
    scaled = encode_reals(z, F - Q)
    ch.put("host_score", _he.encrypt(link.keys.private_key, scaled, pool))
    both = expect_ciphertexts(
        ch.get("coefficients"), link.peer_key, "coefficients", length=2 * rows, integer=True
    )
    v = _he.add(both[:rows], link.elementwise(both[rows:], scaled))
    return Forward(v, scaled, aux=both)


def loss(
    link: Link, ch: Peer, fwd: Forward, z: Vector | None, y: Vector | None, *, guest: bool
) -> float:
    """Guest: the batch's summed expanded loss; host: sends its encrypted term, returns 0."""
    if not guest:
        assert isinstance(fwd.aux, EncryptedVector)
        scaled = fwd.share
        coeffs = [2 * v for v in scaled] + [v * v for v in scaled]
        term = _he.inner(fwd.aux, coeffs, link.pool(len(coeffs) * 8))
        ch.put("loss_term", term.rerandomize())
        return 0.0
    assert z is not None and y is not None
    term = expect_ciphertexts(
        ch.get("loss_term"), link.keys.public_key, "loss term", length=1, integer=True
    )
    (value,) = term.decrypt_int(link.keys.private_key)
    known = float(np.sum(np.logaddexp(0.0, z) - y * z))
    return known + math.ldexp(value, -(2 * F - Q)) / 2
