"""Every hetero_secureboost objective is XGBoost's: given the same bins (XGBoost trains on the
parties' bin indices) and the same initial scores (its base margin), the plaintext reference's
predictions equal XGBoost's within PREDICTION_TOL = 1e-4 (XGBoost computes in float32; the
reference's integer sums are exact to 2^-24 per row)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "quality"))
from _boost_fixtures import binned_like, fate_pair, regression_pair, vehicle_pair, xgboost_margin

from chaihuo.ml.boost import BoostParams, fit_plaintext

PREDICTION_TOL = 1e-4

CASES = [
    ("binary:logistic", lambda: fate_pair("breast"), {}),
    ("multi:softmax", vehicle_pair, {}),
    ("reg:squarederror", lambda: regression_pair("student", "y"), {}),
    ("reg:pseudohubererror", lambda: regression_pair("student", "y"), {"huber_slope": 2.0}),
    ("count:poisson", lambda: regression_pair("student", "y"), {}),
    ("reg:tweedie", lambda: regression_pair("student", "y"), {"tweedie_variance_power": 1.3}),
]


@pytest.mark.parametrize(("name", "data", "extra"), CASES, ids=[c[0] for c in CASES])
def test_the_reference_grows_xgboosts_trees_on_the_same_bins(
    name: str, data: Any, extra: dict[str, float]
) -> None:
    parts = data()
    params = BoostParams(num_trees=15, max_depth=3, max_bin=32, learning_rate=0.3,
                         objective=name, **extra)  # fmt: skip
    reference = fit_plaintext(parts.guest_x, parts.host_xs, parts.y.astype(float), params)
    ours = reference.predict(parts.guest_x, parts.host_xs)
    binned, margin = binned_like(reference, parts), xgboost_margin(reference, len(parts.y))
    common = {"n_estimators": 15, "max_depth": 3, "max_bin": 64, "learning_rate": 0.3,
              "reg_lambda": 1.0, "tree_method": "hist", "n_jobs": 1}  # fmt: skip
    if name in ("binary:logistic", "multi:softmax"):
        model = xgboost.XGBClassifier(**common).fit(binned, parts.y, base_margin=margin)
        theirs = model.predict_proba(binned, base_margin=margin)
        theirs = theirs[:, 1] if name == "binary:logistic" else theirs
    else:
        model = xgboost.XGBRegressor(objective=name, **common, **extra)  # XGBoost's names
        theirs = model.fit(binned, parts.y, base_margin=margin).predict(binned, base_margin=margin)
    np.testing.assert_allclose(
        ours, theirs, rtol=0, atol=PREDICTION_TOL * max(1, np.abs(theirs).max())
    )
