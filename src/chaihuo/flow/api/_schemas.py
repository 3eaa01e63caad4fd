"""Request and response models of the node's REST API, shared by the server and the client."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "NAME_PATTERN",
    "REQUEST_ID_PATTERN",
    "TERMINAL_STATES",
    "USER_PATTERN",
    "ArtifactFile",
    "ColumnView",
    "DagEdge",
    "DagNode",
    "DagView",
    "ErrorBody",
    "Health",
    "Identity",
    "JobSubmit",
    "JobView",
    "LogChunk",
    "MetricView",
    "ModelView",
    "NodeStatus",
    "PeerView",
    "State",
    "TableFormat",
    "TableView",
    "TaskView",
    "TokenCreate",
    "TokenCreated",
    "TokenView",
    "UserCreate",
    "UserView",
]

NAME_PATTERN: Final = r"^[A-Za-z0-9_\-\.]{1,64}$"
"""Namespaces, table names, user names, job ids and component ids."""
USER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$"
"""User names (as the store accepts them: e-mail addresses too)."""
REQUEST_ID_PATTERN: Final = r"^[A-Za-z0-9_\-\.:]{1,128}$"

State = Literal["waiting", "running", "success", "failed", "canceled", "timeout"]
"""The life of a task and of a job (docs/node.md, "Job lifecycle")."""
TERMINAL_STATES: Final[frozenset[str]] = frozenset({"success", "failed", "canceled", "timeout"})

TableFormat = Literal["csv", "parquet"]


class _View(BaseModel):
    """A response model: frozen, built from the node's records by attribute."""

    model_config = ConfigDict(frozen=True, from_attributes=True)


class _Request(BaseModel):
    """A request body: unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorBody(_View):
    """Every error response: the catalog code, a message for the caller, optional details."""

    code: str
    message: str
    reason: str | None = Field(None, description="Why a token was refused: unknown/expired/...")
    details: dict[str, JsonValue] = Field(default_factory=dict)


class Health(_View):
    """Liveness: answered without a token."""

    status: Literal["ok"] = "ok"
    version: str


class PeerView(_View):
    """A partner node as this node sees it."""

    party_id: str
    address: str
    reachable: bool | None = Field(None, description="None when not probed yet.")


class NodeStatus(_View):
    """What `chaihuo node status` prints."""

    party_id: str
    version: str
    profile: str
    started_at: datetime
    uptime_s: float
    peers: list[PeerView] = Field(default_factory=list)
    running_tasks: int = 0
    queued_tasks: int = 0
    running_jobs: int = 0
    store: str = Field(description="The store's kind: sqlite-memory, sqlite, postgresql.")


class JobSubmit(_Request):
    """`POST /jobs`: a job file's YAML text and an optional idempotency key."""

    job: str = Field(min_length=1, max_length=1_048_576, description="The job file (YAML).")
    request_id: str | None = Field(
        None,
        pattern=REQUEST_ID_PATTERN,
        description="Resubmitting with the same id returns the first job instead of a new one.",
    )


class TaskView(_View):
    """One component on one party."""

    component: str
    party_id: str
    roles: list[str]
    state: State
    reason: str | None = Field(None, description="Code and public text of a failure.")
    progress: float | None = Field(None, ge=0.0, le=1.0)
    started_at: datetime | None = None
    ended_at: datetime | None = None


class JobView(_View):
    """A job as this node knows it, with every party's tasks."""

    job_id: str
    name: str
    state: State
    reason: str | None = None
    initiator: str = Field(description="The party id that started the job.")
    owner: str | None = Field(None, description="The user of this node who submitted it.")
    parties: dict[str, list[str]] = Field(description="role -> party ids")
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    attempt: int = Field(1, ge=1, description="1, then one more per rerun.")
    tasks: list[TaskView] = Field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether the job reached a final state."""
        return self.state in TERMINAL_STATES


class LogChunk(_View):
    """A slice of this party's task logs of a job; read on from `next_offset`."""

    job_id: str
    component: str | None = None
    offset: int = Field(ge=0)
    next_offset: int = Field(ge=0)
    text: str
    more: bool = Field(description="Whether the logs had more text after this chunk.")


class MetricView(_View):
    """One metric a component logged on this party."""

    component: str
    name: str
    value: JsonValue
    step: int | None = None


class DagNode(_View):
    """One component of a job's DAG and its state on each party."""

    component: str
    type: str = Field(description="The registered component, e.g. hetero_lr.")
    states: dict[str, State] = Field(default_factory=dict, description="party id -> state")


class DagEdge(_View):
    """`source.output` feeds `target.input`."""

    source: str
    output: str
    target: str
    input: str


class DagView(_View):
    """A job's DAG."""

    job_id: str
    nodes: list[DagNode]
    edges: list[DagEdge]


class ColumnView(_View):
    """One column of a table's detected schema."""

    name: str
    dtype: str


class TableView(_View):
    """A table of this node's data registry."""

    namespace: str
    name: str
    format: TableFormat
    columns: list[ColumnView]
    id_column: str | None = None
    label_column: str | None = None
    rows: int = Field(ge=0)
    size_bytes: int = Field(ge=0)
    sha256: str
    created_at: datetime


class ArtifactFile(_View):
    """One file of a model artifact (JSON or .npz; never a pickle)."""

    name: str
    size_bytes: int = Field(ge=0)
    sha256: str


class ModelView(_View):
    """A model of this node's registry: the output of one component of one job."""

    model_id: str = Field(description="JOB_ID/COMPONENT")
    job_id: str
    component: str
    type: str = Field(description="The registered component that made it.")
    party_id: str
    roles: list[str] = Field(default_factory=list)
    created_at: datetime
    sha256: str = Field(description="Content hash of the whole artifact.")
    files: list[ArtifactFile] = Field(default_factory=list)


class Identity(_View):
    """`GET /me`: who the token belongs to."""

    name: str
    admin: bool


class UserCreate(_Request):
    """`POST /users`."""

    name: str = Field(pattern=USER_PATTERN)
    admin: bool = False


class UserView(_View):
    """A user of this node."""

    name: str
    admin: bool
    created_at: datetime


class TokenCreate(_Request):
    """`POST /users/{name}/tokens`."""

    expires_in_s: int = Field(30 * 86_400, ge=60, le=366 * 86_400)
    label: str = Field("", max_length=128)


class TokenView(_View):
    """A token's record; the secret itself is shown once, at creation, and never stored."""

    token_id: str
    user: str
    label: str
    created_at: datetime
    expires_at: datetime | None = Field(None, description="None: it never expires.")
    revoked_at: datetime | None = None


class TokenCreated(_View):
    """The answer to token creation: the record and the secret (shown only this once)."""

    token: TokenView
    secret: str
