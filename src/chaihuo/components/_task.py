"""What one party's worker process is told to run, and what it reports back (JSON files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chaihuo.core import Role

__all__ = ["ComponentTask", "FederationPlan", "PartyResult", "PartyTask", "RoleOutcome"]


class FederationPlan(BaseModel):
    """How this party reaches the others: gRPC over mTLS (default) or plaintext in dev."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = Field(description="host:port this party's node binds.")
    addresses: dict[str, str] = Field(description="party id → host:port of its node.")
    ca_cert: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    insecure: bool = False


class ComponentTask(BaseModel):
    """One component of the DAG as this party runs it: its roles and validated raw params."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    component: str
    inputs: dict[str, str]
    params: dict[Role, dict[str, Any]]


class PartyTask(BaseModel):
    """Everything a party's worker needs; written by the launcher as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str
    job_name: str
    party_id: str
    roster: dict[str, list[str]]
    security: dict[str, Any]
    components: list[ComponentTask]
    work_dir: Path
    base_dir: Path = Field(description="Relative data paths in params resolve against this.")
    timeout_s: float = 600.0
    profile: Literal["dev", "prod"] = "prod"
    federation: FederationPlan


class RoleOutcome(BaseModel):
    """How one component went for one role of this party."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["success", "failed", "skipped"]
    error: str | None = None
    seconds: float = 0.0
    metrics: dict[str, float] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)


class PartyResult(BaseModel):
    """The worker's report: overall status and every component's outcome per role."""

    model_config = ConfigDict(extra="forbid")

    party_id: str
    status: Literal["success", "failed"]
    error: str | None = None
    components: dict[str, dict[Role, RoleOutcome]] = Field(default_factory=dict)
