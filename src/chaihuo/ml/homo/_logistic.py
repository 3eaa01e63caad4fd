"""Logistic regression on one client's rows: scores, loss, gradient and local SGD."""

# Weights W are (outputs, features + 1), the last column the intercept: one output with the
# sigmoid for two classes, K outputs with the softmax for K > 2 (multinomial). The loss is the
# mean log-loss plus α/2 · ‖W without intercepts‖²; its gradient is (P − Y)ᵀ[X 1] / n + α·W.
# Local training (one client, one round) starts from the global weights w_g and takes SGD
# steps on  loss(w) + μ/2 ‖w − w_g‖²  (FedProx, Li et al. 2020; μ = 0 for FedAvg), adding the
# SCAFFOLD correction c − c_i to every gradient when it is given (Karimireddy et al. 2020).

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "LocalStep", "log_loss", "log_loss_gradient", "predicted", "probabilities", "train_locally",
]  # fmt: skip

Matrix = npt.NDArray[np.float64]


def _logits(weights: Matrix, features: Matrix) -> Matrix:
    return features @ weights[:, :-1].T + weights[:, -1]


def probabilities(weights: Matrix, features: Matrix) -> Matrix:
    """P(class) per row: (n, 1) = P(y = classes[1]) for two classes, else (n, K) softmax."""
    logits = _logits(weights, features)
    if weights.shape[0] == 1:
        sigmoid: Matrix = 0.5 * (1.0 + np.tanh(0.5 * logits))  # without overflow
        return sigmoid
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax: Matrix = exp / exp.sum(axis=1, keepdims=True)
    return softmax


def predicted(weights: Matrix, features: Matrix) -> npt.NDArray[np.int64]:
    """The most probable class index of each row."""
    probs = probabilities(weights, features)
    chosen = (probs[:, 0] >= 0.5) if weights.shape[0] == 1 else np.argmax(probs, axis=1)
    return np.asarray(chosen, dtype=np.int64)


def _targets(classes: npt.NDArray[np.int64], outputs: int) -> Matrix:
    if outputs == 1:
        return classes.reshape(-1, 1).astype(np.float64)
    return np.eye(outputs)[classes]


def log_loss(weights: Matrix, features: Matrix, classes: npt.NDArray[np.int64]) -> float:
    """Mean log-loss of `weights` on rows whose class indices are `classes` (no penalty)."""
    if len(classes) == 0:
        return 0.0
    probs = np.clip(probabilities(weights, features), 1e-15, 1 - 1e-15)
    if weights.shape[0] == 1:
        p, y = probs[:, 0], classes.astype(np.float64)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
    return float(-np.mean(np.log(probs[np.arange(len(classes)), classes])))


def log_loss_gradient(
    weights: Matrix, features: Matrix, classes: npt.NDArray[np.int64], alpha: float | Matrix
) -> Matrix:
    """∇ of mean log-loss + ½ Σ_j α_j W_j² (no intercept) at `weights` (α per feature or one)."""
    residual = probabilities(weights, features) - _targets(classes, weights.shape[0])
    rows = max(len(classes), 1)
    gradient = np.empty_like(weights)
    gradient[:, :-1] = residual.T @ features / rows + alpha * weights[:, :-1]
    gradient[:, -1] = residual.sum(axis=0) / rows
    return gradient


@dataclass(frozen=True)
class LocalStep:
    """How a client trains in one round."""

    epochs: int
    batch_size: int | None
    learning_rate: float
    alpha: float | Matrix
    proximal_mu: float = 0.0


def train_locally(
    start: Matrix,
    features: Matrix,
    classes: npt.NDArray[np.int64],
    step: LocalStep,
    correction: Matrix | None = None,
) -> tuple[Matrix, int]:
    """Weights after `step.epochs` passes of SGD from `start`, and the number of steps taken.

    Full batch (batch_size None) is deterministic; mini-batches follow a fresh permutation of
    the rows each epoch. The L2 term takes a proximal step, w ← w / (1 + η·α_j) after the loss
    step: the same fixed point as a gradient step on it, and stable however large α_j is
    (standardising makes α_j = α / s_j² large for features of small scale).
    """
    weights = start.copy()
    rows = len(classes)
    size = rows if step.batch_size is None else min(step.batch_size, rows)
    rng = np.random.default_rng(secrets.randbits(64)) if size < rows else None
    shrink = 1.0 / (1.0 + step.learning_rate * np.asarray(step.alpha))
    steps = 0
    for _ in range(step.epochs):
        order = rng.permutation(rows) if rng is not None else np.arange(rows)
        for begin in range(0, rows, max(size, 1)):
            batch = order[begin : begin + size]
            gradient = log_loss_gradient(weights, features[batch], classes[batch], 0.0)
            if step.proximal_mu:
                gradient += step.proximal_mu * (weights - start)
            if correction is not None:
                gradient += correction
            weights -= step.learning_rate * gradient
            weights[:, :-1] *= shrink  # the L2 term's proximal step
            steps += 1
    return weights, steps
