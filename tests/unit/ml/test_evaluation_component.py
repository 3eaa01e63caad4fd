"""The `evaluation` component: guest only, metrics logged, JSON report, ROC and loss PNGs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
from matplotlib import image
from sklearn import metrics as skm

from chaihuo.components import ComponentError, save_outputs, validate_params
from chaihuo.components.builtin._evaluation import EVALUATION, EvaluationParams, MetricName
from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Party
from chaihuo.ml import Predictions
from chaihuo.ml.evaluation import ALL_METRICS, Figure, loss_figure
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

GUEST = Party(Role.GUEST, "1")


def _binary(seed: int, n: int = 400) -> Predictions:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = np.clip(0.35 * labels + rng.random(n) * 0.65, 0, 1)
    return Predictions("binary", np.arange(n), scores, labels, [0, 1])


def _evaluate(
    params: dict[str, Any],
    inputs: dict[str, Any],
    losses: dict[str, list[float]] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the component on the guest of a two-party job; the host does nothing."""

    def party(ctx: Context) -> Any:
        if ctx.role != Role.GUEST:
            return None
        for namespace, values in (losses or {}).items():
            for step, value in enumerate(values):
                ctx.sub(namespace).metrics.log("loss", value, step=step)
        ctx.sub("psi_0").metrics.log("intersection", 400)  # not a loss: never plotted
        sub = ctx.sub("eval_0")
        outputs = EVALUATION.runners[Role.GUEST](sub, EvaluationParams(**params), inputs)
        return dict(outputs), ctx.metrics_sink.latest("eval_0")

    result: tuple[dict[str, Any], dict[str, float]] = run_parties(party, {"guest": 1, "host": 2})[
        GUEST
    ]
    return result


def test_spec_runs_where_the_labels_are_and_validates_its_params() -> None:
    # The guest of a vertical job, each client of a horizontal one.
    assert EVALUATION.roles == frozenset({Role.GUEST, Role.CLIENT})
    assert set(get_args(MetricName)) == set(ALL_METRICS)
    assert EVALUATION.optional_inputs == ("data_2", "data_3", "data_4", "data_5")
    defaults = EvaluationParams()
    assert (defaults.metrics, defaults.pos_label, defaults.thresholds, defaults.plots) == (
        None,
        None,
        None,
        True,
    )
    with pytest.raises(ComponentError, match=r"metrics\.0"):
        validate_params(EVALUATION, {"metrics": ["bogus"]}, "eval_0 on guest")
    with pytest.raises(ComponentError, match=r"thresholds\.0"):
        validate_params(EVALUATION, {"thresholds": [1.5]}, "eval_0 on guest")


def test_binary_models_are_compared_and_figures_written(tmp_path: Path) -> None:
    first, second = _binary(1), _binary(2)
    losses = {"lr_0": [0.69, 0.5, 0.41, 0.38], "lr_1": [0.7, 0.6]}
    outputs, logged = _evaluate({}, {"data": first, "data_2": second}, losses)
    assert logged["auc"] == pytest.approx(skm.roc_auc_score(first.labels, first.scores), abs=1e-9)
    assert logged["data_2.auc"] == pytest.approx(
        skm.roc_auc_score(second.labels, second.scores), abs=1e-9
    )
    assert {"ks", "f1", "accuracy", "lift_top_decile", "data_2.ks"} <= set(logged)
    assert set(outputs) == {"report", "roc", "loss"}
    assert set(outputs["report"]) == {"data", "data_2"}
    paths = save_outputs(outputs, tmp_path / "eval_0")  # what the worker does
    assert set(paths) == {"report", "roc", "loss"}
    report = json.loads(Path(paths["report"]).read_text())
    assert report["data"]["metrics"]["auc"] == logged["auc"]
    for name in ("roc", "loss"):
        assert paths[name].endswith(f"{name}.png")
        pixels = image.imread(paths[name])
        assert pixels.shape[:2] == (480, 640) and pixels.std() > 0.01  # drawn, not blank


def test_loss_curve_reads_the_named_component_or_every_logged_loss() -> None:
    losses = {"lr_0": [0.7, 0.5], "lr_1": [0.9, 0.8, 0.7]}
    outputs, _ = _evaluate({"loss_from": "lr_1"}, {"data": _binary(3)}, losses)
    assert isinstance(outputs["loss"], Figure)
    outputs, _ = _evaluate({}, {"data": _binary(3)})
    assert "loss" not in outputs  # nothing logged a loss on this party
    outputs, _ = _evaluate({"plots": False}, {"data": _binary(3)}, losses)
    assert set(outputs) == {"report"}
    outputs, _ = _evaluate({"loss_from": ["nothing_0"]}, {"data": _binary(3)}, losses)
    assert "loss" not in outputs


def test_regression_and_multiclass_reports_have_no_roc() -> None:
    rng = np.random.default_rng(4)
    truth = rng.normal(size=50)
    regression = Predictions("regression", np.arange(50), truth + rng.normal(size=50) * 0.1, truth)
    outputs, logged = _evaluate({}, {"data": regression})
    assert set(logged) == {"rmse", "mae", "r2", "explained_variance", "median_ae"}
    assert "roc" not in outputs
    proba = rng.dirichlet(np.ones(3), size=60)
    labels = rng.integers(0, 3, 60)
    multi = Predictions("multiclass", np.arange(60), proba, labels, [0, 1, 2])
    outputs, logged = _evaluate({"metrics": ["accuracy", "f1", "auc"]}, {"data": multi})
    assert logged["accuracy"] == pytest.approx(
        skm.accuracy_score(labels, np.argmax(proba, axis=1)), abs=1e-9
    )
    assert "roc" not in outputs and set(logged) == {"accuracy", "f1", "auc"}


def test_bad_inputs_fail_with_the_cause() -> None:
    with pytest.raises(PartyFailedError, match="must be a model's predictions, got dict"):
        _evaluate({}, {"data": {"not": "predictions"}})
    one_class = Predictions("binary", np.arange(3), np.array([0.1, 0.5, 0.9]), np.ones(3), [0, 1])
    with pytest.raises(PartyFailedError, match=r"auc is undefined .* single class"):
        _evaluate({}, {"data": one_class})
    with pytest.raises(InvalidInputError, match="PNG"):
        Figure(b"GIF89a")
    with pytest.raises(InvalidInputError, match="at least one series"):
        loss_figure({})
