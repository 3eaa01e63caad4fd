"""hetero_sshe_lr end to end on small data: every mode equals the plaintext reference.

Tolerances: the protocol computes the reference's algorithm in exact integer arithmetic
except that each party rounds its own weight share after every update (≤ 2 units of
2^-(40 - fx_j) per step, fx_j ≤ 24 here) and, with taylor_at_guest, the guest's slope is
rounded to 2^-20 — so weights agree within 1e-7 (shared, ≤ 30 steps) / 1e-6 (taylor_at_guest)
and revealed-gradient runs within 1e-9. Keys are 1024-bit test keys (protocol logic only;
the quality tests use 2048).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "quality"))
from _pairs import DATA, Pair
from _sshe_fixtures import TEST_KEYS, model_weights, reference, run_sshe, synthetic

from chaihuo.components import Registry
from chaihuo.components.builtin._hetero_sshe_lr import HETERO_SSHE_LR
from chaihuo.components.builtin._psi import PSI
from chaihuo.components.builtin._reader import READER
from chaihuo.computing import LocalComputing
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml.sshe import _clip
from chaihuo.runtime import Context
from chaihuo.testing import run_parties

PAIR = synthetic(90, 3, 4, seed=11)


def _scores(pair: Pair, fit: object, index: np.ndarray) -> np.ndarray:
    design = np.hstack([pair.guest_x, np.ones((len(pair.y), 1))])
    z = design @ fit.guest + pair.host_x @ fit.host  # type: ignore[attr-defined]
    return 1.0 / (1.0 + np.exp(-z[index]))


def _index(pair: Pair, ids: np.ndarray) -> np.ndarray:
    where = {key: i for i, key in enumerate(pair.ids.tolist())}
    return np.array([where[key] for key in ids.tolist()])


@pytest.mark.parametrize("sigmoid", ["taylor", "taylor_clipped"])
def test_shared_weights_match_the_plaintext_reference(
    tmp_path: Path, sigmoid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_clip, "LANES", 16)  # batches of 40 rows: circuits of 16, 16 and 8
    params = {"epochs": 3, "batch_size": 40, "learning_rate": 0.3, "decay": 0.1, "alpha": 0.05,
              "init_method": "random", "random_seed": 7, "tol": 0, "sigmoid": sigmoid}  # fmt: skip
    out = run_sshe(tmp_path, params, PAIR, security=TEST_KEYS)
    (ref,) = reference(params, PAIR, out.order)
    if sigmoid == "taylor_clipped":  # the clip is active here: unclipped training differs
        (unclipped,) = reference({**params, "sigmoid": "taylor"}, PAIR, out.order)
        assert np.abs(unclipped.guest - ref.guest).max() > 1e-3
    guest_w, host_w = model_weights(out)
    np.testing.assert_allclose(guest_w, ref.guest, atol=1e-7)
    np.testing.assert_allclose(host_w, ref.host, atol=1e-7)
    np.testing.assert_allclose(out.guest["model"].meta["loss_history"][0], ref.losses, atol=1e-8)
    predictions = out.guest["predictions"]
    np.testing.assert_allclose(
        predictions.scores, _scores(PAIR, ref, _index(PAIR, predictions.ids)), atol=1e-7
    )
    assert predictions.labels is not None and predictions.kind == "binary"


@pytest.mark.parametrize(
    "extra",
    [
        {"optimizer": "adam", "penalty": "l1", "alpha": 0.01, "learning_rate": 0.05},
        {"optimizer": "rmsprop", "penalty": "l2", "learning_rate": 0.02},
        {"sigmoid": "taylor_at_guest", "optimizer": "adagrad", "learning_rate": 0.2},
        {"sigmoid": "taylor_clipped", "optimizer": "adam", "learning_rate": 0.1},
    ],
)
def test_revealed_gradients_match_the_reference(tmp_path: Path, extra: dict) -> None:
    params = {"epochs": 2, "batch_size": 45, "random_seed": 3, "tol": 0,
              "reveal_every_iter": True, **extra}  # fmt: skip
    out = run_sshe(tmp_path, params, PAIR, security=TEST_KEYS)
    (ref,) = reference(params, PAIR, out.order)
    tolerance = 1e-6 if extra.get("sigmoid") == "taylor_at_guest" else 1e-9
    guest_w, host_w = model_weights(out)
    np.testing.assert_allclose(guest_w, ref.guest, atol=tolerance)
    np.testing.assert_allclose(host_w, ref.host, atol=tolerance)
    np.testing.assert_allclose(
        out.guest["model"].meta["loss_history"][0], ref.losses, atol=tolerance
    )


def test_encrypted_reveal_hides_host_weights_and_saved_models_predict(tmp_path: Path) -> None:
    params = {"epochs": 2, "batch_size": 30, "random_seed": 5, "tol": 0,
              "reveal_strategy": "encrypted_reveal_in_host"}  # fmt: skip
    out = run_sshe(tmp_path / "fit", params, PAIR, security=TEST_KEYS)
    (ref,) = reference(params, PAIR, out.order)
    host_model = out.host["model"]
    assert "weights" not in host_model.arrays and "encrypted_weights" in host_model.arrays
    guest_path = out.guest["model"].save(tmp_path / "models", "guest")
    host_path = host_model.save(tmp_path / "models", "host")
    test = PAIR.rows(np.arange(25, 70))
    predicted = run_sshe(
        tmp_path / "predict", {"epochs": 0}, None, test=test,
        models=(str(guest_path), str(host_path)), security=TEST_KEYS,
    ).guest["predictions"]  # fmt: skip
    np.testing.assert_allclose(
        predicted.scores, _scores(test, ref, _index(test, predicted.ids)), atol=1e-7
    )


def test_respectively_models_predict_on_a_test_input(tmp_path: Path) -> None:
    params = {"epochs": 1, "batch_size": -1, "random_seed": 5}
    out = run_sshe(tmp_path / "fit", params, PAIR, security=TEST_KEYS)
    (ref,) = reference(params, PAIR, out.order)
    test = PAIR.rows(np.arange(10))
    predicted = run_sshe(
        tmp_path / "predict", {"predict_only": True}, None, test=test,
        models=(out.guest["model"], out.host["model"]), security=TEST_KEYS,
    ).guest["predictions"]  # fmt: skip
    assert sorted(predicted.ids.tolist()) == sorted(test.ids.tolist())
    np.testing.assert_allclose(
        predicted.scores, _scores(test, ref, _index(test, predicted.ids)), atol=1e-7
    )


def test_three_classes_train_one_vs_rest(tmp_path: Path) -> None:
    pair = synthetic(75, 2, 3, seed=4, classes=3)
    params = {"epochs": 2, "batch_size": 40, "random_seed": 1, "tol": 0}
    out = run_sshe(tmp_path, params, pair, security=TEST_KEYS)
    refs = reference(params, pair, out.order)
    for k, ref in enumerate(refs):
        guest_w, host_w = model_weights(out, k)
        np.testing.assert_allclose(guest_w, ref.guest, atol=1e-7)
        np.testing.assert_allclose(host_w, ref.host, atol=1e-7)
    predictions = out.guest["predictions"]
    assert predictions.kind == "multiclass" and predictions.scores.shape == (75, 3)
    np.testing.assert_allclose(predictions.scores.sum(axis=1), 1.0)
    assert out.guest["model"].meta["classes"] == [0, 1, 2]


def test_validation_early_stopping_keeps_the_best_epoch(tmp_path: Path) -> None:
    params = {"epochs": 8, "batch_size": 30, "learning_rate": 2.0, "random_seed": 1,
              "early_stopping_rounds": 2, "tol": 0}  # fmt: skip
    train, validate = PAIR.rows(np.arange(60)), PAIR.rows(np.arange(60, 90))
    out = run_sshe(tmp_path, params, train, validate=validate, security=TEST_KEYS)
    (ref,) = reference(params, train, out.order, validate=validate)
    meta = out.guest["model"].meta
    assert meta["epochs"] == [ref.epochs] and ref.epochs < 8
    np.testing.assert_allclose(meta["validation_loss_history"][0], ref.validation_losses, atol=1e-8)
    np.testing.assert_allclose(model_weights(out)[0], ref.guest, atol=1e-7)


def test_warm_start_continues_from_a_model(tmp_path: Path) -> None:
    params = {"epochs": 2, "batch_size": 30, "random_seed": 2, "tol": 0}
    first = run_sshe(tmp_path / "a", params, PAIR, security=TEST_KEYS)
    models = (first.guest["model"], first.host["model"])
    second = run_sshe(tmp_path / "b", params, PAIR, models=models, security=TEST_KEYS)
    before = first.guest["model"].meta["loss_history"][0]
    after = second.guest["model"].meta["loss_history"][0]
    assert after[0] < before[0] and after[-1] <= before[-1] + 1e-9


def test_the_component_runs_over_grpc_after_reader_and_psi(tmp_path: Path) -> None:
    registry = Registry([READER, PSI, HETERO_SSHE_LR])

    def component(name: str, ctx: Context, params: dict, **inputs: object) -> dict:
        spec = registry.get(name)
        return dict(spec.runners[ctx.role](ctx.sub(f"{name}_0"), spec.params(**params), inputs))

    def party(ctx: Context) -> object:
        if ctx.role == Role.GUEST:
            reader = {"path": str(DATA / "breast_hetero_guest.csv"), "id": "id", "label": "y"}
        else:
            reader = {"path": str(DATA / "breast_hetero_host.csv"), "id": "id"}
        data = component("reader", ctx, reader)
        aligned = component("psi", ctx, {"share_with_hosts": True}, **data)
        params = {"epochs": 1, "batch_size": 300, "random_seed": 1}
        out = component("hetero_sshe_lr", ctx, params, train=aligned["data"])
        return out, ctx.metrics_sink.latest("hetero_sshe_lr_0")

    sessions: list[LocalComputing] = []

    def computing(party: Party) -> LocalComputing:
        sessions.append(LocalComputing(tmp_path / party.party_id, workers=1))
        return sessions[-1]

    try:
        results = run_parties(party, {"guest": 9999, "host": 10000}, transport="grpc",
                              security=TEST_KEYS, computing=computing)  # fmt: skip
    finally:
        for session in sessions:
            session.stop()
    (guest_out, metrics) = results[Party(Role.GUEST, "9999")]
    host_out, _ = results[Party(Role.HOST, "10000")]
    assert set(guest_out) == {"model", "predictions"} and set(host_out) == {"model"}
    assert len(guest_out["predictions"].ids) == 569 and 0 < metrics["loss"] < 0.7
