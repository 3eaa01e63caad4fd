"""`evaluation`: metrics, a JSON report and ROC / loss PNGs for a model's predictions."""

# Runs on the guest alone (vertical jobs) or on each client (horizontal jobs): the party that
# holds the labels and the predictions, so nothing crosses the wire; hosts, the arbiter and
# the server take no part. Inputs `data` (and optionally `data_2` ...
# `data_5`, to compare models) are `Predictions`. Scalar metrics go to `ctx.metrics` (the
# job summary shows them); outputs: `report` (JSON), `roc` (binary) and `loss` (when a model
# logged a loss history on this party) as PNG figures the worker writes to the component's
# output directory (`Figure.save(directory, name)`).

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.core import Role
from chaihuo.ml import Predictions
from chaihuo.ml.evaluation import (
    EvaluationError,
    EvaluationResult,
    RocCurve,
    evaluate,
    loss_figure,
    roc_figure,
)
from chaihuo.runtime import Context

__all__ = ["EVALUATION", "EvaluationParams"]

MetricName = Literal[  # = chaihuo.ml.evaluation.ALL_METRICS (a unit test checks)
    "auc",
    "ks",
    "precision",
    "recall",
    "f1",
    "accuracy",
    "lift",
    "gain",
    "confusion_matrix",
    "roc",
    "rmse",
    "mse",
    "mae",
    "r2",
    "explained_variance",
    "median_ae",
    "poisson_deviance",
]

EXTRA_INPUTS = ("data_2", "data_3", "data_4", "data_5")
Threshold = Annotated[float, Field(ge=0.0, le=1.0)]


class EvaluationParams(ComponentParams):
    """Which metrics, the positive label and thresholds (binary), figures, loss source."""

    metrics: list[MetricName] | None = Field(
        None, description="Default by task kind: chaihuo.ml.evaluation.DEFAULT_METRICS."
    )
    pos_label: int | str | None = Field(
        None, description="Binary: the label the scores are P() of (default: the model's)."
    )
    thresholds: list[Threshold] | None = Field(
        None,
        min_length=1,
        description="Binary: score cuts; the first gives precision/recall/F1/accuracy.",
    )
    plots: bool = Field(True, description="Write roc.png (binary) and loss.png (if logged).")
    loss_from: list[str] | str | None = Field(
        None,
        description="Component ids whose logged `loss` / `*_loss` to plot (default: every "
        "component of this job that logged one on this party).",
    )


def _is_loss(name: str) -> bool:
    return name == "loss" or name.endswith("_loss")


def _loss_series(
    ctx: Context, params: EvaluationParams
) -> dict[str, tuple[list[float], list[float]]]:
    """(steps, values) per (namespace, name) of loss-like metrics logged upstream on this party.

    Records logged without a step are numbered in order; a step logged twice (e.g. by two
    roles of this party under one namespace) keeps its last value.
    """
    parent, own = ctx.namespace[:-1], ".".join(ctx.namespace)
    prefix = ".".join(parent)
    sources = [params.loss_from] if isinstance(params.loss_from, str) else params.loss_from
    roots = [".".join((*parent, s)) for s in sources] if sources is not None else [prefix or None]
    grouped: dict[str, dict[float, float]] = {}
    for root in roots:
        for record in ctx.metrics_sink.records(root):
            if not _is_loss(record.name) or record.namespace == own:
                continue
            if record.namespace.startswith(own + "."):
                continue
            label = record.namespace[len(prefix) + 1 :] if prefix else record.namespace
            points = grouped.setdefault(f"{label}: {record.name}", {})
            points[float(record.step if record.step is not None else len(points))] = record.value
    return {
        name: (sorted(points), [points[s] for s in sorted(points)])
        for name, points in grouped.items()
    }


def _log(ctx: Context, name: str, scalars: Mapping[str, float]) -> None:
    prefix = "" if name == "data" else f"{name}."
    for metric, value in scalars.items():
        ctx.metrics.log(prefix + metric, value)


def _guest(ctx: Context, params: EvaluationParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    given = {name: inputs[name] for name in ("data", *EXTRA_INPUTS) if name in inputs}
    if "data" not in given:
        raise EvaluationError("evaluation needs input 'data' (a model's predictions)")
    results: dict[str, EvaluationResult] = {}
    for name, value in given.items():
        if not isinstance(value, Predictions):
            raise EvaluationError(
                f"evaluation input {name!r} must be a model's predictions, "
                f"got {type(value).__name__}"
            )
        results[name] = evaluate(
            value, metrics=params.metrics, pos_label=params.pos_label, thresholds=params.thresholds
        )
        _log(ctx, name, results[name].scalars)
    outputs: dict[str, Any] = {"report": {name: r.report for name, r in results.items()}}
    if params.plots:
        curves: dict[str, tuple[RocCurve, float | None]] = {
            name: (r.roc, r.scalars.get("auc")) for name, r in results.items() if r.roc is not None
        }
        if curves:
            outputs["roc"] = roc_figure(curves)
        series = _loss_series(ctx, params)
        if series:
            outputs["loss"] = loss_figure(series)
    return outputs


EVALUATION = ComponentSpec(
    name="evaluation",
    version="1.0",
    description="Metrics, a JSON report and ROC / loss figures for a model's predictions.",
    params=EvaluationParams,
    runners={Role.GUEST: _guest, Role.CLIENT: _guest},
    inputs=("data",),
    outputs=("report", "roc", "loss"),
    optional_inputs=EXTRA_INPUTS,
)
