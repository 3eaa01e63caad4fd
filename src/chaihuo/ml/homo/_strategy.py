"""Server strategies: how the mean client update moves the global model each round."""

# Δ is the mean of the clients' updates (w_i − w). FedAvg / FedProx take w ← w + η·Δ (η = 1 is
# McMahan et al. 2017's averaging). The adaptive optimisers of Reddi et al., "Adaptive
# Federated Optimization" (ICLR 2021, Algorithm 2) treat −Δ as a pseudo-gradient:
#
#     m ← β1·m + (1 − β1)·Δ
#     v ← v + Δ²                                  FedAdagrad
#     v ← β2·v + (1 − β2)·Δ²                      FedAdam
#     v ← v − (1 − β2)·Δ²·sign(v − Δ²)            FedYogi
#     w ← w + η·m / (√v + τ)
#
# SCAFFOLD (Karimireddy et al. 2020) moves w like FedAvg and keeps the server control variate
# c ← c + (|S| / N)·mean(Δc_i) over the round's clients S of N.

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from chaihuo.ml.homo._params import HomoLrParams

__all__ = ["ServerStrategy"]

Matrix = npt.NDArray[np.float64]


@dataclass
class ServerStrategy:
    """The server optimiser's state for one job."""

    params: HomoLrParams
    m: Matrix | None = field(default=None, repr=False)
    v: Matrix | None = field(default=None, repr=False)

    def apply(self, weights: Matrix, delta: Matrix) -> Matrix:
        """The next global weights from the current ones and the mean update `delta`."""
        p = self.params
        if p.strategy in ("fedavg", "fedprox", "scaffold"):
            return weights + p.server_learning_rate * delta
        if self.m is None or self.v is None:
            self.m = np.zeros_like(weights)
            self.v = np.full_like(weights, p.server_tau**2)  # Reddi et al.'s v_{-1} = τ²
        self.m = p.server_beta1 * self.m + (1 - p.server_beta1) * delta
        square = delta * delta
        if p.strategy == "fedadagrad":
            self.v = self.v + square
        elif p.strategy == "fedadam":
            self.v = p.server_beta2 * self.v + (1 - p.server_beta2) * square
        else:  # fedyogi
            self.v = self.v - (1 - p.server_beta2) * square * np.sign(self.v - square)
        return weights + p.server_learning_rate * self.m / (np.sqrt(self.v) + p.server_tau)
