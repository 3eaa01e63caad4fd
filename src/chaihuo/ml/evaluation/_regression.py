"""Regression metrics: RMSE, MSE, MAE, R², explained variance, median AE, Poisson deviance."""

# R² = 1 − SS_res / SS_tot and explained variance = 1 − Var(y − ŷ) / Var(y). When the labels
# are constant (SS_tot = 0) both are defined as 1 for a perfect prediction and 0 otherwise,
# scikit-learn's `force_finite` convention, so a summary never holds −inf or NaN.

from __future__ import annotations

from typing import Any

import numpy as np

from chaihuo.ml.evaluation._common import EvaluationError, FloatArray, as_scores

__all__ = ["REGRESSION_METRICS", "regression_metrics"]

REGRESSION_METRICS = (
    "rmse",
    "mse",
    "mae",
    "r2",
    "explained_variance",
    "median_ae",
    "poisson_deviance",
)


def _finite_ratio(numerator: float, denominator: float) -> float:
    if denominator != 0.0:
        return 1.0 - numerator / denominator
    return 1.0 if numerator == 0.0 else 0.0


def _poisson_deviance(y: FloatArray, mu: FloatArray) -> float:
    """Mean Poisson deviance 2·mean(y·log(y/μ) − (y − μ)), with y·log(y/μ) = 0 at y = 0
    (McCullagh & Nelder 1989, §6.2); needs y ≥ 0 and μ > 0."""
    if np.any(y < 0):
        raise EvaluationError("poisson_deviance needs non-negative labels (counts)")
    if np.any(mu <= 0):
        raise EvaluationError("poisson_deviance needs strictly positive predictions")
    ratio_term = np.zeros_like(y)
    nonzero = y > 0
    ratio_term[nonzero] = y[nonzero] * np.log(y[nonzero] / mu[nonzero])
    return float(2.0 * np.mean(ratio_term - (y - mu)))


def regression_metrics(y_true: Any, y_pred: Any, metrics: tuple[str, ...]) -> dict[str, float]:
    """The named metrics of `REGRESSION_METRICS` for real-valued predictions."""
    unknown = [m for m in metrics if m not in REGRESSION_METRICS]
    if unknown:
        raise EvaluationError(
            f"unknown regression metric(s) {unknown}; known: {', '.join(REGRESSION_METRICS)}"
        )
    y = as_scores(y_true, "labels")
    mu = as_scores(y_pred, "predictions", rows=y.shape[0])
    if y.ndim != 1 or mu.ndim != 1:
        raise EvaluationError("regression labels and predictions must be one-dimensional")
    residual = y - mu
    mse = float(np.mean(residual**2))
    values = {
        "rmse": lambda: float(np.sqrt(mse)),
        "mse": lambda: mse,
        "mae": lambda: float(np.mean(np.abs(residual))),
        "r2": lambda: _finite_ratio(
            float(np.sum(residual**2)), float(np.sum((y - np.mean(y)) ** 2))
        ),
        "explained_variance": lambda: _finite_ratio(float(np.var(residual)), float(np.var(y))),
        "median_ae": lambda: float(np.median(np.abs(residual))),
        "poisson_deviance": lambda: _poisson_deviance(y, mu),
    }
    return {name: values[name]() for name in metrics}
