"""A multi-layer perceptron declared as a layer list, as a network of the rounds (numpy)."""

# Hidden layers are declared in the job file (units and activation each); the output layer is
# added: one sigmoid unit for two classes, a K-way softmax otherwise. All parameters are one
# flat float64 vector (shape (1, P)): per layer its weight matrix (fan_in × fan_out, row-major)
# then its biases, so they cross the wire and are averaged like any other parameters — as
# plain floats, never code or a pickled module. Initial weights are Glorot-uniform (Glorot &
# Bengio 2010), drawn by the server; the gradient of the mean log-loss is by backpropagation.

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from chaihuo.ml.homo._logistic import softmax_or_sigmoid, targets

__all__ = ["Activation", "Layer", "MlpNetwork"]

Matrix = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Activation = Literal["relu", "tanh", "sigmoid", "linear"]


class Layer(BaseModel):
    """One hidden layer of a declared network."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    units: int = Field(ge=1, le=4096)
    activation: Activation = "relu"


def _activate(name: str, z: Matrix) -> Matrix:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    return z


def _slope(name: str, z: Matrix, a: Matrix) -> Matrix:
    if name == "relu":
        return (z > 0).astype(np.float64)
    if name == "tanh":
        return 1.0 - a * a
    if name == "sigmoid":
        return a * (1.0 - a)
    return np.ones_like(z)


@dataclass(frozen=True)
class MlpNetwork:
    """Inputs → hidden `layers` → outputs (1: sigmoid, K: softmax)."""

    inputs: int
    layers: tuple[Layer, ...]
    outputs: int

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every layer, output layer last."""
        widths = [self.inputs, *(layer.units for layer in self.layers), self.outputs]
        return list(itertools.pairwise(widths))

    @property
    def shape(self) -> tuple[int, int]:
        """(1, number of parameters)."""
        return (1, sum((fan_in + 1) * fan_out for fan_in, fan_out in self.sizes))

    def unpack(self, weights: Matrix) -> list[tuple[Matrix, Matrix]]:
        """(W, b) of every layer, as views into the flat parameters."""
        flat, out, at = weights.reshape(-1), [], 0
        for fan_in, fan_out in self.sizes:
            w = flat[at : at + fan_in * fan_out].reshape(fan_in, fan_out)
            at += fan_in * fan_out
            out.append((w, flat[at : at + fan_out]))
            at += fan_out
        return out

    def initial(self, rng: np.random.Generator) -> Matrix:
        """Glorot-uniform weights, zero biases."""
        weights = np.zeros(self.shape)
        for w, _b in self.unpack(weights):
            limit = np.sqrt(6.0 / (w.shape[0] + w.shape[1]))
            w[...] = rng.uniform(-limit, limit, size=w.shape)
        return weights

    def _forward(self, weights: Matrix, features: Matrix) -> tuple[list[Matrix], list[Matrix]]:
        zs, activations = [], [features]
        layers = self.unpack(weights)
        for k, (w, b) in enumerate(layers):
            z = activations[-1] @ w + b
            zs.append(z)
            last = k == len(layers) - 1
            activations.append(
                softmax_or_sigmoid(z) if last else _activate(self.layers[k].activation, z)
            )
        return zs, activations

    def probabilities(self, weights: Matrix, features: Matrix) -> Matrix:
        """P(class) per row."""
        return self._forward(weights, features)[1][-1]

    def gradient(self, weights: Matrix, features: Matrix, classes: Ints) -> Matrix:
        """∇ of the mean log-loss by backpropagation."""
        zs, activations = self._forward(weights, features)
        layers = self.unpack(weights)
        gradient = np.zeros_like(weights)
        parts = self.unpack(gradient)
        delta = (activations[-1] - targets(classes, self.outputs)) / max(len(classes), 1)
        for k in range(len(layers) - 1, -1, -1):
            parts[k][0][...] = activations[k].T @ delta
            parts[k][1][...] = delta.sum(axis=0)
            if k:
                back = delta @ layers[k][0].T
                delta = back * _slope(self.layers[k - 1].activation, zs[k - 1], activations[k])
        return gradient

    def penalised(self) -> Matrix:
        """1 on the weights, 0 on the biases."""
        mask = np.zeros(self.shape)
        for w, _b in self.unpack(mask):
            w[...] = 1.0
        return mask
