"""Component outputs written to a party's folder, and read back by a later task or job."""

# Every output of a component goes into its folder with an index, `outputs.json`, naming each
# output's kind and file, so that another process (the next task of a job on a node, a rerun,
# a later job taking this one's output as input) can load exactly what was produced:
#
#   dataset      <name>.csv (id[,label],features in block order, floats written exactly)
#                + <name>.schema.json (id/label names, dtypes, partition count)
#   model        <name>.json + <name>.npz (chaihuo.ml ModelArtifact, content-hashed)
#   predictions  <name>.csv + <name>.meta.json (chaihuo.ml Predictions)
#   array        <name>.npy (numeric only, never pickle)
#   json         <name>.json
#
# A dataset is read back with its partition count so that its blocks come back in the same
# order: vertical algorithms rely on every party's rows being in the same order.

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chaihuo.computing import ComputingSession, Dataset, Schema
from chaihuo.core import InvalidInputError, StorageError, write_atomic
from chaihuo.ml import ModelArtifact, Predictions

__all__ = ["load_outputs", "save_outputs", "write_dataset_csv"]

_INDEX = "outputs.json"
_DATASET = "chaihuo-dataset/1"


def write_dataset_csv(dataset: Dataset, path: Path) -> None:
    """One row per id in block order, header `id[,label],features...` as in the input file."""
    schema = dataset.schema
    label = [schema.label_name] if schema.label_name else []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([schema.id_name, *label, *schema.feature_names])
        for block in dataset.collect_blocks():
            labels = block.labels.tolist() if block.labels is not None else None
            for index, key in enumerate(block.ids.tolist()):
                cell = [labels[index]] if labels is not None else []
                writer.writerow([key, *cell, *block.features[index].tolist()])


def _save_dataset(dataset: Dataset, directory: Path, name: str) -> Path:
    path = directory / f"{name}.csv"
    write_dataset_csv(dataset, path)
    schema = dataset.schema
    sidecar = {
        "format": _DATASET,
        "id": schema.id_name,
        "label": schema.label_name,
        "label_dtype": schema.label_dtype,
        "features": list(schema.feature_names),
        "feature_dtypes": list(schema.feature_dtypes),
        "partitions": dataset.partitions,
    }
    (directory / f"{name}.schema.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return path


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _save_one(value: Any, directory: Path, name: str) -> tuple[str, Path] | None:
    if isinstance(value, Dataset):
        return "dataset", _save_dataset(value, directory, name)
    if isinstance(value, ModelArtifact):
        return "model", value.save(directory, name)
    if isinstance(value, Predictions):
        return "predictions", value.save(directory, name)
    if isinstance(value, np.ndarray):
        path = directory / f"{name}.npy"
        np.save(path, value, allow_pickle=False)
        return "array", path
    saver = getattr(value, "save", None)
    if callable(saver):  # other artifacts that know their format (reports)
        return "artifact", Path(saver(directory, name))
    if _jsonable(value):
        path = directory / f"{name}.json"
        path.write_text(json.dumps(value, indent=2), encoding="utf-8")
        return "json", path
    return None


def save_outputs(outputs: Mapping[str, Any], directory: Path) -> dict[str, str]:
    """Write each output, then the folder's index (atomically, last: the commit; a save that
    fails part-way leaves no index, so nothing reads its files); output name → file path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / _INDEX).unlink(missing_ok=True)
    paths: dict[str, str] = {}
    index: dict[str, dict[str, str]] = {}
    for name, value in outputs.items():
        try:
            saved = _save_one(value, directory, name)
        except StorageError:
            raise
        except OSError as exc:  # disk full, quota, permissions: a typed error naming the file
            raise StorageError(f"cannot save output {name!r} in {directory}: {exc}") from exc
        if saved is None:
            continue
        kind, path = saved
        paths[name] = str(path)
        index[name] = {"kind": kind, "file": path.name}
    write_atomic(directory / _INDEX, json.dumps(index, indent=2))
    return paths


def _load_dataset(path: Path, computing: ComputingSession) -> Dataset:
    sidecar = json.loads(path.with_suffix(".schema.json").read_text(encoding="utf-8"))
    if not isinstance(sidecar, dict) or sidecar.get("format") != _DATASET:
        raise InvalidInputError(f"{path} is not a chaihuo dataset")
    dataset = computing.read_csv(
        path, id=sidecar["id"], label=sidecar["label"], partitions=int(sidecar["partitions"])
    )
    schema = Schema(
        id_name=sidecar["id"],
        label_name=sidecar["label"],
        feature_names=tuple(sidecar["features"]),
        feature_dtypes=tuple(sidecar["feature_dtypes"]),
        label_dtype=sidecar["label_dtype"],
    )
    if dataset.schema.feature_names != schema.feature_names:
        raise InvalidInputError(f"{path}: columns differ from its schema file")
    if schema.label_dtype is not None and dataset.schema.label_dtype != schema.label_dtype:
        dataset = Dataset.from_rows(schema, dataset.rows())  # labels back to their dtype
    return Dataset(schema, dataset.blocks)


def load_outputs(directory: Path, computing: ComputingSession) -> dict[str, Any]:
    """Everything `save_outputs` wrote in `directory`, as objects again."""
    try:
        index = json.loads((directory / _INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"no readable outputs in {directory}: {exc}") from exc
    loaded: dict[str, Any] = {}
    for name, entry in index.items():
        path = directory / str(entry["file"])
        kind = entry["kind"]
        if kind == "dataset":
            loaded[name] = _load_dataset(path, computing)
        elif kind == "model":
            loaded[name] = ModelArtifact.load(path)
        elif kind == "predictions":
            loaded[name] = Predictions.load(path)
        elif kind == "array":
            loaded[name] = np.load(path, allow_pickle=False)
        elif kind == "json":
            loaded[name] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
