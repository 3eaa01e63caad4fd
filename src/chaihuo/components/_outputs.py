"""Component outputs kept in memory between components and written to the party's work dir."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["save_outputs"]


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def save_outputs(outputs: Mapping[str, Any], directory: Path) -> dict[str, str]:
    """Write each output next to the others; returns output name → file path.

    Objects that know how to save themselves (`save_csv(path)`, e.g. tables) do so; numpy
    arrays become .npy (never with pickle); JSON-able values become .json.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    for name, value in outputs.items():
        saver = getattr(value, "save_csv", None)
        if callable(saver):
            path = directory / f"{name}.csv"
            saver(path)
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
