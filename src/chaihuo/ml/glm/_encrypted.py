"""The encrypted forward pass: hosts' [[u_h]], the guest's [[d]] and [[loss]], masked gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.paillier import (
    EncryptedVector,
    FixedPoint,
    PaillierPool,
    PaillierPublicKey,
)
from chaihuo.ml.glm._family import Family, tangent_loss_parts, tangent_residual
from chaihuo.ml.glm._messages import HostForward
from chaihuo.ml.glm._phases import Phases
from chaihuo.ml.glm._secure import mask_gradient, unmask
from chaihuo.ml.glm._session import expect, recv
from chaihuo.runtime import Context

__all__ = [
    "LOSS_VALUE_BITS",
    "cross_term",
    "encrypt_scalar",
    "exchange_gradient",
    "guest_batch_loss",
    "guest_residual",
    "host_forward",
    "quadratic_weight",
]

Vector = npt.NDArray[np.float64]

LOSS_VALUE_BITS = 160
"""Plaintext bound for the loss accumulators (sums over up to millions of rows at 2e bits)."""


def quadratic_weight(family: Family) -> float:
    """q in loss = P + Σ c_i U_i + q·Σ U_i²: 1/8 for the Taylor logistic loss, 1/2 for linear."""
    return 0.125 if family.name == "logistic" else 0.5


def encrypt_scalar(key: PaillierPublicKey, value: float, exponent: int) -> EncryptedVector:
    """[[value]] at `exponent` with a wide bound (loss terms, penalties, weight changes)."""
    return EncryptedVector.encrypt(key, np.array([value]), FixedPoint(exponent, LOSS_VALUE_BITS))


def host_forward(
    family: Family,
    u: Vector,
    key: PaillierPublicKey,
    codec: FixedPoint,
    pool: PaillierPool | None,
) -> HostForward:
    """What a host sends the guest for one batch, all under the arbiter's key.

    logistic / linear: [[u_h]] and [[Σ_i u_h,i²]] (one ciphertext, for the loss);
    poisson: [[u_h]] (loss) and [[exp(u_h)]], since exp(u_g + u_h) = exp(u_g)·exp(u_h) lets the
    guest form [[μ]] by a plaintext multiplication (FATE's hetero Poisson).
    """
    encrypted = EncryptedVector.encrypt(key, u, codec, pool=pool)
    if family.name == "poisson":
        return HostForward(
            encrypted, exp_u=EncryptedVector.encrypt(key, np.exp(u), codec, pool=pool)
        )
    return HostForward(encrypted, u2=EncryptedVector.encrypt(key, np.array([float(u @ u)]), codec))


def guest_residual(
    family: Family,
    forwards: list[HostForward],
    u_g: Vector,
    y: Vector,
    *,
    exposure: Vector | None,
    pool: PaillierPool | None,
    tangent: bool = False,
) -> EncryptedVector:
    """[[d]] (logistic: [[4d]]) for the batch, before re-randomisation.

    logistic (Taylor at 0) and linear residuals are u + c(y), so [[r]] = Σ_h [[u_h]] +
    r(u_g, y); logistic with `tangent`: [[4d]] = Σ_h [[u_h]] · b(u_g) + a(u_g, y)
    (`tangent_residual`, one short exponentiation per row); poisson: [[μ − y]] =
    [[exp(u_h)]] · (e·exp(u_g)) − y (one host, see the setup check).
    """
    if family.name == "poisson":
        scale = (np.ones_like(u_g) if exposure is None else exposure) * np.exp(u_g)
        assert forwards[0].exp_u is not None  # HostForward.from_wire, for poisson
        return forwards[0].exp_u.mul(scale, pool=pool) - y
    total = forwards[0].u
    for forward in forwards[1:]:
        total = total + forward.u
    if family.name == "logistic" and tangent:
        offset, slope = tangent_residual(u_g, y)
        return total.mul(slope, pool=pool) + offset
    return total + family.residual(u_g, y)


def guest_batch_loss(
    family: Family,
    forwards: list[HostForward],
    crosses: list[EncryptedVector],
    u_g: Vector,
    y: Vector,
    *,
    exposure: Vector | None,
    exponent: int,
    tangent: bool = False,
) -> EncryptedVector:
    """[[Σ_i loss_i]] of the batch at exponent 2e, from the hosts' ciphertexts.

    logistic / linear: loss(u_g + U) = P + Σ_i c_i U_i + q Σ_i U_i² with P = Σ loss(u_g),
    c = dloss/du at u_g (0.25 u_g − 0.5 y' or u_g − y), U = Σ_h u_h; Σ U² = Σ_h Σ u_h² plus
    the cross terms 2 Σ_{j<k} u_hj·u_hk that the hosts computed (`cross_term`). With
    `tangent` (logistic): the log loss bounded at u_g (`tangent_loss_parts`), same q = ⅛.
    poisson: Σ e·exp(u_g)·exp(u_h) − Σ y·u_h − Σ y (u_g + log e).
    """
    key = forwards[0].u.public_key
    if family.name == "poisson":
        e = np.ones_like(u_g) if exposure is None else exposure
        assert forwards[0].exp_u is not None  # HostForward.from_wire, for poisson
        total = forwards[0].exp_u.dot(e * np.exp(u_g), exponent=exponent)
        total = total + forwards[0].u.dot(-y, exponent=exponent)
        plain = -float(np.sum(y * (u_g + np.log(e))))
    else:
        u_total = forwards[0].u
        for forward in forwards[1:]:
            u_total = u_total + forward.u
        if family.name == "logistic" and tangent:
            plain, slope = tangent_loss_parts(u_g, y)
        elif family.name == "logistic":
            plain, slope = family.loss_sum(u_g, y), 0.25 * u_g - 0.5 * (2.0 * y - 1.0)
        else:
            plain, slope = family.loss_sum(u_g, y), u_g - y
        total = u_total.dot(slope, exponent=exponent)
        q = quadratic_weight(family)
        for forward in forwards:
            assert forward.u2 is not None  # HostForward.from_wire, for logistic and linear
            total = total + forward.u2.mul(q)
        for cross in crosses:
            total = total + cross
    return total + encrypt_scalar(key, plain, 2 * exponent)


def cross_term(
    family: Family, prefix: EncryptedVector, u: Vector, exponent: int
) -> EncryptedVector:
    """Host k's [[2q Σ_i u_hk,i · Σ_{j<k} u_hj,i]]: the part of Σ U² no single party knows."""
    return prefix.dot(2.0 * quadratic_weight(family) * u, exponent=exponent)


def exchange_gradient(
    bctx: Context,
    gradient: EncryptedVector,
    shifts: npt.NDArray[np.int64],
    phases: Phases,
) -> Vector:
    """Mask [[X^T d]], let the arbiter decrypt g + r, remove r: this party's plain X^T d."""
    with phases("mask"):
        masked, masks = mask_gradient(gradient)
    with phases("send"):
        bctx.arbiter.put("gradient", masked)
    values: Any = recv(bctx.arbiter, "gradient_plain", "masked gradient", phases)
    values = expect(values, list, "decrypted gradient")
    return unmask(values, masks, gradient.exponent, shifts)
