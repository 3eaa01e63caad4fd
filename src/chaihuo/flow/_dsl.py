"""The job file: a YAML DAG of components with per-role parameters, validated before running."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chaihuo.core import ChaihuoError, Role
from chaihuo.federation import Roster

__all__ = ["ComponentEntry", "JobFile", "JobInvalidError", "load_job_file", "topological_order"]

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


class JobInvalidError(ChaihuoError, ValueError):
    """A job file that cannot run: names the file, the component and what is wrong."""

    code = "JOB_INVALID"


class ComponentEntry(BaseModel):
    """One node of the DAG as written in the job file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    component: str
    inputs: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    by_role: dict[Role, dict[str, Any]] = Field(default_factory=dict)
    by_party: dict[str, dict[str, Any]] = Field(default_factory=dict)
    roles: list[Role] | None = Field(None, description="Run only on these roles.")
    model: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-\.]{0,127}/[A-Za-z][A-Za-z0-9_\-]{0,63}$",
        description="A stored model, JOB_ID/COMPONENT, as this component's `model` input "
        "(node jobs: each party uses its own part).",
    )

    @field_validator("inputs")
    @classmethod
    def _references(cls, inputs: dict[str, str]) -> dict[str, str]:
        for name, ref in inputs.items():
            parts = ref.split(".")
            if len(parts) != 2 or not all(_ID.match(p) for p in parts):
                raise ValueError(
                    f"input {name!r} must reference '<component>.<output>', got {ref!r}"
                )
        return inputs

    def params_for(self, role: Role, party_id: str) -> dict[str, Any]:
        """`params`, overridden by `by_role.<role>`, overridden by `by_party.<id>`."""
        merged = dict(self.params)
        merged.update(self.by_role.get(role, {}))
        merged.update(self.by_party.get(party_id, {}))
        return merged


class JobFile(BaseModel):
    """A whole job (docs/architecture.md §6); unknown keys anywhere are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    parties: dict[str, Any]
    security: dict[str, Any] = Field(default_factory=dict)
    components: dict[str, ComponentEntry]
    timeout_s: float = Field(600.0, gt=0, le=86_400, description="Per-message deadline.")

    @property
    def roster(self) -> Roster:
        """The parties block as a validated roster."""
        return Roster.from_mapping(self.parties)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _ID.match(name):
            raise ValueError("job name: 1-64 letters, digits, '_' or '-', starting with a letter")
        return name

    @field_validator("components")
    @classmethod
    def _component_ids(cls, components: dict[str, ComponentEntry]) -> dict[str, ComponentEntry]:
        if not components:
            raise ValueError("a job needs at least one component")
        for component_id in components:
            if not _ID.match(component_id):
                raise ValueError(f"component id {component_id!r} is not a valid name")
        return components


def topological_order(job: JobFile) -> list[str]:
    """Component ids in dependency order (ties in file order); cycles are errors."""
    deps = {
        cid: {ref.split(".")[0] for ref in e.inputs.values()} for cid, e in job.components.items()
    }
    for cid, needed in deps.items():
        missing = needed - set(job.components)
        if missing:
            raise JobInvalidError(f"component {cid!r} reads from unknown {sorted(missing)}")
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(deps):
        ready = [c for c in deps if c not in done and deps[c] <= done]
        if not ready:
            cycle = sorted(set(deps) - done)
            raise JobInvalidError(f"components form a cycle: {cycle}")
        order.append(ready[0])
        done.add(ready[0])
    return order


def load_job_file(path: Path) -> JobFile:
    """Parse a YAML job file (safe loader) into a validated JobFile."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JobInvalidError(f"cannot read job file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise JobInvalidError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise JobInvalidError(f"{path}: a job file is a YAML mapping")
    try:
        job = JobFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise JobInvalidError(f"{path}: {problems}") from exc
    try:
        job.roster  # noqa: B018 - validates the parties block
    except ChaihuoError as exc:
        raise JobInvalidError(f"{path}: parties: {exc}") from exc
    return job
