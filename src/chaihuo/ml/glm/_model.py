"""GLM model parts (one per party, JSON + arrays), initial weights, scores and metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._optim import Optimizer
from chaihuo.ml._predictions import Predictions
from chaihuo.ml.glm._family import Family, sigmoid
from chaihuo.ml.vertical import load_part

__all__ = [
    "auc",
    "epoch_offsets",
    "initial_weights",
    "load_model",
    "model_weights",
    "optimizer_arrays",
    "predictions",
    "resume_optimizer",
    "validation_metric",
]

Vector = npt.NDArray[np.float64]


def initial_weights(
    size: int, method: str, seed: int, party: int, model: int
) -> npt.NDArray[np.float64]:
    """Zeros, or N(0, 0.01²) from a generator seeded by (seed, party, model)."""
    if method == "zeros":
        return np.zeros(size, dtype=np.float64)
    return np.random.default_rng([seed, party, model]).normal(0.0, 0.01, size)


def load_model(obj: object, family: Family, role: str) -> ModelArtifact | None:
    """This party's part of a saved model (an artifact or a path to its JSON), checked."""
    model = load_part(obj, family.component, role)
    if model is not None and (
        "weights" not in model.arrays or np.asarray(model.arrays["weights"]).ndim != 2
    ):
        raise InvalidInputError("`model` input has no (models × features) `weights` array")
    return model


def model_weights(model: ModelArtifact, feature_names: tuple[str, ...]) -> Vector:
    """The (models × features) weights, refusing a model made for other feature columns."""
    names = tuple(model.meta.get("feature_names", ()))
    if names != feature_names:
        raise InvalidInputError(
            f"the model was fitted on {len(names)} other feature columns than these "
            f"{len(feature_names)} (names or order differ)"
        )
    return np.asarray(model.arrays["weights"], dtype=np.float64)


def optimizer_arrays(optimizers: list[Optimizer], size: int) -> dict[str, npt.NDArray[Any]]:
    """The optimisers' states (one row per model) to save beside the weights for warm start."""
    steps, first, second = zip(*(o.state(size) for o in optimizers), strict=True)
    return {
        "optimizer_steps": np.array(steps, dtype=np.int64),
        "optimizer_m": np.stack(first),
        "optimizer_v": np.stack(second),
    }


def resume_optimizer(
    optimizer: Optimizer, model: ModelArtifact | None, name: str, index: int, size: int
) -> None:
    """Continue model `index`'s optimiser from a warm-start model saved with the same
    optimiser `name` (learning-rate schedule and moments); otherwise it starts afresh."""
    if model is None or model.meta.get("optimizer") != name:
        return
    arrays = model.arrays
    if not {"optimizer_steps", "optimizer_m", "optimizer_v"} <= set(arrays):
        return
    steps = np.asarray(arrays["optimizer_steps"])
    first, second = np.asarray(arrays["optimizer_m"]), np.asarray(arrays["optimizer_v"])
    if first.shape != second.shape or first.ndim != 2 or first.shape[1] != size:
        raise InvalidInputError("warm start: the model's optimiser state has another shape")
    if steps.shape != (first.shape[0],) or np.any(steps < 0):
        raise InvalidInputError("warm start: the model's optimiser step counts are malformed")
    optimizer.resume(int(steps[index]), first[index], second[index])


def epoch_offsets(model: ModelArtifact | None, models: int) -> list[int]:
    """Epochs a warm-start model has already run, per model: training continues the batch
    order from there (0 for a fresh model)."""
    if model is None:
        return [0] * models
    done = model.meta.get("epochs_total", model.meta.get("epochs", [0] * models))
    if not isinstance(done, list) or len(done) != models:
        raise InvalidInputError("warm start: the model's epoch counts are malformed")
    return [int(value) for value in done]


def auc(labels: Vector, scores: Vector) -> float:
    """Area under the ROC curve by the rank-sum (Mann–Whitney U) formula, ties averaged."""
    positive = labels > 0.5
    count_pos = int(positive.sum())
    count_neg = len(labels) - count_pos
    if count_pos == 0 or count_neg == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_scores) != 0])
    ends = np.r_[starts[1:], len(scores)]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float(
        (ranks[positive].sum() - count_pos * (count_pos + 1) / 2) / (count_pos * count_neg)
    )


def poisson_deviance(y: Vector, mu: Vector) -> float:
    """Mean Poisson deviance 2/n Σ [y log(y/μ) − (y − μ)] (y log y = 0 at y = 0)."""
    safe = np.where(y > 0, y, 1.0)
    return float(np.mean(2.0 * (np.where(y > 0, y * np.log(safe / mu), 0.0) - (y - mu))))


def validation_metric(
    family: Family, u: Vector, y: Vector, exposure: Vector | None
) -> tuple[str, float, bool]:
    """(name, value, higher_is_better): AUC, RMSE or mean Poisson deviance."""
    if family.name == "logistic":
        return "validation_auc", auc(y, sigmoid(u)), True
    if family.name == "linear":
        return "validation_rmse", float(np.sqrt(np.mean((u - y) ** 2))), False
    return "validation_deviance", poisson_deviance(y, family.mean(u, exposure)), False


def _softmax(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float64)


def predictions(
    family: Family,
    ids: npt.NDArray[Any],
    u: npt.NDArray[np.float64],
    labels: npt.NDArray[Any] | None,
    *,
    classes: list[Any],
    exposure: Vector | None,
    threshold: float,
) -> Predictions:
    """Guest predictions from the full linear predictors u (rows × models).

    binary: P(y = 1) = sigmoid(u); multi-class one-vs-rest: softmax over the K models' u
    (the OvR logits, normalised to sum to one); regression: u, or μ = e·exp(u) for Poisson.
    """
    if family.name == "logistic" and u.shape[1] > 1:
        return Predictions("multiclass", ids, _softmax(u), labels, list(classes))
    if family.name == "logistic":
        truth = None if labels is None else (labels == classes[1]).astype(np.int64)
        return Predictions("binary", ids, sigmoid(u[:, 0]), truth, list(classes), threshold)
    truth = None if labels is None else labels.astype(np.float64)
    return Predictions("regression", ids, family.mean(u[:, 0], exposure), truth)
