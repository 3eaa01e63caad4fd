"""Shared ML pieces: model artifacts round-trip and refuse tampering; optimizers; predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chaihuo.core import InvalidInputError
from chaihuo.ml import ModelArtifact, OptimizerParams, Predictions, make_optimizer


def test_model_artifacts_round_trip_without_pickle(tmp_path: Path) -> None:
    model = ModelArtifact("hetero_lr", "guest", {"features": ["x0", "x1"]}, {"w": np.arange(3.0)})
    path = model.save(tmp_path, "model")
    loaded = ModelArtifact.load(path)
    assert loaded.meta == model.meta and loaded.digest == model.digest
    np.testing.assert_array_equal(loaded.arrays["w"], model.arrays["w"])


def test_tampered_or_foreign_models_are_refused(tmp_path: Path) -> None:
    path = ModelArtifact("hetero_lr", "guest", {}, {"w": np.ones(2)}).save(tmp_path, "m")
    np.savez(tmp_path / "m.npz", w=np.zeros(2))
    with pytest.raises(InvalidInputError, match="SHA-256"):
        ModelArtifact.load(path)
    np.save(tmp_path / "o.npy", np.array([object()]), allow_pickle=True)
    with pytest.raises(InvalidInputError):
        ModelArtifact("k", "guest", {}, {"o": np.array([object()])}).save(tmp_path, "o")


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_every_optimizer_minimises_a_quadratic(name: str) -> None:
    target = np.array([1.0, -2.0, 0.5])
    opt = make_optimizer(
        OptimizerParams(optimizer=name, learning_rate=0.1, penalty="none"),
        3,
        intercept=False,  # type: ignore[arg-type]
    )
    w = np.zeros(3)
    for _ in range(2000):
        w = opt.step(w, w - target)
    np.testing.assert_allclose(w, target, atol=1e-2)


def test_l1_gives_exact_zeros_and_spares_the_intercept() -> None:
    opt = make_optimizer(
        OptimizerParams(penalty="l1", alpha=1.0, learning_rate=0.1), 3, intercept=True
    )
    w = np.array([0.05, -0.05, 0.05])
    w = opt.step(w, np.zeros(3))
    assert w[0] == 0.0 and w[1] == 0.0 and w[2] == 0.05


def test_predictions_are_written_as_csv(tmp_path: Path) -> None:
    preds = Predictions(
        "binary", np.array(["a", "b"], dtype=object), np.array([0.2, 0.9]), np.array([0, 1])
    )
    path = preds.save(tmp_path, "predictions")
    assert path.read_text().splitlines() == ["id,label,predicted,score", "a,0,0,0.2", "b,1,1,0.9"]
