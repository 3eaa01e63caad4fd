"""What a horizontal learner's model is to the rounds: shape, probabilities, gradient; local SGD."""

# A network maps its parameters — one float64 matrix of a fixed shape — and a client's rows to
# class probabilities ((n, 1) = P(y = classes[1]) for two classes, else (n, K)), and gives the
# gradient of the mean log-loss. Local training (one client, one round) starts from the global
# parameters w_g and takes SGD steps on  loss(w) + ½ Σ α_j w_j² + μ/2 ‖w − w_g‖²  (FedProx,
# Li et al. 2020; μ = 0 otherwise), adding the SCAFFOLD correction c − c_i to every gradient
# when it is given (Karimireddy et al. 2020). The L2 term takes a proximal step,
# w ← w / (1 + η·α_j) after the loss step: the same fixed point as a gradient step, stable
# however large α_j is. α is per coordinate: 0 on intercepts and biases.

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["LocalStep", "Network", "log_loss", "predicted", "train_locally"]

Matrix = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class Network(Protocol):
    """A model of the rounds: parameters of one shape, probabilities and loss gradient."""

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the parameter matrix."""
        ...

    def probabilities(self, weights: Matrix, features: Matrix) -> Matrix:
        """P(class) per row."""
        ...

    def gradient(self, weights: Matrix, features: Matrix, classes: Ints) -> Matrix:
        """∇ of the mean log-loss (no penalty) at `weights`."""
        ...

    def penalised(self) -> Matrix:
        """1 where the L2 penalty applies, 0 on intercepts and biases."""
        ...


def log_loss(network: Network, weights: Matrix, features: Matrix, classes: Ints) -> float:
    """Mean log-loss on rows whose class indices are `classes` (no penalty)."""
    if len(classes) == 0:
        return 0.0
    probs = np.clip(network.probabilities(weights, features), 1e-15, 1 - 1e-15)
    if probs.shape[1] == 1:
        p, y = probs[:, 0], classes.astype(np.float64)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
    return float(-np.mean(np.log(probs[np.arange(len(classes)), classes])))


def predicted(network: Network, weights: Matrix, features: Matrix) -> Ints:
    """The most probable class index of each row."""
    probs = network.probabilities(weights, features)
    chosen = (probs[:, 0] >= 0.5) if probs.shape[1] == 1 else np.argmax(probs, axis=1)
    return np.asarray(chosen, dtype=np.int64)


@dataclass(frozen=True)
class LocalStep:
    """How a client trains in one round; `alpha` is the L2 strength per coordinate."""

    epochs: int
    batch_size: int | None
    learning_rate: float
    alpha: Matrix
    proximal_mu: float = 0.0
    seed: int | list[int] | None = None
    """Seeds the mini-batch order (fresh when None)."""


def train_locally(  # noqa: PLR0917 - the round's start, the rows, the settings, SCAFFOLD's term
    network: Network, start: Matrix, features: Matrix, classes: Ints, step: LocalStep,
    correction: Matrix | None = None,
) -> tuple[Matrix, int]:  # fmt: skip
    """Parameters after `step.epochs` passes of SGD from `start`, and the steps taken.

    Full batch (batch_size None) is deterministic; mini-batches follow a fresh permutation of
    the rows each epoch.
    """
    weights = start.copy()
    rows = len(classes)
    size = rows if step.batch_size is None else min(step.batch_size, rows)
    seed = secrets.randbits(64) if step.seed is None else step.seed
    rng = np.random.default_rng(seed) if size < rows else None
    shrink = 1.0 / (1.0 + step.learning_rate * step.alpha)
    steps = 0
    for _ in range(step.epochs):
        order = rng.permutation(rows) if rng is not None else np.arange(rows)
        for begin in range(0, rows, max(size, 1)):
            batch = order[begin : begin + size]
            gradient = network.gradient(weights, features[batch], classes[batch])
            if step.proximal_mu:
                gradient += step.proximal_mu * (weights - start)
            if correction is not None:
                gradient += correction
            weights -= step.learning_rate * gradient
            weights *= shrink
            steps += 1
    return weights, steps
