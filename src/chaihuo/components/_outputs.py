"""Component outputs kept in memory between components and written to the party's work dir."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chaihuo.computing import Dataset

__all__ = ["save_outputs", "write_dataset_csv"]


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


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def save_outputs(outputs: Mapping[str, Any], directory: Path) -> dict[str, str]:
    """Write each output next to the others; returns output name → file path.

    Datasets become CSV; artifacts with `save(directory, name) -> Path` (models, predictions)
    write themselves; numpy arrays .npy (never with pickle); JSON-able values .json.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    for name, value in outputs.items():
        saver = getattr(value, "save", None)
        if isinstance(value, Dataset):
            path = directory / f"{name}.csv"
            write_dataset_csv(value, path)
        elif callable(saver) and not isinstance(value, np.ndarray):
            path = saver(directory, name)  # models, predictions: they know their format
        elif isinstance(value, np.ndarray):
            path = directory / f"{name}.npy"
            np.save(path, value, allow_pickle=False)
        elif _jsonable(value):
            path = directory / f"{name}.json"
            path.write_text(json.dumps(value, indent=2), encoding="utf-8")
        else:
            continue
        paths[name] = str(path)
    return paths
