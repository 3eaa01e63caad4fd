"""Each party z-scores its own columns to train; its coefficients are saved on the data's scale."""

# Gradient descent on raw measurements (a blood pressure near 120, an income near 10^5) needs a
# learning rate per column; one rate for all either crawls or diverges, and the intercept is
# tied to every column with a large mean. As glmnet's `standardize`, each party z-scores its
# own columns with the mean and standard deviation of its training rows, trains there, and
# stores coefficients on the original scale: weights w/σ and the constant its columns add,
# offset = Σ_j (w_j/σ_j)·μ_j. The guest folds its offset into the intercept; a host keeps its
# own, and subtracts it from its partial scores. Nothing about μ or σ leaves the party.
# A model is reopened (to predict, or to warm-start) with the μ and σ it was trained with,
# so its optimiser state and weights mean the same thing again.

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.glm._data import PartyData

__all__ = ["Standardizer"]

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Standardizer:
    """x ↦ (x − mean) / scale per column; the identity where a party does not standardise."""

    mean: Vector
    scale: Vector

    @classmethod
    def identity(cls, width: int) -> Standardizer:
        """No change: old models, and `standardize: false`."""
        return cls(np.zeros(width), np.ones(width))

    @classmethod
    def fit(cls, features: Vector) -> Standardizer:
        """Mean and population standard deviation of each column; a constant column keeps
        scale 1 (it becomes 0 and its weight stays at its start)."""
        mean = features.mean(axis=0) if len(features) else np.zeros(features.shape[1])
        scale = features.std(axis=0) if len(features) else np.ones(features.shape[1])
        tiny = ~np.isfinite(scale) | (scale <= 1e-12 * np.maximum(1.0, np.abs(mean)))
        return cls(np.asarray(mean, np.float64), np.where(tiny, 1.0, scale).astype(np.float64))

    @classmethod
    def of_model(cls, model: ModelArtifact, width: int) -> Standardizer:
        """The standardisation a saved model was trained with (identity if it had none)."""
        if "feature_mean" not in model.arrays:
            return cls.identity(width)
        return cls(np.asarray(model.arrays["feature_mean"], np.float64),
                   np.asarray(model.arrays["feature_scale"], np.float64))  # fmt: skip

    @property
    def standardizes(self) -> bool:
        """Whether this changes anything (False for the identity)."""
        return bool(np.any(self.mean != 0.0) or np.any(self.scale != 1.0))

    def apply(self, data: PartyData) -> PartyData:
        """The same rows with standardised features."""
        return dataclasses.replace(data, features=(data.features - self.mean) / self.scale)

    def to_original(self, weights: Vector) -> tuple[Vector, Vector]:
        """(models × features) trained weights → (weights on the data's scale, each model's
        offset Σ_j w_j μ_j / σ_j) to save."""
        original = weights / self.scale
        return original, original @ self.mean

    def to_trained(self, weights: Vector) -> Vector:
        """Saved weights on the data's scale → the weights training and scoring use here."""
        return weights * self.scale

    def arrays(self) -> dict[str, Vector]:
        """What the model saves to be reopened with the same standardisation."""
        return {"feature_mean": self.mean, "feature_scale": self.scale}
