"""Optimizers and penalties for linear models: sgd, adam, rmsprop, adagrad; L1 and L2."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Optimizer", "OptimizerParams", "make_optimizer"]

Vector = npt.NDArray[np.float64]


class OptimizerParams(BaseModel):
    """The optimisation part of a linear model's parameters (FATE's names where they exist)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    optimizer: Literal["sgd", "adam", "rmsprop", "adagrad"] = "sgd"
    learning_rate: float = Field(0.15, gt=0, le=100)
    decay: float = Field(0.0, ge=0, description="lr_t = lr / (1 + decay·t)")
    penalty: Literal["none", "l1", "l2"] = "l2"
    alpha: float = Field(0.01, ge=0, description="Penalty strength.")
    beta1: float = Field(0.9, gt=0, lt=1, description="Adam's first-moment decay.")
    beta2: float = Field(0.999, gt=0, lt=1, description="Adam's second-moment decay.")
    rho: float = Field(0.9, gt=0, lt=1, description="RMSProp's decay (Hinton's 0.9).")
    epsilon: float = Field(1e-8, gt=0)


@dataclass
class Optimizer:
    """Stateful update rule w ← w − step(g + penalty gradient), applied to one party's weights.

    L2 adds α·w to the gradient; L1 is applied as a proximal soft-threshold after the step
    (the standard proximal-gradient treatment, which gives exact zeros). The intercept, when
    present, is never penalised (`penalise_mask` marks the penalised coordinates).
    """

    params: OptimizerParams
    penalise_mask: Vector | None = None
    step_count: int = 0
    _m: Vector | None = field(default=None, repr=False)
    _v: Vector | None = field(default=None, repr=False)

    def _lr(self) -> float:
        return self.params.learning_rate / (1.0 + self.params.decay * self.step_count)

    def _mask(self, weights: Vector) -> Vector:
        return np.ones_like(weights) if self.penalise_mask is None else self.penalise_mask

    def step(self, weights: Vector, gradient: Vector) -> Vector:
        """New weights after one update with `gradient` (the loss gradient, unpenalised)."""
        p = self.params
        mask = self._mask(weights)
        grad = gradient + (p.alpha * weights * mask if p.penalty == "l2" else 0.0)
        self.step_count += 1
        lr = self._lr()
        if p.optimizer == "sgd":
            update = lr * grad
        elif p.optimizer == "adagrad":
            self._v = (self._v if self._v is not None else np.zeros_like(grad)) + grad * grad
            update = lr * grad / (np.sqrt(self._v) + p.epsilon)
        elif p.optimizer == "rmsprop":
            # Tieleman & Hinton (2012): a running mean of g² with decay ρ; starting it at g²
            # instead of 0 avoids the huge first steps an uncorrected zero start gives.
            previous = self._v if self._v is not None else grad * grad
            self._v = p.rho * previous + (1 - p.rho) * grad * grad
            update = lr * grad / (np.sqrt(self._v) + p.epsilon)
        else:  # adam (Kingma & Ba 2015), bias-corrected
            m = self._m if self._m is not None else np.zeros_like(grad)
            v = self._v if self._v is not None else np.zeros_like(grad)
            self._m = p.beta1 * m + (1 - p.beta1) * grad
            self._v = p.beta2 * v + (1 - p.beta2) * grad * grad
            m_hat = self._m / (1 - p.beta1**self.step_count)
            v_hat = self._v / (1 - p.beta2**self.step_count)
            update = lr * m_hat / (np.sqrt(v_hat) + p.epsilon)
        new = weights - update
        if p.penalty == "l1":
            shrink = lr * p.alpha * mask
            new = np.sign(new) * np.maximum(np.abs(new) - shrink, 0.0)
        return np.asarray(new, dtype=np.float64)

    def state(self, size: int) -> tuple[int, Vector, Vector]:
        """(steps taken, first moment, second moment) to save with a model; unused moments
        are zeros (a fresh adam/adagrad state is zeros too)."""
        zeros = np.zeros(size, dtype=np.float64)
        m = zeros if self._m is None else self._m
        v = zeros if self._v is None else self._v
        return self.step_count, m.copy(), v.copy()

    def resume(self, steps: int, m: Vector, v: Vector) -> None:
        """Continue from a saved `state`: the learning-rate schedule and the moments."""
        self.step_count = steps
        if steps > 0:
            self._m = np.asarray(m, dtype=np.float64).copy()
            self._v = np.asarray(v, dtype=np.float64).copy()

    def penalty_loss(self, weights: Vector) -> float:
        """The penalty's contribution to the objective (for loss reporting)."""
        p, mask = self.params, self._mask(weights)
        if p.penalty == "l2":
            return 0.5 * p.alpha * float(np.sum((weights * mask) ** 2))
        if p.penalty == "l1":
            return p.alpha * float(np.sum(np.abs(weights * mask)))
        return 0.0


def make_optimizer(params: OptimizerParams, size: int, *, intercept: bool) -> Optimizer:
    """An optimizer for `size` weights whose last coordinate is the intercept if `intercept`."""
    mask = np.ones(size, dtype=np.float64)
    if intercept and size:
        mask[-1] = 0.0
    return Optimizer(params, penalise_mask=mask)
