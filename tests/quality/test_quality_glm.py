"""hetero_lr / hetero_linr / hetero_poisson on FATE's data against centralized scikit-learn.

Two comparisons per case, both stated with their tolerance:
1. The federated weights equal the plaintext reference of the identical algorithm
   (`fit_plaintext`: same batches, residual, quantised X^T d, optimisers) within
   WEIGHT_TOL = 1e-6 — the only difference is the 2^-24 fixed-point encoding of u and d.
2. The model's quality is no worse than scikit-learn's on guest ⋈ host with the same
   objective and penalty (LogisticRegression(C = 1/(n·alpha)) for hetero_lr, one-vs-rest for
   vehicle; Ridge(alpha = n·alpha) for hetero_linr; PoissonRegressor(alpha) for
   hetero_poisson): AUC / accuracy at most 0.5 % lower, RMSE at most 0.5 % higher, mean
   Poisson deviance at most 1 % higher (relative). hetero_lr runs its default residual, the
   sigmoid expanded at the guest's own score (`sigmoid: taylor_at_guest`); FATE's expansion at
   0 (`taylor`) converges to the least-squares fit (scikit-learn Ridge on 2y − 1, the Taylor
   loss's exact minimiser), whose AUC on default_credit is 0.6 % below logistic regression's,
   so its case is bound by 1 % against LogisticRegression and 0.5 % against that optimum. The
   default_credit subsample of the regular tier (3,000 rows, 3 epochs) is bound by 1 %: its
   held-out AUC lands 0.9 % below scikit-learn with either sigmoid.
Metrics are on the training data (FATE's benchmark protocol) and, in the slow tier, on a
stratified 80/20 held-out split. Keys are 2048-bit (the job default).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _glm_fixtures import federated, positions
from _pairs import DATA, Pair, epsilon_pair, hetero_pair, stratified_split
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.metrics import accuracy_score, mean_poisson_deviance, roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from chaihuo.components.builtin._hetero_lr import HETERO_LR
from chaihuo.components.builtin._psi import PSI
from chaihuo.components.builtin._reader import READER
from chaihuo.core import Role
from chaihuo.ml.glm import LINEAR, LOGISTIC, POISSON, Family, GlmParams, fit_plaintext
from chaihuo.runtime import Context
from chaihuo.testing import local_sessions, run_parties

WEIGHT_TOL = 1e-6


@dataclass(frozen=True)
class Case:
    """One row of the quality table."""

    name: str
    family: Family
    load: Callable[[], Pair]
    params: GlmParams
    metric: str  # auc | accuracy | rmse | deviance
    tolerance: float  # relative, one-sided
    taylor_tolerance: float | None = None  # hetero_lr: against the Taylor optimum
    classes: list[Any] = field(default_factory=list)


def _credit() -> Pair:
    return hetero_pair("default_credit_hetero_guest.csv", "default_credit_hetero_host.csv", "y")


def _credit_subsample() -> Pair:
    full = _credit()
    return full.rows(np.sort(np.random.default_rng(0).choice(len(full.y), 3000, replace=False)))


def _standardised(pair: Pair) -> Pair:
    # student's and dvisits' features are raw codes and counts (condition numbers 1e5, 5e4);
    # each party standardises its own columns (a local feature_scale step, as in the
    # examples) and the centralized model gets the same matrix.
    def scale(x: np.ndarray) -> np.ndarray:
        return (x - x.mean(axis=0)) / x.std(axis=0)

    return Pair(pair.ids, scale(pair.guest_x), pair.guest_names, pair.y, scale(pair.host_x),
                pair.host_names)  # fmt: skip


def _params(**values: Any) -> GlmParams:
    return GlmParams(alpha=0.01, tol=0.0, random_seed=1, **values)


BREAST = Case(
    "breast", LOGISTIC,
    lambda: hetero_pair("breast_hetero_guest.csv", "breast_hetero_host.csv", "y"),
    _params(epochs=3, batch_size=-1, learning_rate=1.0), "auc", 0.005, 0.005, [0, 1],
)  # fmt: skip
CREDIT_3K = Case(
    "default_credit 3k", LOGISTIC, _credit_subsample,
    _params(epochs=3, batch_size=200, optimizer="adam", learning_rate=0.1, decay=0.2), "auc", 0.01,
    0.005, [0, 1],
)  # fmt: skip
SLOW_CASES = [
    BREAST,
    Case("default_credit", LOGISTIC, _credit,
         _params(epochs=3, batch_size=3000, learning_rate=1.0), "auc", 0.005, 0.005, [0, 1]),
    Case("default_credit taylor", LOGISTIC, _credit,
         _params(epochs=3, batch_size=3000, learning_rate=1.0, sigmoid="taylor"), "auc", 0.01,
         0.005, [0, 1]),
    Case("epsilon_5k", LOGISTIC, epsilon_pair,
         # tuned on the raw (already scaled) columns; on z-scores these rates overshoot
         _params(epochs=3, batch_size=200, learning_rate=1.0, decay=0.05, standardize=False),
         "auc", 0.005, None,
         [0, 1]),
    Case("vehicle", LOGISTIC,
         lambda: hetero_pair("vehicle_scale_hetero_guest.csv", "vehicle_scale_hetero_host.csv",
                             "y"),
         # tuned on vehicle's [-1, 1] columns; standardised, 10 adam epochs fall 4 % short
         _params(epochs=10, batch_size=200, optimizer="adam", learning_rate=0.1,
                 standardize=False),
         "accuracy", 0.005, None, [0, 1, 2, 3]),
    Case("motor", LINEAR,
         lambda: hetero_pair("motor_hetero_guest.csv", "motor_hetero_host.csv", "motor_speed",
                             integer_label=False),
         # alpha 0.1: motor's features are nearly collinear (condition number 5000); the
         # stronger ridge makes 10 epochs enough to reach the centralized optimum.
         _params(epochs=10, batch_size=50, optimizer="adagrad", learning_rate=0.3, decay=0.01)
         .model_copy(update={"alpha": 0.1}),
         "rmse", 0.005),
    Case("student", LINEAR,
         lambda: _standardised(hetero_pair("student_hetero_guest.csv", "student_hetero_host.csv",
                                           "y", integer_label=False)),
         _params(epochs=5, batch_size=100, learning_rate=0.3, decay=0.05), "rmse", 0.005),
    Case("dvisits", POISSON,
         lambda: _standardised(hetero_pair("dvisits_hetero_guest.csv", "dvisits_hetero_host.csv",
                                           "doctorco", integer_label=False)),
         _params(epochs=3, batch_size=50, learning_rate=0.3, decay=0.05), "deviance", 0.01),
]  # fmt: skip


def _centralized(case: Case, model: Any) -> Any:
    """The centralized counterpart of the federated run: with `standardize` (the default) each
    party z-scores its own columns, which is StandardScaler on the joined columns, and the
    penalty acts on the standardised weights, as it does in the protocol."""
    return make_pipeline(StandardScaler(), model) if case.params.standardize else model


def _sklearn(case: Case, train: Pair) -> Any:
    n, alpha = len(train.y), case.params.alpha
    if case.family is LINEAR:
        model: Any = Ridge(alpha=n * alpha)
    elif case.family is POISSON:
        model = PoissonRegressor(alpha=alpha, max_iter=5000, tol=1e-10)
    else:
        model = LogisticRegression(C=1.0 / (n * alpha), max_iter=5000)
        if len(case.classes) > 2:
            model = OneVsRestClassifier(model)
    return _centralized(case, model).fit(train.joined, train.y)


def _taylor_optimum(case: Case, train: Pair) -> Any:
    # The Taylor loss log 2 − y'u/2 + u²/8 (+ α/2‖w‖²) is minimised by ridge regression of
    # 2y' on X with penalty 4nα; its AUC is what the protocol converges to.
    ridge = Ridge(alpha=4 * len(train.y) * case.params.alpha)
    return _centralized(case, ridge).fit(train.joined, 2 * train.y - 1)


def _score(metric: str, y: np.ndarray, u: np.ndarray) -> float:
    """The case's metric from linear predictors u (rows × models)."""
    if metric == "auc":
        return float(roc_auc_score(y, u[:, 0]))
    if metric == "accuracy":
        return float(accuracy_score(y, np.argmax(u, axis=1)))
    if metric == "rmse":
        return float(np.sqrt(np.mean((u[:, 0] - y) ** 2)))
    return float(mean_poisson_deviance(y, np.exp(u[:, 0])))


def _sklearn_score(metric: str, model: Any, pair: Pair) -> float:
    if metric == "auc":
        return float(roc_auc_score(pair.y, model.decision_function(pair.joined)))
    if metric == "accuracy":
        return float(accuracy_score(pair.y, model.predict(pair.joined)))
    if metric == "rmse":
        return float(np.sqrt(np.mean((model.predict(pair.joined) - pair.y) ** 2)))
    return float(mean_poisson_deviance(pair.y, model.predict(pair.joined)))


def _worse_by(metric: str, ours: float, reference: float) -> float:
    """Relative shortfall (positive = ours is worse)."""
    higher_is_better = metric in {"auc", "accuracy"}
    gap = (reference - ours) / reference
    return gap if higher_is_better else -gap


def _check(case: Case, train: Pair, evaluate: Pair, guest_w, intercept, host_w, split: str,
           host_offset=0.0):  # fmt: skip
    """Weights vs the plaintext reference, metric vs scikit-learn; prints the table row.
    Saved weights are on the data's scale; a host's `offset` is the constant its
    standardisation adds, subtracted from its scores."""
    fit = fit_plaintext(case.family, case.params, train.guest_x, train.y, [train.host_x],
                        seed=1, classes=case.classes)  # fmt: skip
    np.testing.assert_allclose(guest_w, fit.guest, atol=WEIGHT_TOL)
    np.testing.assert_allclose(intercept, fit.intercept, atol=WEIGHT_TOL)
    np.testing.assert_allclose(host_w, fit.hosts[0], atol=WEIGHT_TOL)
    u = evaluate.guest_x @ guest_w.T + intercept + evaluate.host_x @ host_w.T - host_offset
    ours = _score(case.metric, evaluate.y, u)
    reference = _sklearn_score(case.metric, _sklearn(case, train), evaluate)
    shortfall = _worse_by(case.metric, ours, reference)
    # Table row; the relative difference is signed so that + means ours is better.
    row = (f"| {case.family.component} | {case.name} | {split} | {case.metric} | {ours:.4f} | "
           f"{reference:.4f} | {-shortfall:+.3%} | {case.tolerance:.1%} |")  # fmt: skip
    if case.taylor_tolerance is not None:
        taylor = _taylor_optimum(case, train).predict(evaluate.joined)
        optimum = float(roc_auc_score(evaluate.y, taylor))
        taylor_gap = _worse_by("auc", ours, optimum)
        row += f" Taylor optimum {optimum:.4f} ({-taylor_gap:+.3%})"
        assert taylor_gap <= case.taylor_tolerance, row
    print(row)
    assert shortfall <= case.tolerance, row


def _run_case(tmp_path: Path, case: Case, split: str) -> None:
    pair = case.load()
    if split == "train":
        outcome = federated(tmp_path, case.family, case.params, pair)
        train = evaluate = pair.rows(outcome.train_order)
    else:
        train_rows, test_rows = stratified_split(pair.y)
        train, test = pair.rows(train_rows), pair.rows(test_rows)
        outcome = federated(tmp_path, case.family, case.params, train, test)
        train, evaluate = train.rows(outcome.train_order), test.rows(outcome.order)
    # (The protocol works in its aligned row order; the reference sees the same order.)
    model, host = outcome.guest_model, outcome.host_model
    _check(case, train, evaluate, model.arrays["weights"], model.arrays["intercept"],
           host.arrays["weights"], split, host.arrays.get("offset", 0.0))  # fmt: skip
    scores = outcome.predictions.scores
    assert np.all(np.isfinite(scores)) and len(scores) == len(evaluate.y)


def test_breast_through_reader_psi_and_hetero_lr(tmp_path: Path) -> None:
    """Regular tier: the real pipeline (reader → psi → hetero_lr) on breast, 2048-bit keys."""
    case = BREAST
    params = case.params.model_dump()

    def party(ctx: Context) -> Any:
        if ctx.role == Role.ARBITER:
            return HETERO_LR.runners[ctx.role](ctx.sub("lr"), HETERO_LR.params(**params), {})
        read = {"path": str(DATA / f"breast_hetero_{ctx.role.value}.csv"), "id": "id"}
        if ctx.role == Role.GUEST:
            read["label"] = "y"
        data = READER.runners[ctx.role](ctx.sub("reader"), READER.params(**read), {})
        aligned = PSI.runners[ctx.role](ctx.sub("psi"), PSI.params(share_with_hosts=True), data)
        lr = HETERO_LR.params(**params)
        return HETERO_LR.runners[ctx.role](ctx.sub("lr"), lr, {"train": aligned["data"]})

    with local_sessions(tmp_path) as computing:
        results = run_parties(
            party, {"guest": 9999, "host": 10000, "arbiter": 10001}, computing=computing
        )
    guest = next(v for p, v in results.items() if p.role == Role.GUEST)
    host = next(v for p, v in results.items() if p.role == Role.HOST)
    pair = case.load()
    ordered = pair.rows(positions(pair.ids, guest["predictions"].ids))
    model = guest["model"]
    _check(case, ordered, ordered, model.arrays["weights"], model.arrays["intercept"],
           host["model"].arrays["weights"], "train",
           host["model"].arrays.get("offset", 0.0))  # fmt: skip
    auc = roc_auc_score(ordered.y, guest["predictions"].scores)
    assert math.isclose(
        auc, _score("auc", ordered.y, _u(model, host["model"], ordered)), rel_tol=1e-9
    )


def _u(guest_model: Any, host_model: Any, pair: Pair) -> np.ndarray:
    return (pair.guest_x @ guest_model.arrays["weights"].T + guest_model.arrays["intercept"]
            + pair.host_x @ host_model.arrays["weights"].T
            - host_model.arrays.get("offset", 0.0))  # fmt: skip


def test_default_credit_subsample(tmp_path: Path) -> None:
    """Regular tier: 3,000 rows of default_credit, 3 epochs of 15 mini-batches."""
    _run_case(tmp_path, CREDIT_3K, "train")


@pytest.mark.slow
@pytest.mark.parametrize("split", ["train", "holdout"])
@pytest.mark.parametrize("case", SLOW_CASES, ids=lambda case: case.name)
def test_quality_table(tmp_path: Path, case: Case, split: str) -> None:
    """Slow tier: the whole table, on the training data and on a stratified 80/20 split."""
    _run_case(tmp_path, case, split)
