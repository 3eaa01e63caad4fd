"""The coordinated GLM protocol equals its plaintext reference (weights within 1e-6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _glm_testkit import (
    SMALL_KEYS,
    PartyInputs,
    by_role,
    make_dataset,
    run_glm,
    synthetic,
)

from chaihuo.core import Role
from chaihuo.ml import ModelArtifact
from chaihuo.ml.glm import LINEAR, LOGISTIC, POISSON, Family, GlmParams, fit_plaintext
from chaihuo.ml.glm._model import auc
from chaihuo.testing import local_sessions, run_parties

# Every difference between the federated run and the plaintext reference comes from the
# 2^-24 fixed-point encoding of u and d, which moves the weights by well under 1e-6 here.
WEIGHT_TOL = 1e-6


def _order(pred_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    position = {key: i for i, key in enumerate(ids.tolist())}
    return np.array([position[key] for key in pred_ids.tolist()])


def _check_against_reference(
    results: dict, family: Family, params: GlmParams, ids, guest_x, y, host_xs, classes=None
) -> None:
    guest = by_role(results, Role.GUEST)
    order = _order(guest["predictions"].ids, ids)
    fit = fit_plaintext(
        family,
        params,
        guest_x[order],
        y[order],
        [x[order] for x in host_xs],
        seed=params.random_seed,
        classes=classes,
    )
    model = guest["model"]
    np.testing.assert_allclose(model.arrays["weights"], fit.guest, atol=WEIGHT_TOL)
    np.testing.assert_allclose(model.arrays["intercept"], fit.intercept, atol=WEIGHT_TOL)
    for index, reference in enumerate(fit.hosts):
        host_model = by_role(results, Role.HOST, index)["model"]
        np.testing.assert_allclose(host_model.arrays["weights"], reference, atol=WEIGHT_TOL)
    assert model.meta["epochs"] == fit.epochs
    np.testing.assert_allclose(model.meta["loss_history"], fit.losses, rtol=1e-6)


def test_logistic_minibatch_adam_matches_plaintext(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(240, 3, [4])
    y = (u > 0).astype(np.int64)
    params = GlmParams(
        epochs=3, batch_size=70, optimizer="adam", learning_rate=0.1, penalty="l2",
        init_method="random", random_seed=5, tol=0.0,
    )  # fmt: skip
    results = run_glm(
        tmp_path,
        LOGISTIC,
        params,
        PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(ids, hx, None))],
    )
    _check_against_reference(results, LOGISTIC, params, ids, gx, y, [hx], classes=[0, 1])
    arbiter = by_role(results, Role.ARBITER)["model"]
    assert "key_fingerprint" in arbiter.meta and not arbiter.arrays
    predictions = by_role(results, Role.GUEST)["predictions"]
    assert predictions.kind == "binary" and predictions.scores.shape == (240,)


def test_two_hosts_loss_includes_cross_terms(tmp_path: Path) -> None:
    ids, gx, (h1, h2), u = synthetic(150, 2, [3, 2], seed=1)
    y = (u > 0).astype(np.int64)
    params = GlmParams(epochs=3, batch_size=60, random_seed=3, penalty="l1", alpha=0.01, tol=0.0)
    hosts = [PartyInputs(train=(ids, h1, None)), PartyInputs(train=(ids, h2, None))]
    results = run_glm(tmp_path, LOGISTIC, params, PartyInputs(train=(ids, gx, y)), hosts)
    _check_against_reference(results, LOGISTIC, params, ids, gx, y, [h1, h2], classes=[0, 1])


def test_linear_regression_matches_plaintext(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(120, 2, [3], seed=2)
    y = u + 0.1 * np.random.default_rng(0).normal(size=120)
    params = GlmParams(epochs=4, batch_size=-1, learning_rate=0.1, penalty="none", random_seed=1,
                       early_stop="weight_diff", tol=1e-9)  # fmt: skip
    results = run_glm(
        tmp_path,
        LINEAR,
        params,
        PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(ids, hx, None))],
    )
    _check_against_reference(results, LINEAR, params, ids, gx, y, [hx])
    assert by_role(results, Role.GUEST)["predictions"].kind == "regression"


def test_poisson_matches_plaintext_with_exposure(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(130, 2, [2], seed=3)
    rng = np.random.default_rng(1)
    exposure = rng.uniform(0.5, 2.0, size=130)
    y = rng.poisson(exposure * np.exp(0.3 * u)).astype(np.float64)
    guest_x = np.hstack([gx, exposure[:, None]])
    names = ("a", "b", "exposure")
    params = GlmParams(epochs=3, batch_size=50, learning_rate=0.05, random_seed=2, tol=0.0)
    results = run_glm(
        tmp_path, POISSON, params, PartyInputs(train=(ids, guest_x, y), names=names),
        [PartyInputs(train=(ids, hx, None))], exposure_colname="exposure",
    )  # fmt: skip
    guest = by_role(results, Role.GUEST)
    order = _order(guest["predictions"].ids, ids)
    fit = fit_plaintext(POISSON, params, gx[order], y[order], [hx[order]], seed=2,
                        exposure=exposure[order])  # fmt: skip
    np.testing.assert_allclose(guest["model"].arrays["weights"], fit.guest, atol=WEIGHT_TOL)
    host = by_role(results, Role.HOST)["model"]
    np.testing.assert_allclose(host.arrays["weights"], fit.hosts[0], atol=WEIGHT_TOL)
    assert guest["model"].meta["feature_names"] == ["a", "b"]
    mu = fit.scores(gx[order], [hx[order]])[:, 0]
    np.testing.assert_allclose(guest["predictions"].scores, exposure[order] * np.exp(mu), rtol=1e-5)


def test_multiclass_one_vs_rest_matches_plaintext(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(150, 2, [2], seed=4)
    y = np.digitize(u, np.quantile(u, [0.33, 0.66])).astype(np.int64)
    params = GlmParams(epochs=2, batch_size=-1, random_seed=1, tol=0.0)
    results = run_glm(
        tmp_path,
        LOGISTIC,
        params,
        PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(ids, hx, None))],
    )
    _check_against_reference(results, LOGISTIC, params, ids, gx, y, [hx], classes=[0, 1, 2])
    predictions = by_role(results, Role.GUEST)["predictions"]
    assert predictions.kind == "multiclass" and predictions.classes == [0, 1, 2]
    np.testing.assert_allclose(predictions.scores.sum(axis=1), 1.0)


def test_validation_early_stopping_keeps_the_best_epoch(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(200, 2, [2], seed=5)
    y = (u + np.random.default_rng(2).normal(size=200) > 0).astype(np.int64)
    train, valid = np.arange(140), np.arange(140, 200)
    params = GlmParams(epochs=8, learning_rate=3.0, early_stopping_rounds=2, random_seed=1, tol=0.0)
    guest = PartyInputs(train=(ids[train], gx[train], y[train]),
                        validate=(ids[valid], gx[valid], y[valid]))  # fmt: skip
    host = PartyInputs(train=(ids[train], hx[train], None), validate=(ids[valid], hx[valid], None))
    results = run_glm(tmp_path, LOGISTIC, params, guest, [host])
    model = by_role(results, Role.GUEST)["model"]
    # Reference: plaintext fits of 1..8 epochs, validation AUC after each, patience 2.
    order = _order(by_role(results, Role.GUEST)["predictions"].ids, ids[train])
    fits, aucs = [], []
    for epochs in range(1, 9):
        fit = fit_plaintext(
            LOGISTIC, params.model_copy(update={"epochs": epochs}), gx[train][order],
            y[train][order], [hx[train][order]], seed=1, classes=[0, 1],
        )  # fmt: skip
        fits.append(fit)
        aucs.append(auc(y[valid], fit.scores(gx[valid], [hx[valid]])[:, 0]))
    best, waited, ran = 0, 0, 8
    for epoch in range(1, 8):
        if aucs[epoch] > aucs[best]:
            best, waited = epoch, 0
        else:
            waited += 1
        if waited >= 2:
            ran = epoch + 1
            break
    assert model.meta["epochs"] == [ran] and ran < 8
    np.testing.assert_allclose(model.arrays["weights"], fits[best].guest, atol=WEIGHT_TOL)
    host_weights = by_role(results, Role.HOST)["model"].arrays["weights"]
    np.testing.assert_allclose(host_weights, fits[best].hosts[0], atol=WEIGHT_TOL)
    assert by_role(results, Role.ARBITER)["model"].meta["epochs"] == [ran]


@pytest.mark.parametrize(
    "optimizer", [{}, {"optimizer": "adam", "decay": 0.1, "batch_size": 40, "learning_rate": 0.3}],
    ids=["sgd-full-batch", "adam-decay-mini-batch"],
)  # fmt: skip
def test_warm_start_continues_and_predict_only_reproduces(
    tmp_path: Path, optimizer: dict[str, Any]
) -> None:
    """2 epochs, then 2 more from the saved model == 4 epochs in one run: the optimiser's
    moments and learning-rate schedule and the batch order continue where they stopped."""
    ids, gx, (hx,), u = synthetic(100, 2, [3], seed=6)
    y = (u > 0).astype(np.int64)
    train = PartyInputs(train=(ids, gx, y)), [PartyInputs(train=(ids, hx, None))]
    four = GlmParams(epochs=4, random_seed=1, tol=0.0, **optimizer)
    two = GlmParams(epochs=2, random_seed=1, tol=0.0, **optimizer)
    full = run_glm(tmp_path / "a", LOGISTIC, four, *train)
    first = run_glm(tmp_path / "b", LOGISTIC, two, *train)
    g_model, h_model = by_role(first, Role.GUEST)["model"], by_role(first, Role.HOST)["model"]
    g_model = ModelArtifact.load(g_model.save(tmp_path, "guest_model"))
    warm = run_glm(
        tmp_path / "c", LOGISTIC, two, PartyInputs(train=(ids, gx, y), extra={"model": g_model}),
        [PartyInputs(train=(ids, hx, None), extra={"model": h_model})],
    )  # fmt: skip
    for role in (Role.GUEST, Role.HOST):
        np.testing.assert_allclose(
            by_role(warm, role)["model"].arrays["weights"],
            by_role(full, role)["model"].arrays["weights"], atol=1e-9,
        )  # fmt: skip
        steps = by_role(warm, role)["model"].arrays["optimizer_steps"]
        assert steps.tolist() == by_role(full, role)["model"].arrays["optimizer_steps"].tolist()
    assert by_role(warm, Role.GUEST)["model"].meta["epochs_total"] == [4]
    predict = GlmParams(epochs=0)
    warm_guest = by_role(warm, Role.GUEST)
    again = run_glm(
        tmp_path / "d", LOGISTIC, predict,
        PartyInputs(test=(ids, gx, y), extra={"model": warm_guest["model"]}),
        [PartyInputs(test=(ids, hx, None), extra={"model": by_role(warm, Role.HOST)["model"]})],
    )  # fmt: skip
    assert by_role(again, Role.ARBITER) == {}
    np.testing.assert_allclose(
        by_role(again, Role.GUEST)["predictions"].scores, warm_guest["predictions"].scores
    )


@pytest.mark.parametrize(
    "name", ["_hetero_lr:HETERO_LR", "_hetero_linr:HETERO_LINR", "_hetero_poisson:HETERO_POISSON"]
)
def test_component_specs_validate_fate_style_parameters(name: str) -> None:
    module, constant = name.split(":")
    spec = getattr(
        __import__(f"chaihuo.components.builtin.{module}", fromlist=[constant]), constant
    )
    params = spec.params.model_validate({"max_iter": 3, "penalty": "L2", "batch_size": -1})
    assert params.epochs == 3 and params.penalty == "l2"
    assert set(spec.roles) == {Role.GUEST, Role.HOST, Role.ARBITER}
    assert spec.outputs == ("model", "predictions")
    with pytest.raises(ValueError, match="batch_size"):
        spec.params.model_validate({"batch_size": 0})


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("_hetero_lr:HETERO_LR", {}),
        ("_hetero_linr:HETERO_LINR", {}),
        ("_hetero_poisson:HETERO_POISSON", {"exposure_colname": "missing"}),
    ],
)
def test_component_runners_train_and_predict(tmp_path: Path, name: str, extra: dict) -> None:
    module, constant = name.split(":")
    spec = getattr(
        __import__(f"chaihuo.components.builtin.{module}", fromlist=[constant]), constant
    )
    ids, gx, (hx,), u = synthetic(60, 2, [2], seed=7)
    y = (u > 0).astype(np.int64) if "LR" in constant and "LINR" not in constant else np.abs(u)
    params = spec.params.model_validate({"epochs": 2, "random_seed": 1, **extra})

    def party(ctx):
        inputs = {}
        if ctx.role != Role.ARBITER:
            x = gx if ctx.role == Role.GUEST else hx
            label = y if ctx.role == Role.GUEST else None
            inputs["train"] = make_dataset(ctx.computing, ids, x, label)
        return spec.runners[ctx.role](ctx.sub("c"), params, inputs)

    with local_sessions(tmp_path) as computing:
        results = run_parties(
            party, {"guest": 1, "host": 2, "arbiter": 3}, security=SMALL_KEYS, computing=computing
        )
    guest = by_role(results, Role.GUEST)
    assert guest["model"].kind == spec.name and len(guest["predictions"].ids) == 60
    assert by_role(results, Role.HOST)["model"].role == "host"
