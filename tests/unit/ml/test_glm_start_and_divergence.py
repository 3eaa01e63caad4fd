"""GLM training on data far from the defaults: raw-scale features train as z-scored ones (each
party standardises its own columns), the intercept starts at the labels' optimum, and a run
that diverges stops every party with TRAINING_DIVERGED naming the epoch and the remedy."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from _glm_testkit import PartyInputs, run_glm, synthetic

from chaihuo.core import Role, shared_reason
from chaihuo.federation import Party
from chaihuo.ml import TrainingDivergedError
from chaihuo.ml.glm import LINEAR, LOGISTIC, POISSON, GlmParams, fit_plaintext

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"


def _student() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(guest features, host features, grade) of FATE's student pair, joined on id."""

    def read(name: str) -> dict[str, list[str]]:
        with (DATA / name).open(newline="") as handle:
            rows = list(csv.reader(handle))
        return {row[0]: row[1:] for row in rows[1:]}

    guest, host = read("student_hetero_guest.csv"), read("student_hetero_host.csv")
    ids = sorted(guest.keys() & host.keys())
    y = np.array([float(guest[i][0]) for i in ids])
    gx = np.array([[float(v) for v in guest[i][1:]] for i in ids])
    hx = np.array([[float(v) for v in host[i]] for i in ids])
    return gx, hx, y


def _rmse(fit, gx: np.ndarray, hx: np.ndarray, y: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    u = fit.scores(gx, [hx])[:, 0]
    return float(np.sqrt(np.mean((u - y) ** 2)))


def test_a_target_far_from_zero_converges_in_100_adam_steps_when_the_intercept_starts_there() -> (
    None
):
    gx, hx, grade = _student()
    y = grade + 140.0  # student's grade moved to a mean near 150: the shape of a price, say
    joined = np.hstack([gx, hx, np.ones((len(y), 1))])
    least_squares = np.linalg.lstsq(joined, y, rcond=None)[0]
    best = float(np.sqrt(np.mean((joined @ least_squares - y) ** 2)))
    runs = {}
    for start in ("labels", "zero"):
        params = GlmParams(epochs=100, optimizer="adam", learning_rate=0.1, penalty="none",
                           tol=0.0, random_seed=1, intercept_init=start)  # fmt: skip
        runs[start] = _rmse(fit_plaintext(LINEAR, params, gx, y, [hx], seed=1), gx, hx, y)
    # (the grade's features are small integers: standardised or not, the same story)
    # from 0 the intercept crawls 0.1 per adam step towards 150: three times the best fit
    assert runs["zero"] > 2.5 * best
    # from the mean, 100 steps land within 5 % of least squares
    assert runs["labels"] < 1.05 * best, (runs, best)


@pytest.mark.parametrize("family", [LOGISTIC, LINEAR, POISSON])
def test_the_start_is_the_best_intercept_only_model(family) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.2).astype(float) if family is LOGISTIC else rng.poisson(7.0, 500)
    exposure = rng.uniform(0.5, 2.0, 500) if family is POISSON else None
    b = family.best_intercept(y.astype(float), exposure)
    u = np.full(500, b)
    assert abs(float(np.sum(family.residual(u, y.astype(float), exposure)))) < 1e-6 * 500
    assert family.loss_sum(u, y, exposure) < family.loss_sum(u + 0.01, y, exposure)
    assert family.loss_sum(u, y, exposure) < family.loss_sum(u - 0.01, y, exposure)


def test_the_federated_run_starts_where_the_reference_does(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(120, 2, [2])
    y = u * 3.0 + 150.0
    # sgd: adam normalises each step, so at the intercept's optimum (gradient ≈ 0) the 2^-24
    # encoding noise of the secure run would decide the sign of its first steps
    params = GlmParams(epochs=2, optimizer="sgd", learning_rate=0.1, random_seed=2, tol=0.0)
    results = run_glm(tmp_path, LINEAR, params, PartyInputs(train=(ids, gx, y)),
                      [PartyInputs(train=(ids, hx, None))])  # fmt: skip
    guest = next(v for p, v in results.items() if p.role == Role.GUEST)
    position = {key: i for i, key in enumerate(ids.tolist())}
    order = np.array([position[key] for key in guest["predictions"].ids.tolist()])
    fit = fit_plaintext(LINEAR, params, gx[order], y[order], [hx[order]], seed=2)
    np.testing.assert_allclose(guest["model"].arrays["intercept"], fit.intercept, atol=1e-6)
    np.testing.assert_allclose(guest["model"].arrays["weights"], fit.guest, atol=1e-6)
    assert abs(fit.intercept[0] - 150.0) < 5.0  # it started at the mean, not at 0


def test_a_diverging_run_stops_every_party_naming_the_epoch_and_the_remedy(
    tmp_path: Path,
) -> None:
    ids, gx, (hx,), u = synthetic(200, 2, [3])
    gx, hx = gx * 300.0, hx * 300.0  # raw-scale measurements, as a new user brings them
    y = (u > 0).astype(np.int64)
    params = GlmParams(epochs=20, learning_rate=0.5, random_seed=1, tol=0.0, standardize=False)
    results = run_glm(tmp_path, LOGISTIC, params, PartyInputs(train=(ids, gx, y)),
                      [PartyInputs(train=(ids, hx, None))], catch=True)  # fmt: skip
    errors: dict[Party, object] = dict(results)
    for party, error in errors.items():
        assert isinstance(error, TrainingDivergedError), (party, error)
        assert error.code == "TRAINING_DIVERGED"
        message = str(error)
        assert "training diverged in epoch" in message and "feature_scale" in message, message
        if party.role != Role.ARBITER:
            assert "learning_rate (now 0.5)" in message
        shared = shared_reason(error)  # what may cross: no loss, no value
        assert shared.startswith("TRAINING_DIVERGED: training diverged in epoch")
        assert "loss" not in shared and "bits" not in shared


def test_raw_clinical_measurements_train_on_defaults_as_well_as_scikit_learn(
    tmp_path: Path,
) -> None:
    from sklearn.datasets import load_breast_cancer  # noqa: PLC0415 - the reference only
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    data = load_breast_cancer()  # the unscaled measurements (areas ~ 10^3, smoothness ~ 0.1)
    x, y = data.data, data.target.astype(np.int64)
    ids = np.array([f"p{i:04d}" for i in range(len(y))], dtype=object)
    gx, hx = x[:, :10], x[:, 10:]
    params = GlmParams(epochs=10, random_seed=1)  # defaults otherwise: sgd, rate 0.15
    results = run_glm(tmp_path, LOGISTIC, params, PartyInputs(train=(ids, gx, y)),
                      [PartyInputs(train=(ids, hx, None))])  # fmt: skip
    guest = next(v for p, v in results.items() if p.role == Role.GUEST)
    predictions = guest["predictions"]
    order = np.array([int(i[1:]) for i in predictions.ids.tolist()])
    auc = roc_auc_score(y[order], predictions.scores)
    reference = LogisticRegression(max_iter=5000).fit(x, y)  # scikit-learn on the joined data
    best = roc_auc_score(y, reference.predict_proba(x)[:, 1])
    assert auc > best - 0.01, (auc, best)  # within 1 % of scikit-learn, no scaling step
    # the saved coefficients are on the data's scale: they score the raw rows directly
    host = next(v for p, v in results.items() if p.role == Role.HOST)["model"].arrays
    model = guest["model"].arrays
    u = gx @ model["weights"][0] + model["intercept"][0] + hx @ host["weights"][0]
    u = u - host["offset"][0]
    np.testing.assert_allclose(u[order], np.log(predictions.scores / (1 - predictions.scores)),
                               atol=1e-6)  # fmt: skip
