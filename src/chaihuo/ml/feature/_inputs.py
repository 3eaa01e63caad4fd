"""Model inputs of feature components: an in-memory artifact or the path of a saved one."""

from __future__ import annotations

from pathlib import Path

from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact

__all__ = ["model_input"]


def model_input(
    value: object, kind: str, role: str, *, name: str = "model"
) -> ModelArtifact | None:
    """The model given as input `name` (None if absent), checked to be `kind` for `role`."""
    if value is None:
        return None
    if isinstance(value, str | Path):
        value = ModelArtifact.load(Path(value))
    if not isinstance(value, ModelArtifact):
        raise InvalidInputError(f"input {name!r} is not a model", type=type(value).__name__)
    if value.kind != kind:
        raise InvalidInputError(f"input {name!r} is a {value.kind!r} model, expected {kind!r}")
    if value.role != role:
        raise InvalidInputError(f"input {name!r} is the {value.role}'s model, this is the {role}")
    return value
