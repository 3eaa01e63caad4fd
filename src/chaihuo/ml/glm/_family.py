"""Loss families of the GLM protocol in plaintext: residual d(u, y), loss and mean function."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "FAMILIES",
    "LINEAR",
    "LOGISTIC",
    "POISSON",
    "Family",
    "tangent_loss_parts",
    "tangent_residual",
]

Vector = npt.NDArray[np.float64]
FamilyName = Literal["logistic", "linear", "poisson"]


@dataclass(frozen=True)
class Family:
    """One GLM: u = Xw (+ b) is the linear predictor, d the per-row gradient factor.

    The gradient of the (approximated) mean loss is X^T d / n for every family:
    - logistic (y ∈ {0, 1}, FATE's Taylor approximation): log(1 + e^{−y'u}) with y' = 2y − 1
      expanded at u = 0 to second order, log 2 − y'u/2 + u²/8, whose derivative is
      d = u/4 + 1/2 − y (Hardy et al., "Private federated learning on vertically partitioned
      data via entity resolution and additively homomorphic encryption", 2017, §3.2). The
      protocol carries 4d = u + 2 − 4y (an integer combination, so no fixed-point rescaling)
      and multiplies the decrypted gradient by `scale` = 1/4.
    - linear: ½(u − y)², d = u − y.
    - poisson (log link, exposure e): μ = e·exp(u), loss μ − y·log μ (negative log-likelihood
      without the log y! term), d = μ − y.
    """

    name: FamilyName
    component: str
    kind: Literal["binary", "regression"]
    scale: float

    def residual(self, u: Vector, y: Vector, exposure: Vector | None = None) -> Vector:
        """The carried residual: 4d for logistic, d otherwise (multiply gradients by scale)."""
        if self.name == "logistic":
            return u + 2.0 - 4.0 * y
        if self.name == "linear":
            return u - y
        return _exposure(exposure, u) * np.exp(u) - y

    def loss_sum(self, u: Vector, y: Vector, exposure: Vector | None = None) -> float:
        """Σ_i loss_i over the rows (Taylor loss for logistic)."""
        if self.name == "logistic":
            signed = 2.0 * y - 1.0
            return float(np.sum(math.log(2.0) - 0.5 * signed * u + 0.125 * u * u))
        if self.name == "linear":
            return float(0.5 * np.sum((u - y) ** 2))
        e = _exposure(exposure, u)
        return float(np.sum(e * np.exp(u) - y * (u + np.log(e))))

    def best_intercept(
        self, y: Vector, exposure: Vector | None = None, *, tangent: bool = False
    ) -> float:
        """The intercept b minimising the (trained) loss of the model u = b: where Σ d = 0.

        Taylor logistic: Σ (b/4 + ½ − y) = 0 gives b = 4·ȳ − 2; with the sigmoid expanded at
        the guest's score (`tangent`) the residual at u = b is exact, σ(b) − y, so b =
        logit(ȳ); linear: ȳ; Poisson: Σ e·exp(b) = Σ y gives log(Σy / Σe). Starting there,
        the weights only have to learn the features' effect: a target far from 0 no longer
        costs hundreds of steps."""
        if len(y) == 0:
            return 0.0
        if self.name == "logistic" and tangent:
            rate = min(max(float(np.mean(y)), 1e-6), 1.0 - 1e-6)
            return math.log(rate / (1.0 - rate))
        if self.name == "logistic":
            return float(4.0 * np.mean(y) - 2.0)
        if self.name == "linear":
            return float(np.mean(y))
        total = float(np.sum(y))
        if total <= 0.0:  # all counts zero: the rate's log is −∞; leave the intercept at 0
            return 0.0
        return math.log(total / float(np.sum(_exposure(exposure, y))))

    def mean(self, u: Vector, exposure: Vector | None = None) -> Vector:
        """Prediction: P(y = 1) = sigmoid(u), u itself, or μ = e·exp(u)."""
        if self.name == "logistic":
            return sigmoid(u)
        if self.name == "linear":
            return u
        return _exposure(exposure, u) * np.exp(u)


def tangent_residual(u_guest: Vector, y: Vector) -> tuple[Vector, Vector]:
    """(offset a, slope b) of the carried logistic residual 4d ≈ a + b·u_hosts.

    σ expanded at the guest's own score: σ(u_g + u_h) ≈ σ(u_g) + σ'(u_g)·u_h, so
    4d = 4(σ(u_g) − y) + 4σ(u_g)(1 − σ(u_g))·u_h — affine in the hosts' encrypted part, exact
    where u_h = 0, and FATE's ½ + u/4 when u_g = 0.
    """
    s = sigmoid(u_guest)
    return 4.0 * (s - y), 4.0 * s * (1.0 - s)


def tangent_loss_parts(u_guest: Vector, y: Vector) -> tuple[float, Vector]:
    """(P, c) of the logistic loss bound Σ_i loss_i ≤ P + Σ_i c_i·u_h,i + ⅛·Σ_i u_h,i².

    Expanded at the guest's own score: P = Σ log(1 + e^(u_g)) − y·u_g (exact), c = σ(u_g) − y,
    and ⅛ bounds the curvature σ' ≤ ¼ (Böhning's quadratic bound): exact where u_h = 0, an
    upper bound everywhere — the loss `sigmoid: taylor_at_guest` reports.
    """
    exact = float(np.sum(np.logaddexp(0.0, u_guest) - y * u_guest))
    return exact, sigmoid(u_guest) - y


def _exposure(exposure: Vector | None, like: Vector) -> Vector:
    return np.ones_like(like) if exposure is None else exposure


def sigmoid(u: Vector) -> Vector:
    """1 / (1 + e^{−u}), computed without overflow."""
    out = np.empty_like(u, dtype=np.float64)
    positive = u >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-u[positive]))
    z = np.exp(u[~positive])
    out[~positive] = z / (1.0 + z)
    return out


LOGISTIC = Family("logistic", "hetero_lr", "binary", 0.25)
LINEAR = Family("linear", "hetero_linr", "regression", 1.0)
POISSON = Family("poisson", "hetero_poisson", "regression", 1.0)
FAMILIES = {family.name: family for family in (LOGISTIC, LINEAR, POISSON)}
