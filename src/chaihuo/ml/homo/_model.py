"""homo_lr's model artifact and its loading."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.vertical import load_part

__all__ = ["KIND", "homo_model", "model_weights"]

KIND = "homo_lr"
Matrix = npt.NDArray[np.float64]


def homo_model(
    role: str, weights: Matrix, classes: list[int], features: tuple[str, ...], meta: dict[str, Any]
) -> ModelArtifact:
    """The global model as every party stores it (the same weights on server and clients)."""
    return ModelArtifact(
        KIND, role, {"classes": classes, "features": list(features), **meta}, {"weights": weights}
    )


def model_weights(source: object, role: str) -> tuple[Matrix, list[int], list[str]] | None:
    """(weights, classes, feature names) of a `model` input, checked; None without one."""
    model = load_part(source, KIND, role)
    if model is None:
        return None
    weights = np.asarray(model.arrays.get("weights"), dtype=np.float64)
    classes = [int(c) for c in model.meta.get("classes", [])]
    features = [str(f) for f in model.meta.get("features", [])]
    outputs = 1 if len(classes) == 2 else len(classes)
    if weights.ndim != 2 or weights.shape != (outputs, len(features) + 1):
        raise InvalidInputError("`model` input's weights do not match its classes and features")
    return weights, classes, features
