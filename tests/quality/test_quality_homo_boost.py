"""homo_secureboost: the plaintext reference's trees exactly, and XGBoost's quality on the union."""

# Lossless: the federated trees equal, node for node (column, cut, gain and leaf value within
# 1e-9), the trees chaihuo.ml.boost's plaintext reference grows on the union of the clients'
# rows with the cuts the clients agreed on. Against XGBoost (tree_method="hist", the same
# rounds, depth, bins, learning rate and λ, its own quantile sketch) on the union: the first
# client's AUC (binary) or accuracy (vehicle) on the test file within 0.5 %.

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from _homo_fixtures import Part, client_scores, federated, homo_file, score, split_rows

from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml import homoboost
from chaihuo.ml.boost import BoostParams, fit_plaintext
from chaihuo.ml.homoboost import HomoBoostModel, HomoBoostParams

TOLERANCE = 0.005
SERVER = Party(Role.SERVER, "1")  # type: ignore[arg-type]


def _files(*names: str) -> list[Part]:
    return [homo_file(name) for name in names]


def _give_credit() -> tuple[list[Part], Part]:
    *clients, test = split_rows(homo_file("give_credit_homo_test.csv"), [0.3, 0.25, 0.25, 0.2])
    return clients, test


CASES = {
    "breast": lambda: (_files("breast_homo_guest.csv", "breast_homo_host.csv"),
                       homo_file("breast_homo_test.csv")),
    "default_credit": lambda: (_files("default_credit_homo_guest.csv",
                                      "default_credit_homo_host_1.csv",
                                      "default_credit_homo_host_2.csv"),
                               homo_file("default_credit_homo_test.csv")),
    "vehicle": lambda: (_files("vehicle_scale_homo_guest.csv", "vehicle_scale_homo_host.csv"),
                        homo_file("vehicle_scale_homo_test.csv")),
    "give_credit": _give_credit,
}  # fmt: skip


def _params(case: str, **extra: object) -> HomoBoostParams:
    objective = "multi:softmax" if case == "vehicle" else "binary:logistic"
    settings: dict[str, object] = {
        "num_trees": 10, "max_depth": 3, "max_bin": 32, "learning_rate": 0.3,
        "objective": objective, **extra,
    }  # fmt: skip
    return HomoBoostParams(**settings)  # type: ignore[arg-type]


def _same_trees(ours: HomoBoostModel, reference: list[object]) -> None:
    assert len(ours.trees) == len(reference)
    for mine, theirs in zip(ours.trees, reference, strict=True):
        assert sorted(mine.nodes) == sorted(theirs.nodes)  # type: ignore[attr-defined]
        for key, node in mine.nodes.items():
            other = theirs.nodes[key]  # type: ignore[attr-defined]
            assert node.leaf == other.leaf
            if node.leaf:
                assert node.value == pytest.approx(other.value, abs=1e-9)
            else:
                assert (node.split, node.missing_left) == (other.split, other.missing_left)
                assert node.threshold == other.threshold
                assert math.isclose(node.gain, other.gain, abs_tol=1e-9)


def _assert_lossless(
    run: Any, clients: list[Part], params: HomoBoostParams
) -> tuple[np.ndarray, np.ndarray]:
    """The server's model equals the reference fitted on the union with the agreed cuts;
    returns the union (features, labels)."""
    model = HomoBoostModel.load(run.server["model"], "server")
    assert model is not None
    cuts = tuple(np.asarray(c, dtype=np.float64) for c in run.server["model"].meta["cuts"])
    x = np.vstack([c.x for c in clients])
    y = np.concatenate([c.y for c in clients]).astype(np.float64)
    tree_params = BoostParams(**params.model_dump(include=set(BoostParams.model_fields)))
    reference = fit_plaintext(x, [], y, tree_params, cuts=cuts)
    _same_trees(model, reference.trees)  # type: ignore[arg-type]
    np.testing.assert_allclose(model.init_scores, reference.init_scores, atol=1e-12)
    return x, y


@pytest.mark.parametrize("case", list(CASES))
def test_the_reference_trees_exactly_and_xgboosts_quality(case: str) -> None:
    clients, test = CASES[case]()
    params = _params(case)
    run = federated(clients, test, params, learner=homoboost)
    x, y = _assert_lossless(run, clients, params)
    booster = xgb.XGBClassifier(n_estimators=10, max_depth=3, max_bin=32, learning_rate=0.3,
                                reg_lambda=1.0, tree_method="hist").fit(x, y)  # fmt: skip
    probabilities = booster.predict_proba(test.x)
    theirs = score(probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities, test.y)
    ours = score(client_scores(run, test), test.y)
    print(f"{case}: homo_secureboost {ours:.5f} XGBoost {theirs:.5f} "
          f"({100 * (ours - theirs) / theirs:+.3f} %)")  # fmt: skip
    assert ours >= theirs * (1 - TOLERANCE)


def test_the_server_receives_only_masked_integers() -> None:
    clients, test = CASES["breast"]()
    received: dict[str, list[tuple[str, object]]] = {}
    federated(clients, test, _params("breast", num_trees=2), learner=homoboost, received=received)
    for _tag, obj in received[str(SERVER)]:
        arrays = [obj] if isinstance(obj, np.ndarray) else []
        arrays += [v for v in (obj if isinstance(obj, list | tuple) else []) if
                   isinstance(v, np.ndarray)]  # fmt: skip
        assert all(a.dtype == np.uint64 for a in arrays)
        assert not isinstance(obj, float)


def test_column_subsampling_and_missing_cells_stay_lossless() -> None:
    clients, test = CASES["breast"]()
    rng = np.random.default_rng(4)  # test data only: knock out 5 % of the cells
    holed = [Part(c.ids, np.where(rng.random(c.x.shape) < 0.05, np.nan, c.x), c.y, c.names)
             for c in clients]  # fmt: skip
    params = _params("breast", colsample_bytree=0.5, random_seed=7, use_missing=True)
    run = federated(holed, test, params, learner=homoboost)
    _assert_lossless(run, holed, params)
