"""What one party's worker process is told to run, and what it reports back (JSON files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chaihuo.computing import check_backend
from chaihuo.core import Role

__all__ = [
    "ComponentTask",
    "ComputingPlan",
    "FederationPlan",
    "InputFile",
    "OutcomeStatus",
    "PartyResult",
    "PartyStatus",
    "PartyTask",
    "RoleOutcome",
]


class FederationPlan(BaseModel):
    """How this party reaches the others: gRPC over mTLS (default) or plaintext in dev."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = Field("", description="host:port this party's own node binds (direct).")
    addresses: dict[str, str] = Field(
        default_factory=dict, description="party id → host:port of its node (direct)."
    )
    ca_cert: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    insecure: bool = False
    gateway: str | None = Field(None, description="The node's gateway (a task of a node).")
    token: str | None = Field(None, description="This task's token at the gateway.")


class ComputingPlan(BaseModel):
    """This party's computing backend for the task: its own choice, never agreed with peers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field(
        "local", description="'local' (process pool) or a Spark master: local[N], spark://..."
    )
    workers: int = Field(0, ge=0, le=4096, description="Local processes / Spark partitions.")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings.")

    @field_validator("backend")
    @classmethod
    def check_backend(cls, value: str) -> str:
        """`value` if a backend of that form can be opened (not opening it): ConfigError else."""
        return check_backend(value)


class InputFile(BaseModel):
    """An output saved by another task or job: its folder and the output's name there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    directory: Path
    output: str


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
    report_dir: Path | None = Field(
        None, description="Where result.json, events and metrics go (default: the party's)."
    )
    upstream_on_disk: bool = Field(
        False, description="Load inputs from earlier tasks' saved outputs (a node's task)."
    )
    external_inputs: dict[Role, dict[str, InputFile]] = Field(
        default_factory=dict, description="Inputs from outside this job (a stored model)."
    )
    computing: ComputingPlan = Field(default_factory=ComputingPlan)


OutcomeStatus = Literal["running", "success", "failed", "canceled"]
"""A component on one role of a party, as its worker records it."""
PartyStatus = Literal["running", "success", "failed", "canceled"]


class RoleOutcome(BaseModel):
    """How one component went (or is going) for one role of this party."""

    model_config = ConfigDict(extra="forbid")

    status: OutcomeStatus
    error: str | None = Field(None, description="This party's own full error text.")
    code: str | None = Field(None, description="The error's catalog code.")
    seconds: float = 0.0
    metrics: dict[str, float] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)


class PartyResult(BaseModel):
    """The worker's report: overall status and every component's outcome per role.

    The worker rewrites it (atomically) whenever a component starts or ends, so that what a
    party had finished, and its own error, survive the party being stopped or killed.
    `status` is "canceled" when the party stopped because a peer failed or it was told to
    stop (a signal); "failed" when it failed of its own accord."""

    model_config = ConfigDict(extra="forbid")

    party_id: str
    status: PartyStatus
    error: str | None = None
    code: str | None = None
    component: str | None = Field(None, description="Where the party failed or stopped.")
    stopped_by: str | None = Field(None, description="Why it was told to stop (a signal).")
    components: dict[str, dict[Role, RoleOutcome]] = Field(default_factory=dict)
