"""Logistic regression as a network of the rounds: weights, probabilities, gradient."""

# Weights W are (outputs, features + 1), the last column the intercept: one output with the
# sigmoid for two classes, K outputs with the softmax for K > 2 (multinomial). The gradient of
# the mean log-loss is (P − Y)ᵀ[X 1] / n.

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LogisticNetwork", "probabilities", "softmax_or_sigmoid", "targets"]

Matrix = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def softmax_or_sigmoid(logits: Matrix) -> Matrix:
    """The sigmoid of one logit column (without overflow), else the softmax of the row."""
    if logits.shape[1] == 1:
        sigmoid: Matrix = 0.5 * (1.0 + np.tanh(0.5 * logits))
        return sigmoid
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax: Matrix = exp / exp.sum(axis=1, keepdims=True)
    return softmax


def targets(classes: Ints, outputs: int) -> Matrix:
    """The 0/1 target matrix of class indices (one column for two classes)."""
    if outputs == 1:
        return classes.reshape(-1, 1).astype(np.float64)
    return np.eye(outputs)[classes]


def probabilities(weights: Matrix, features: Matrix) -> Matrix:
    """P(class) per row: (n, 1) = P(y = classes[1]) for two classes, else (n, K) softmax."""
    return softmax_or_sigmoid(features @ weights[:, :-1].T + weights[:, -1])


@dataclass(frozen=True)
class LogisticNetwork:
    """Binary or multinomial logistic regression on `features` columns."""

    outputs: int
    features: int

    @property
    def shape(self) -> tuple[int, int]:
        """(outputs, features + 1)."""
        return (self.outputs, self.features + 1)

    def probabilities(self, weights: Matrix, features: Matrix) -> Matrix:
        """P(class) per row."""
        return probabilities(weights, features)

    def gradient(self, weights: Matrix, features: Matrix, classes: Ints) -> Matrix:
        """(P − Y)ᵀ[X 1] / n."""
        residual = probabilities(weights, features) - targets(classes, weights.shape[0])
        rows = max(len(classes), 1)
        gradient = np.empty_like(weights)
        gradient[:, :-1] = residual.T @ features / rows
        gradient[:, -1] = residual.sum(axis=0) / rows
        return gradient

    def penalised(self) -> Matrix:
        """1 on the coefficients, 0 on the intercepts."""
        mask = np.ones(self.shape)
        mask[:, -1] = 0.0
        return mask
