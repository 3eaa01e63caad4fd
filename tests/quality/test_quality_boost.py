"""hetero_secureboost on FATE's data: the plaintext reference's trees, and XGBoost's quality.

Every case checks two things, 2048-bit keys throughout (the job default):
1. Lossless: the federated trees are the plaintext reference's (`fit_plaintext`: the same
   algorithm with every party's columns at hand) — same nodes, owners, columns and cuts,
   leaf values within LEAF_TOL = 1e-9 — and so are the predictions.
2. Quality against XGBoost (`tree_method="hist"`, the same trees, depth, learning rate, λ) on
   the joined data, on the training rows and, in the slow tier, on a stratified 80/20
   held-out split: AUC at most 0.2 % lower (relative), RMSE at most 0.5 % higher, accuracy
   at most 0.5 % lower, against XGBoost given the same bins (it trains on the parties' bin
   indices, so both choose among the same cuts) from the same initial scores (its base
   margin): the same algorithm, so equal up to float32 (XGBoost's precision). Against
   XGBoost's own quantile sketch (its cuts fall a row or so away from ours; its multi-class
   start is flat) the comparison is printed, not bound: measured 2026-12-06, binary cases
   within −0.03 % … +0.8 % of its AUC except default_credit held out (−0.24 %); motor
   (800 rows fitted to RMSE 0.07, where 32 cuts placed a row apart move the RMSE by 7 %
   either way) +6.9 % RMSE; vehicle's 169 held-out rows −1.6 % (2 rows).
Regular tier: breast (10 trees, depth 3, 32 bins: FATE's benchmark setting) and a stratified
2,000-row default_credit subsample (10 trees). Slow tier
(`make quality`): default_credit (30 trees), give_credit (its homo test file split by
columns: guest x0–x4 + label, host x5–x9), student (regression, 50 trees), motor (two hosts,
regression), vehicle (4 classes, softmax: one tree per class per round).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from _boost_fixtures import (
    Parts,
    assert_same_trees,
    binned_like,
    fate_pair,
    give_credit,
    in_order,
    motor_pair,
    regression_pair,
    run_boost,
    vehicle_pair,
    xgboost_margin,
)
from _pairs import stratified_split
from sklearn.metrics import roc_auc_score

from chaihuo.ml.boost import BoostParams, fit_plaintext

LEAF_TOL = 1e-9
AUC_TOL = 0.002
RMSE_TOL = 0.005
ACCURACY_TOL = 0.005


@dataclass
class Case:
    """A dataset, its hosts and the boosting settings."""

    name: str
    data: Any
    params: dict[str, Any]


def _xgboost(params: BoostParams, max_bin: int) -> Any:
    common = {
        "n_estimators": params.num_trees, "max_depth": params.max_depth, "max_bin": max_bin,
        "learning_rate": params.learning_rate, "reg_lambda": params.l2, "reg_alpha": params.l1,
        "gamma": params.min_gain, "min_child_weight": params.min_child_weight,
        "tree_method": "hist", "n_jobs": 1,
    }  # fmt: skip
    if params.objective == "reg:squarederror":
        return xgboost.XGBRegressor(**common)
    return xgboost.XGBClassifier(**common)


def _score(objective: str, y: np.ndarray, predicted: np.ndarray) -> float:
    """AUC (binary), accuracy (multi-class) or RMSE (regression) of predictions."""
    if objective == "binary:logistic":
        return float(roc_auc_score(y, predicted))
    if objective == "multi:softmax":
        return float(np.mean(np.argmax(predicted, axis=1) == y))
    return float(np.sqrt(np.mean((predicted - y) ** 2)))


def _predicted(model: Any, objective: str, x: np.ndarray, **margin: Any) -> np.ndarray:
    if objective == "reg:squarederror":
        return np.asarray(model.predict(x, **margin))
    probabilities = np.asarray(model.predict_proba(x, **margin))
    return probabilities[:, 1] if objective == "binary:logistic" else probabilities


def _compare(
    case: Case, params: BoostParams, train: Parts, evaluate: list[Parts], reference: Any
) -> None:
    """Ours against XGBoost on the same bins from the same initial scores (bound), and
    against XGBoost on its own sketch (printed)."""
    kind = params.objective
    same = _xgboost(params, 2 * params.max_bin).fit(
        binned_like(reference, train), train.y, base_margin=xgboost_margin(reference, len(train.y))
    )
    own = _xgboost(params, params.max_bin)
    if kind == "reg:squarederror":
        own.set_params(base_score=float(np.mean(train.y)))
    own.fit(train.joined, train.y)
    lower_is_better = kind == "reg:squarederror"
    tol = {"binary:logistic": AUC_TOL, "multi:softmax": ACCURACY_TOL}.get(kind, RMSE_TOL)
    for label, parts in zip(("train", "held out"), evaluate, strict=False):
        ours = _score(kind, parts.y, reference.predict(parts.guest_x, parts.host_xs))
        margin = xgboost_margin(reference, len(parts.y))
        b = _score(kind, parts.y, _predicted(same, kind, binned_like(reference, parts),
                                             base_margin=margin))  # fmt: skip
        c = _score(kind, parts.y, _predicted(own, kind, parts.joined))
        print(
            f"{case.name} {label}: {ours:.5f} vs XGBoost {b:.5f} on the same bins "
            f"({ours / b - 1:+.3%}), {c:.5f} on its own sketch ({ours / c - 1:+.3%})"
        )
        if lower_is_better:
            assert ours <= b * (1 + tol)
        else:
            assert ours >= b * (1 - tol)


def _run_case(tmp: Path, case: Case, held_out: bool) -> None:
    parts = case.data()
    params = BoostParams(**case.params)
    train, evaluate = parts, [parts]
    if held_out:
        y = parts.y if params.objective == "binary:logistic" else parts.y.astype(float)
        rows, test_rows = stratified_split(y)
        train, evaluate = parts.rows(rows), [parts.rows(rows), parts.rows(test_rows)]
    run = run_boost(tmp, params, train)
    print(f"{case.name}: {run.seconds:.1f} s for {params.num_trees} trees, {len(train.y)} rows")
    reference = fit_plaintext(train.guest_x, train.host_xs, train.y.astype(float), params)
    assert_same_trees(run, reference, LEAF_TOL)
    np.testing.assert_allclose(
        in_order(run.guest["predictions"], train.ids),
        reference.predict(train.guest_x, train.host_xs), rtol=0, atol=LEAF_TOL,
    )  # fmt: skip
    _compare(case, params, train, evaluate, reference)


SETTINGS = {"max_depth": 3, "max_bin": 32, "learning_rate": 0.3}


def _credit_sample(rows: int = 2000) -> Parts:
    parts = fate_pair("default_credit")
    keep, _ = stratified_split(parts.y, test=1 - rows / len(parts.y), seed=0)
    return parts.rows(keep)


REGULAR = [
    Case("breast", lambda: fate_pair("breast"), {"num_trees": 10, **SETTINGS}),
    Case("default_credit[2000 rows]", _credit_sample, {"num_trees": 10, **SETTINGS}),
]
SLOW = [
    REGULAR[0],
    Case("default_credit", lambda: fate_pair("default_credit"), {"num_trees": 30, **SETTINGS}),
    Case("give_credit", give_credit, {"num_trees": 30, **SETTINGS}),
    Case("student", lambda: regression_pair("student", "y"),
         {"num_trees": 50, "objective": "reg:squarederror", **SETTINGS}),
    Case("motor (two hosts)", motor_pair,
         {"num_trees": 30, "objective": "reg:squarederror", **SETTINGS}),
    Case("vehicle", vehicle_pair, {"num_trees": 30, "objective": "multi:softmax", **SETTINGS}),
]  # fmt: skip


@pytest.mark.parametrize("case", REGULAR, ids=lambda c: c.name)
def test_quality_on_the_training_data(tmp_path: Path, case: Case) -> None:
    _run_case(tmp_path, case, held_out=False)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW, ids=lambda c: c.name)
@pytest.mark.parametrize("held_out", [False, True], ids=["train", "80-20"])
def test_quality_full_table(tmp_path: Path, case: Case, held_out: bool) -> None:
    _run_case(tmp_path, case, held_out)
