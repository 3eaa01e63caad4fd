"""Evaluation metrics against scikit-learn (the centralized reference), on real data and fuzzed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor

from chaihuo.ml import Predictions
from chaihuo.ml.evaluation import (
    ALL_METRICS,
    DEFAULT_METRICS,
    EvaluationError,
    binarize,
    confusion_at,
    evaluate,
    ks_statistic,
    lift_gain,
    multiclass_metrics,
    ovr_auc,
    regression_metrics,
    roc_auc,
    roc_curve,
)

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"
TOL = 1e-9  # every metric below equals scikit-learn's within this absolute tolerance


def _joined(pair: str, id_col: str = "id", label: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """guest ⋈ host on the id (same ids, same order in these files): features, labels."""
    tables = []
    for role in ("guest", "host"):
        with (DATA / f"{pair}_hetero_{role}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        tables.append({r[id_col]: r for r in rows})
    guest, host = tables
    ids = sorted(guest, key=float)
    g_cols = [c for c in next(iter(guest.values())) if c not in (id_col, label)]
    h_cols = [c for c in next(iter(host.values())) if c != id_col]
    x = np.array(
        [[float(guest[i][c]) for c in g_cols] + [float(host[i][c]) for c in h_cols] for i in ids]
    )
    y = np.array([float(guest[i][label]) for i in ids])
    return x, y


@pytest.fixture(scope="module")
def breast() -> tuple[np.ndarray, np.ndarray]:
    x, y = _joined("breast")
    # A deliberately weak model (two features, rounded scores) so that ties and errors occur.
    model = LogisticRegression(max_iter=1000).fit(x[:, :2], y)
    return y.astype(np.int64), np.round(model.predict_proba(x[:, :2])[:, 1], 2)


def test_binary_metrics_equal_sklearn_on_breast(breast: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = breast
    assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    fpr, tpr, _ = skm.roc_curve(y, s)
    assert ks_statistic(y, s) == pytest.approx(float(np.max(tpr - fpr)), abs=TOL)
    for threshold in (0.3, 0.5, 0.8):
        table = confusion_at(y, s, threshold)
        guess = (s >= threshold).astype(int)
        assert table.precision == pytest.approx(skm.precision_score(y, guess), abs=TOL)
        assert table.recall == pytest.approx(skm.recall_score(y, guess), abs=TOL)
        assert table.f1 == pytest.approx(skm.f1_score(y, guess), abs=TOL)
        assert table.accuracy == pytest.approx(skm.accuracy_score(y, guess), abs=TOL)
        assert table.matrix() == skm.confusion_matrix(y, guess).tolist()


@pytest.mark.parametrize("drop", [False, True])
def test_roc_points_equal_sklearn(breast: tuple[np.ndarray, np.ndarray], drop: bool) -> None:
    y, s = breast
    curve = roc_curve(y, s, drop_intermediate=drop)
    fpr, tpr, cuts = skm.roc_curve(y, s, drop_intermediate=drop)
    np.testing.assert_allclose(curve.fpr, fpr, rtol=0, atol=TOL)
    np.testing.assert_allclose(curve.tpr, tpr, rtol=0, atol=TOL)
    np.testing.assert_array_equal(curve.thresholds, cuts)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(roc_auc(y, s), abs=TOL)


def test_lift_and_gain_by_deciles_equal_sklearn_at_each_cut(
    breast: tuple[np.ndarray, np.ndarray],
) -> None:
    y, s = breast
    rows = lift_gain(y, s)
    assert [r.bin for r in rows] == list(range(1, 11))
    ranked = np.sort(s)[::-1]
    for row in rows:
        # The cut is the score of the ⌈k·n/10⌉-th best row; every row tied with it is in.
        assert row.threshold == ranked[int(np.ceil(row.bin * len(s) / 10)) - 1]
        guess = (s >= row.threshold).astype(int)
        assert row.count == guess.sum() and row.depth >= row.bin / 10 - TOL
        assert row.gain == pytest.approx(skm.recall_score(y, guess), abs=TOL)
        assert row.lift == pytest.approx(skm.precision_score(y, guess) / y.mean(), abs=TOL)
    assert rows[-1].depth == 1.0 and rows[-1].gain == 1.0 and rows[-1].lift == pytest.approx(1.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=60).filter(
        lambda rows: 0 < sum(p for p, _ in rows) < len(rows)
    )
)
def test_auc_ks_and_roc_equal_sklearn_with_heavy_ties(rows: list[tuple[bool, int]]) -> None:
    y = np.array([int(p) for p, _ in rows])
    s = np.array([v / 6 for _, v in rows])
    assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    curve = roc_curve(y, s)
    np.testing.assert_allclose(curve.tpr, tpr, atol=TOL)
    np.testing.assert_allclose(curve.fpr, fpr, atol=TOL)
    assert ks_statistic(y, s) == pytest.approx(float(np.max(tpr - fpr)), abs=TOL)


def test_binary_labels_other_than_zero_one_and_pos_label() -> None:
    y = np.array(["no", "yes", "yes", "no", "yes"])
    s = np.array([0.1, 0.9, 0.4, 0.35, 0.8])
    assert roc_auc(y, s, pos_label="yes") == pytest.approx(
        skm.roc_auc_score(y == "yes", s), abs=TOL
    )
    # Numeric labels read as floats still match an integer (or textual) pos_label.
    assert binarize(np.array([1.0, 0.0]), "1").tolist() == [True, False]
    # Flipping the positive class flips the ROC: AUC(−s, neg) = AUC(s, pos).
    assert roc_auc(y, -s, pos_label="no") == pytest.approx(roc_auc(y, s, pos_label="yes"))


def test_binary_edge_cases_give_clear_errors() -> None:
    with pytest.raises(EvaluationError, match=r"auc is undefined .* single class: all 3 rows"):
        roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(EvaluationError, match="ROC curve is undefined"):
        roc_curve([0, 0], [0.2, 0.5])
    with pytest.raises(EvaluationError, match="empty input"):
        roc_auc([], [])
    with pytest.raises(EvaluationError, match="3 rows, but the labels have 2"):
        roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(EvaluationError, match="NaN or infinite"):
        roc_auc([0, 1], [0.1, float("nan")])
    with pytest.raises(EvaluationError, match="at most 2 distinct labels, got 3"):
        roc_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(EvaluationError, match="pos_label=1 is not one of the labels"):
        confusion_at([0, 2], [0.1, 0.9], 0.5)
    with pytest.raises(EvaluationError, match="without positives"):
        lift_gain([0, 0], [0.1, 0.9])
    # Precision with nothing predicted positive is 0 (scikit-learn's zero_division=0).
    table = confusion_at([0, 1], [0.1, 0.2], 0.5)
    assert (table.precision, table.recall, table.f1, table.accuracy) == (0.0, 0.0, 0.0, 0.5)


@pytest.fixture(scope="module")
def vehicle() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = _joined("vehicle_scale")
    model = LogisticRegression(max_iter=2000).fit(x[:, :6], y.astype(int))
    return y.astype(int), model.predict_proba(x[:, :6]), model.classes_


def test_multiclass_metrics_equal_sklearn_on_vehicle(
    vehicle: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    y, proba, classes = vehicle
    guess = classes[np.argmax(proba, axis=1)]
    table = multiclass_metrics(y, guess)
    assert table.accuracy == pytest.approx(skm.accuracy_score(y, guess), abs=TOL)
    for name, reference in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        assert table.macro(name) == pytest.approx(reference(y, guess, average="macro"), abs=TOL)
        per_class = reference(y, guess, average=None)
        assert [row[name] for row in table.per_class()] == pytest.approx(per_class, abs=TOL)
    assert table.matrix.tolist() == skm.confusion_matrix(y, guess).tolist()
    reference_auc = skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert ovr_auc(y, proba, classes.tolist()) == pytest.approx(reference_auc, abs=TOL)


def test_multiclass_class_set_is_the_union_of_true_and_predicted() -> None:
    y, guess = np.array([0, 0, 1, 2]), np.array([0, 3, 1, 1])  # 3 never true, 2 never predicted
    table = multiclass_metrics(y, guess)
    assert table.classes == [0, 1, 2, 3]
    assert table.macro("precision") == pytest.approx(
        skm.precision_score(y, guess, average="macro", zero_division=0), abs=TOL
    )
    assert table.macro("f1") == pytest.approx(
        skm.f1_score(y, guess, average="macro", zero_division=0), abs=TOL
    )
    with pytest.raises(EvaluationError, match="different types"):
        multiclass_metrics(np.array(["a", "b"]), np.array([0, 1]))
    with pytest.raises(EvaluationError, match="class 2: no row"):
        ovr_auc([0, 1, 0], np.full((3, 3), 1 / 3), [0, 1, 2])


def _regression_reference(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "rmse": skm.root_mean_squared_error(y, p),
        "mse": skm.mean_squared_error(y, p),
        "mae": skm.mean_absolute_error(y, p),
        "r2": skm.r2_score(y, p),
        "explained_variance": skm.explained_variance_score(y, p),
        "median_ae": skm.median_absolute_error(y, p),
    }


@pytest.mark.parametrize(
    ("pair", "id_col", "label"), [("student", "id", "y"), ("motor", "idx", "motor_speed")]
)
def test_regression_metrics_equal_sklearn(pair: str, id_col: str, label: str) -> None:
    x, y = _joined(pair, id_col, label)
    p = LinearRegression().fit(x, y).predict(x)
    ours = regression_metrics(y, p, tuple(_regression_reference(y, p)))
    for name, value in _regression_reference(y, p).items():
        assert ours[name] == pytest.approx(value, rel=TOL, abs=TOL), name


def test_poisson_deviance_equals_sklearn_on_dvisits() -> None:
    x, y = _joined("dvisits", label="doctorco")
    mu = PoissonRegressor(alpha=0.0, max_iter=1000).fit(x, y).predict(x)
    ours = regression_metrics(y, mu, ("poisson_deviance",))["poisson_deviance"]
    assert ours == pytest.approx(skm.mean_poisson_deviance(y, mu), rel=TOL)
    with pytest.raises(EvaluationError, match="strictly positive"):
        regression_metrics(y, np.zeros_like(y), ("poisson_deviance",))


def test_regression_edge_cases() -> None:
    constant = np.ones(5)
    for p in (np.ones(5), np.arange(5.0)):
        ours = regression_metrics(constant, p, ("r2", "explained_variance"))
        assert ours["r2"] == skm.r2_score(constant, p)
        assert ours["explained_variance"] == skm.explained_variance_score(constant, p)
    with pytest.raises(EvaluationError, match="empty input"):
        regression_metrics([], [], ("rmse",))
    with pytest.raises(EvaluationError, match="unknown regression metric"):
        regression_metrics([1.0], [1.0], ("auc",))


def _predictions(kind: str, scores: Any, labels: Any, classes: list[Any]) -> Predictions:
    return Predictions(kind, np.arange(len(scores)), np.asarray(scores, float), labels, classes)  # type: ignore[arg-type]


def test_evaluate_builds_a_json_report_per_task_kind(
    breast: tuple[np.ndarray, np.ndarray], vehicle: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    y, s = breast
    binary = evaluate(_predictions("binary", s, y, [0, 1]), thresholds=[0.5, 0.7])
    report = json.loads(json.dumps(binary.report, allow_nan=False))
    assert set(report["metrics"]) == {
        "auc",
        "ks",
        "precision",
        "recall",
        "f1",
        "accuracy",
        "lift_top_decile",
        "gain_top_decile",
    }
    assert report["confusion_matrix"]["labels"] == [0, 1]
    assert [t["threshold"] for t in report["thresholds"]] == [0.5, 0.7]
    assert len(report["lift_gain"]) == 10 and report["roc"]["thresholds"][0] is None
    assert report["positives"] + report["negatives"] == report["rows"] == len(y)
    y3, proba, classes = vehicle
    multi = evaluate(_predictions("multiclass", proba, y3, classes.tolist()))
    assert set(multi.scalars) == {"accuracy", "precision", "recall", "f1"}
    assert len(multi.report["per_class"]) == 4 and multi.report["average"] == "macro"
    json.dumps(multi.report, allow_nan=False)
    regression = evaluate(_predictions("regression", s, y.astype(float), []))
    assert set(regression.scalars) == set(DEFAULT_METRICS["regression"])


def test_evaluate_refuses_what_it_cannot_compute() -> None:
    with pytest.raises(EvaluationError, match="carry no true labels"):
        evaluate(_predictions("binary", [0.1, 0.2], None, [0, 1]))
    with pytest.raises(EvaluationError, match=r"\['rmse'\] do not apply to binary"):
        evaluate(_predictions("binary", [0.1, 0.9], [0, 1], [0, 1]), metrics=["rmse"])
    with pytest.raises(EvaluationError, match="no rows"):
        evaluate(_predictions("binary", [], [], [0, 1]))
    with pytest.raises(EvaluationError, match=r"auc is undefined .* single class"):
        evaluate(_predictions("binary", [0.1, 0.9], [1, 1], [0, 1]))
    # Without AUC-like metrics a single-class evaluation is well defined.
    ok = evaluate(_predictions("binary", [0.1, 0.9], [1, 1], [0, 1]), metrics=["recall"])
    assert ok.scalars == {"recall": 0.5}
    with pytest.raises(EvaluationError, match="share no value with the model's classes"):
        evaluate(_predictions("multiclass", np.eye(2), np.array([5, 6]), [0, 1]))
    assert set(ALL_METRICS) >= set(DEFAULT_METRICS["binary"])
