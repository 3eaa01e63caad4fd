"""Outputs saved by one task are read back by another exactly: datasets (block order, dtypes),
models, predictions, arrays, JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chaihuo.components._outputs import load_outputs, save_outputs
from chaihuo.computing import LocalComputing
from chaihuo.ml import ModelArtifact, Predictions

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"


@pytest.fixture
def computing(tmp_path: Path):  # type: ignore[no-untyped-def]
    session = LocalComputing(tmp_path / "data", workers=2)
    yield session
    session.stop()


@pytest.mark.parametrize(
    ("file", "label", "partitions"),
    [("breast_hetero_guest.csv", "y", 3), ("breast_hetero_host.csv", None, 4),
     ("student_hetero_guest.csv", "y", 2)],
)  # fmt: skip
def test_a_dataset_comes_back_in_the_same_blocks_with_the_same_schema(
    computing: LocalComputing, tmp_path: Path, file: str, label: str | None, partitions: int
) -> None:
    dataset = computing.read_csv(DATA / file, id="id", label=label, partitions=partitions)
    save_outputs({"data": dataset}, tmp_path / "out")
    back = load_outputs(tmp_path / "out", computing)["data"]
    assert back.schema == dataset.schema and back.partitions == partitions
    for ours, theirs in zip(dataset.collect_blocks(), back.collect_blocks(), strict=True):
        assert ours.ids.tolist() == theirs.ids.tolist()
        assert np.array_equal(ours.features, theirs.features, equal_nan=True)  # bit-exact
        if ours.labels is None:
            assert theirs.labels is None
        else:
            assert theirs.labels is not None and ours.labels.dtype == theirs.labels.dtype
            assert np.array_equal(ours.labels, theirs.labels)


def test_models_predictions_arrays_and_json_come_back(
    computing: LocalComputing, tmp_path: Path
) -> None:
    model = ModelArtifact("hetero_lr", "guest", {"classes": [0, 1]}, {"w": np.arange(4.0)})
    binary = Predictions("binary", np.array([5, 7], dtype=object), np.array([0.25, 0.75]),
                         np.array([0, 1]))  # fmt: skip
    scores = np.array([[0.2, 0.8], [0.6, 0.4]])
    multi = Predictions("multiclass", np.array(["a", "b"], dtype=object), scores,
                        np.array([2, 1]), classes=[1, 2])  # fmt: skip
    outputs = {"model": model, "p": binary, "m": multi, "arr": np.eye(2), "report": {"auc": 0.5}}
    save_outputs(outputs, tmp_path / "out")
    back = load_outputs(tmp_path / "out", computing)
    assert back["model"].digest == model.digest
    assert back["p"].ids.tolist() == [5, 7] and np.array_equal(back["p"].scores, binary.scores)
    assert back["p"].labels.tolist() == [0, 1] and back["p"].kind == "binary"
    assert back["m"].ids.tolist() == ["a", "b"] and back["m"].classes == [1, 2]
    assert np.array_equal(back["m"].scores, multi.scores)
    assert np.array_equal(back["arr"], np.eye(2)) and back["report"] == {"auc": 0.5}
