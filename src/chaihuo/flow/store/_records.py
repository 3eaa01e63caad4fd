"""The store's records: frozen values in and out of every Store method, never ORM rows."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

from chaihuo.core import InvalidInputError

__all__ = [
    "JobRecord",
    "MetricRow",
    "ModelRecord",
    "PartyTaskRecord",
    "TableRecord",
    "TaskRecord",
    "TokenRecord",
    "UserRecord",
    "check_json_text",
]


def check_json_text(text: str, what: str) -> str:
    """`text` if it parses as JSON, else InvalidInputError naming the field."""
    try:
        json.loads(text)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} is not valid JSON text: {exc}", field=what) from exc
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    """One job this node takes part in; `roles` are the roles this party plays in it.

    `plan_json` is the job plan as JSON text, stored and returned unchanged; `client_request_id`
    makes a submit idempotent per initiator party. Times are seconds since the epoch."""

    job_id: str
    name: str
    initiator_party: str
    roles: tuple[str, ...] = ()
    state: str = "waiting"
    reason: str | None = None
    plan_json: str = "{}"
    job_yaml: str = ""
    client_request_id: str | None = None
    user: str | None = None
    attempt: int = 1
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord:
    """One component of one job on this party; `attempt` grows with each rerun.

    `code` is the catalog code of a failure; `outputs_json` is JSON text naming the outputs."""

    job_id: str
    component: str
    state: str = "waiting"
    attempt: int = 1
    reason: str | None = None
    code: str | None = None
    pid: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    outputs_json: str = "{}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyTaskRecord:
    """A task state another party reported to this (initiating) node."""

    job_id: str
    party_id: str
    component: str
    state: str
    reason: str | None
    updated_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricRow:
    """One metric value; `component` is filled on read and, if given on write, must match.

    A NaN value is stored as SQL NULL (SQLite cannot hold NaN) and read back as NaN."""

    namespace: str
    name: str
    value: float
    step: int | None = None
    time: float = field(default_factory=time.time)
    component: str | None = None

    def same_as(self, other: MetricRow) -> bool:
        """Equality that treats two NaN values as equal (dataclass `==` does not)."""
        both_nan = math.isnan(self.value) and math.isnan(other.value)
        return (both_nan or self.value == other.value) and (
            (self.namespace, self.name, self.step, self.time, self.component)
            == (other.namespace, other.name, other.step, other.time, other.component)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    """A user of this node's REST API."""

    name: str
    admin: bool = False
    created_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    """An API token's public facts; the plain token is shown once at creation, never stored."""

    token_id: str
    user: str
    label: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TableRecord:
    """An uploaded data table of this party, addressed as `namespace/name`.

    `schema_json` is JSON text (column names and types), stored and returned unchanged."""

    namespace: str
    name: str
    path: str
    format: str = "csv"
    id_column: str | None = None
    label_column: str | None = None
    schema_json: str = "{}"
    rows: int | None = None
    sha256: str = ""
    created_at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRecord:
    """The part of a trained model this party holds for one role; unique per (job, component,
    role). `model_id` (`JOB_ID/COMPONENT`) is how users name a model; `role` picks the part."""

    job_id: str
    component: str
    role: str
    kind: str
    version: str
    sha256: str
    path: str
    created_at: float = field(default_factory=time.time)

    @property
    def model_id(self) -> str:
        """`JOB_ID/COMPONENT`, the name users give a model (docs/node.md)."""
        return f"{self.job_id}/{self.component}"
