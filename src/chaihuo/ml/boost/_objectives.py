"""Objectives of hetero_secureboost: initial scores, gradients and hessians, link, loss value."""

# XGBoost's formulas, so that given the same bins and initial scores both grow the same trees:
# binary:logistic, multi:softmax (hessian 2p(1 − p)), reg:squarederror, reg:pseudohubererror
# (slope δ), count:poisson (hessian e^(F + 0.7), XGBoost's max_delta_step) and reg:tweedie
# (variance power ρ). Scores F are margins: the link maps them to predictions.

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError

__all__ = ["OBJECTIVES", "Objective", "objective"]

Vector = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]
Pairs = list[tuple[Vector, Vector]]
OBJECTIVES = (
    "binary:logistic", "multi:softmax", "reg:squarederror", "reg:pseudohubererror",
    "count:poisson", "reg:tweedie",
)  # fmt: skip
POISSON_MAX_DELTA_STEP = 0.7
"""XGBoost's default for count:poisson: the hessian is e^(F + 0.7), which damps the steps."""


@dataclass(frozen=True)
class Objective:
    """A loss over `outputs` scores per row (one tree per output per round)."""

    name: str
    outputs: int = 1
    huber_slope: float = 1.0
    tweedie_power: float = 1.5

    @property
    def binary(self) -> bool:
        """True for the logistic loss (labels 0/1)."""
        return self.name == "binary:logistic"

    @property
    def multiclass(self) -> bool:
        """True for the softmax loss (labels are class indices 0..outputs−1)."""
        return self.name == "multi:softmax"

    @property
    def log_link(self) -> bool:
        """True for the count losses, whose scores are log means."""
        return self.name in ("count:poisson", "reg:tweedie")

    def initial_scores(self, y: Vector) -> Vector:
        """The best constant scores: log-odds, centred log class priors, log of the mean
        (count losses) or the mean."""
        if self.binary:
            rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
            return np.array([math.log(rate / (1 - rate))])
        if self.multiclass:
            priors = np.bincount(y.astype(np.int64), minlength=self.outputs) / len(y)
            logs = np.log(np.clip(priors, 1e-6, None))
            return np.asarray(logs - logs.mean(), dtype=np.float64)
        if self.log_link:
            return np.array([math.log(max(float(np.mean(y)), 1e-6))])
        return np.array([float(np.mean(y))])

    def gradients(self, scores: Matrix, y: Vector) -> Pairs:
        """(g, h) of the loss at `scores` (rows × outputs), one pair per output."""
        if self.multiclass:
            probabilities = self.link(scores)
            return [
                (p - (y == k), np.maximum(2 * p * (1 - p), 1e-16))
                for k, p in enumerate(probabilities.T)
            ]
        f = scores[:, 0]
        if self.binary:
            p = self.link(scores)
            return [(p - y, np.maximum(p * (1 - p), 1e-16))]
        if self.name == "reg:pseudohubererror":
            z, slope = f - y, self.huber_slope
            scale = 1 + (z / slope) ** 2
            return [(z / np.sqrt(scale), 1 / (scale * np.sqrt(scale)))]
        if self.name == "count:poisson":
            return [(np.exp(f) - y, np.exp(f + POISSON_MAX_DELTA_STEP))]
        if self.name == "reg:tweedie":
            rho = self.tweedie_power
            low, high = np.exp((1 - rho) * f), np.exp((2 - rho) * f)
            return [(-y * low + high, -y * (1 - rho) * low + (2 - rho) * high)]
        return [(f - y, np.ones(len(y)))]

    def link(self, scores: Matrix) -> npt.NDArray[np.float64]:
        """Scores to predictions: P(y = 1), class probabilities (rows × classes), the mean
        (count losses) or the value."""
        if self.multiclass:
            shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
            return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float64)
        f = scores[:, 0]
        if self.binary:
            return np.asarray(1.0 / (1.0 + np.exp(-f)), dtype=np.float64)
        return np.asarray(np.exp(f) if self.log_link else f, dtype=np.float64)

    def loss(self, scores: Matrix, y: Vector) -> float:
        """The mean loss (up to terms constant in the scores)."""
        if self.multiclass:
            shifted = scores - scores.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            return float(-np.mean(log_p[np.arange(len(y)), y.astype(np.int64)]))
        f = scores[:, 0]
        if self.binary:
            return float(np.mean(np.logaddexp(0.0, f) - y * f))
        if self.name == "reg:pseudohubererror":
            slope = self.huber_slope
            return float(np.mean(slope**2 * (np.sqrt(1 + ((f - y) / slope) ** 2) - 1)))
        if self.name == "count:poisson":
            return float(np.mean(np.exp(f) - y * f))
        if self.name == "reg:tweedie":
            rho = self.tweedie_power
            return float(np.mean(-y * np.exp((1 - rho) * f) / (1 - rho)
                                 + np.exp((2 - rho) * f) / (2 - rho)))  # fmt: skip
        return float(np.mean((f - y) ** 2))

    def check_labels(self, y: Vector) -> None:
        """Refuse labels the loss cannot use (data-free reasons)."""
        if not np.all(np.isfinite(y)):
            raise InvalidInputError("labels must be finite numbers", public=True)
        if self.binary and not np.all((y == 0) | (y == 1)):
            raise InvalidInputError(
                "binary:logistic needs labels 0 and 1 (use reg:squarederror for values)",
                public=True,
            )
        if self.log_link and np.any(y < 0):
            raise InvalidInputError(f"{self.name} needs non-negative labels", public=True)


def objective(
    name: str, outputs: int = 1, *, huber_slope: float = 1.0, tweedie_power: float = 1.5
) -> Objective:
    """The objective called `name` (`outputs`: the number of classes for multi:softmax)."""
    return Objective(name, outputs if name == "multi:softmax" else 1, huber_slope, tweedie_power)
