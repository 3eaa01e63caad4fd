"""Model artifacts: JSON metadata plus named numpy arrays (.npz, never pickle), content-hashed."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError, write_atomic

__all__ = ["ModelArtifact"]

_FORMAT = "chaihuo-model/1"


def _digest(meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> str:
    hasher = hashlib.sha256(json.dumps(meta, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        hasher.update(f"{name}|{array.dtype.str}|{array.shape}".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()


@dataclass
class ModelArtifact:
    """One party's part of a model: `kind` (e.g. "hetero_lr"), its role, JSON-able `meta`
    (hyper-parameters, feature names, classes...) and numeric `arrays` (weights...)."""

    kind: str
    role: str
    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """SHA-256 over metadata and arrays: the model's content address."""
        return _digest(self._header(), self.arrays)

    def _header(self) -> dict[str, Any]:
        return {"format": _FORMAT, "kind": self.kind, "role": self.role, "meta": self.meta}

    def save(self, directory: Path, name: str) -> Path:
        """Write `<name>.npz`, then `<name>.json` (with the digest), each atomically; returns the
        JSON path. The JSON is the commit: a save that fails (StorageError: disk full, ...)
        leaves no JSON, so no half-written model is ever read or registered."""
        directory.mkdir(parents=True, exist_ok=True)
        for key, array in self.arrays.items():
            if np.asarray(array).dtype.kind not in "biuf":
                raise InvalidInputError("model arrays must be numeric", array=key)
        buffer = io.BytesIO()
        named: dict[str, Any] = {key: np.asarray(value) for key, value in self.arrays.items()}
        np.savez(buffer, **named)
        path = directory / f"{name}.json"
        path.unlink(missing_ok=True)  # an older model of this name is no longer the one here
        write_atomic(directory / f"{name}.npz", buffer.getvalue())
        return write_atomic(path, json.dumps({**self._header(), "sha256": self.digest}, indent=2))

    @classmethod
    def load(cls, path: Path) -> ModelArtifact:
        """Read a model saved by `save`; the digest must match (a tampered file is refused)."""
        try:
            header = json.loads(path.read_text(encoding="utf-8"))
            with np.load(path.with_suffix(".npz"), allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # absent or torn
            raise InvalidInputError(f"cannot read model {path}: {exc}") from exc
        if not isinstance(header, dict) or header.get("format") != _FORMAT:
            raise InvalidInputError(f"{path} is not a chaihuo model")
        model = cls(str(header["kind"]), str(header["role"]), dict(header["meta"]), arrays)
        if model.digest != header.get("sha256"):
            raise InvalidInputError(f"{path}: content does not match its SHA-256 (tampered?)")
        return model
