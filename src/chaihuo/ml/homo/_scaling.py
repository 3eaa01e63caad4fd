"""Feature standardisation from securely summed moments, and the weights on either scale."""

# At set-up the clients' rows give, through two more secure sums, the global mean
# μ_j = Σ x_j / N and variance σ²_j = Σ (x_j − μ_j)² / N of every feature (each client sends
# its sums already divided by the total N, so an encoded value stays below the variance
# itself); training then runs on z = (x − μ) / s with s_j = σ_j. Only the union's μ and σ are
# revealed (to the server and every client), never one client's.
#
# Standardising is a change of coordinates, not of the model: with W_z the weights on z,
# W = W_z / s and b = b_z − (W_z / s)·μ give the same logits on x. The penalty is kept on the
# original scale, α/2‖W‖² = α/2 Σ_j (W_z,j / s_j)², so the optimum is the one scikit-learn
# finds on the raw features; standardising only conditions the steps (Hessian ≈ identity).
# The secure sums round to 2^-17 per client, so a variance below 2^-14 is not trusted and its
# feature keeps s = 1 (a near-constant column; training still converges, more slowly).

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.federation import ProtocolViolationError

__all__ = ["Scaling"]

Matrix = npt.NDArray[np.float64]
_SMALLEST_VARIANCE = 2.0**-14


@dataclass(frozen=True)
class Scaling:
    """Per-feature mean and scale of the union of the clients' rows."""

    mean: Matrix
    scale: Matrix

    @classmethod
    def identity(cls, features: int) -> Scaling:
        """No standardisation."""
        return cls(np.zeros(features), np.ones(features))

    @classmethod
    def from_variance(cls, mean: Matrix, variance: Matrix) -> Scaling:
        """μ and s = √variance (1 where the variance is too small to trust)."""
        scale = np.where(variance > _SMALLEST_VARIANCE, np.sqrt(np.maximum(variance, 0)), 1.0)
        return cls(np.asarray(mean, dtype=np.float64), scale)

    def standardise(self, features: Matrix) -> Matrix:
        """z = (x − μ) / s."""
        return (features - self.mean) / self.scale

    def penalty(self, alpha: float) -> Matrix:
        """Per-coordinate L2 strength on the z scale that is α on the original scale."""
        return alpha / self.scale**2

    def to_original(self, weights: Matrix) -> Matrix:
        """Weights on z → weights on x (last column the intercept)."""
        out = np.empty_like(weights)
        out[:, :-1] = weights[:, :-1] / self.scale
        out[:, -1] = weights[:, -1] - out[:, :-1] @ self.mean
        return out

    def to_standard(self, weights: Matrix) -> Matrix:
        """Weights on x → weights on z."""
        out = np.empty_like(weights)
        out[:, :-1] = weights[:, :-1] * self.scale
        out[:, -1] = weights[:, -1] + weights[:, :-1] @ self.mean
        return out

    def to_wire(self) -> dict[str, Any]:
        """Codec-ready form."""
        return {"mean": self.mean, "scale": self.scale}

    @classmethod
    def from_wire(cls, obj: object, features: int) -> Scaling:
        """Rebuild and check a received scaling for `features` columns."""
        if not isinstance(obj, dict) or set(obj) != {"mean", "scale"}:
            raise ProtocolViolationError("scaling: expected fields mean and scale")
        parts = []
        for name in ("mean", "scale"):
            value = obj[name]
            if not isinstance(value, np.ndarray) or value.dtype != np.float64:
                raise ProtocolViolationError(f"scaling {name}: expected a float64 vector")
            if value.shape != (features,) or not np.all(np.isfinite(value)):
                raise ProtocolViolationError(f"scaling {name}: expected {features} finite values")
            parts.append(value)
        if np.any(parts[1] <= 0):
            raise ProtocolViolationError("scaling scale: every value must be positive")
        return cls(parts[0], parts[1])
