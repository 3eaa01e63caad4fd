"""Store operations on jobs, their tasks, other parties' task states and metrics."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from chaihuo.core import InvalidInputError
from chaihuo.flow.store._errors import ConflictError, NotFoundError
from chaihuo.flow.store._records import (
    JobRecord,
    MetricRow,
    PartyTaskRecord,
    TaskRecord,
    check_json_text,
)
from chaihuo.flow.store._schema import JobRow, MetricRowORM, PartyTaskRow, TaskRow
from chaihuo.flow.store._sql import check_key, upsert

__all__ = [
    "CLEARABLE",
    "add_metrics",
    "create_job",
    "find_by_request",
    "get_job",
    "get_task",
    "list_jobs",
    "list_metrics",
    "list_party_tasks",
    "list_tasks",
    "update_job",
    "upsert_party_task",
    "upsert_task",
]

CLEARABLE = frozenset({"reason", "started_at", "ended_at"})


def _job(row: JobRow) -> JobRecord:
    return JobRecord(
        job_id=row.job_id,
        name=row.name,
        initiator_party=row.initiator_party,
        roles=tuple(row.roles),
        state=row.state,
        reason=row.reason,
        plan_json=row.plan_json,
        job_yaml=row.job_yaml,
        client_request_id=row.client_request_id,
        user=row.user_name,
        attempt=row.attempt,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def _task(row: TaskRow) -> TaskRecord:
    return TaskRecord(
        job_id=row.job_id,
        component=row.component,
        state=row.state,
        attempt=row.attempt,
        reason=row.reason,
        code=row.code,
        pid=row.pid,
        started_at=row.started_at,
        ended_at=row.ended_at,
        outputs_json=row.outputs_json,
    )


def _job_row(session: Session, job_id: str) -> JobRow:
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFoundError(f"no job {job_id!r} on this node", job_id=job_id)
    return row


def find_by_request(session: Session, initiator: str, request_id: str) -> JobRecord | None:
    """The job an initiator already submitted under `request_id`, if any."""
    row = session.scalars(
        select(JobRow).where(
            JobRow.initiator_party == initiator, JobRow.client_request_id == request_id
        )
    ).first()
    return None if row is None else _job(row)


def create_job(session: Session, job: JobRecord) -> tuple[JobRecord, bool]:
    """Insert `job`, or return the job already submitted under its client request id."""
    check_key(job.job_id, "job_id")
    check_key(job.initiator_party, "initiator_party")
    check_json_text(job.plan_json, "plan_json")
    if job.client_request_id is not None:
        existing = find_by_request(session, job.initiator_party, job.client_request_id)
        if existing is not None:
            return existing, False
    if session.get(JobRow, job.job_id) is not None:
        raise ConflictError(f"job {job.job_id!r} already exists", job_id=job.job_id)
    row = JobRow(
        job_id=job.job_id,
        name=job.name,
        initiator_party=job.initiator_party,
        roles=list(job.roles),
        state=job.state,
        reason=job.reason,
        plan_json=job.plan_json,
        job_yaml=job.job_yaml,
        client_request_id=job.client_request_id,
        user_name=job.user,
        attempt=job.attempt,
        created_at=job.created_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
    )
    session.add(row)
    session.flush()
    return _job(row), True


def get_job(session: Session, job_id: str) -> JobRecord:
    """One job, or NotFoundError."""
    return _job(_job_row(session, job_id))


def list_jobs(
    session: Session, limit: int, offset: int, states: Sequence[str] | None, user: str | None
) -> list[JobRecord]:
    """Jobs, newest first, optionally only in `states` or submitted by `user`."""
    if limit < 0 or offset < 0:
        raise InvalidInputError("limit and offset must be >= 0", limit=limit, offset=offset)
    query = select(JobRow)
    if states is not None:
        query = query.where(JobRow.state.in_(list(states)))
    if user is not None:
        query = query.where(JobRow.user_name == user)
    query = query.order_by(JobRow.created_at.desc(), JobRow.job_id.desc())
    return [_job(row) for row in session.scalars(query.limit(limit).offset(offset))]


def update_job(
    session: Session, job_id: str, changes: dict[str, Any], clear: Collection[str]
) -> JobRecord:
    """Set the non-None `changes` and NULL the `clear` fields of one job."""
    unknown = set(clear) - CLEARABLE
    if unknown:
        raise InvalidInputError(f"only {sorted(CLEARABLE)} can be cleared", fields=sorted(unknown))
    row = _job_row(session, job_id)
    for name, value in changes.items():
        if value is not None:
            setattr(row, name, value)
    for name in clear:
        setattr(row, name, None)
    session.flush()
    return _job(row)


def upsert_task(session: Session, task: TaskRecord) -> TaskRecord:
    """Insert or overwrite the task row of (job, component)."""
    _job_row(session, task.job_id)
    check_key(task.component, "component")
    check_json_text(task.outputs_json, "outputs_json")
    values = {
        "job_id": task.job_id,
        "component": task.component,
        "state": task.state,
        "attempt": task.attempt,
        "reason": task.reason,
        "code": task.code,
        "pid": task.pid,
        "started_at": task.started_at,
        "ended_at": task.ended_at,
        "outputs_json": task.outputs_json,
    }
    upsert(session, TaskRow.__table__, values, ["job_id", "component"])  # type: ignore[arg-type]
    return task


def list_tasks(session: Session, job_id: str) -> list[TaskRecord]:
    """The tasks of one job on this party, by component name; NotFoundError for no such job."""
    _job_row(session, job_id)
    query = select(TaskRow).where(TaskRow.job_id == job_id).order_by(TaskRow.component)
    return [_task(row) for row in session.scalars(query)]


def get_task(session: Session, job_id: str, component: str) -> TaskRecord:
    """One task, or NotFoundError."""
    row = session.get(TaskRow, (job_id, component))
    if row is None:
        raise NotFoundError(
            f"no task {component!r} in job {job_id!r}", job_id=job_id, component=component
        )
    return _task(row)


def upsert_party_task(session: Session, record: PartyTaskRecord) -> None:
    """Keep the newest report per (job, party, component): an older `updated_at` is ignored."""
    _job_row(session, record.job_id)
    check_key(record.party_id, "party_id")
    check_key(record.component, "component")
    values = {
        "job_id": record.job_id,
        "party_id": record.party_id,
        "component": record.component,
        "state": record.state,
        "reason": record.reason,
        "updated_at": record.updated_at,
    }
    table = PartyTaskRow.__table__
    upsert(
        session,
        table,  # type: ignore[arg-type]
        values,
        ["job_id", "party_id", "component"],
        where=lambda excluded: table.c.updated_at <= excluded.updated_at,
    )


def list_party_tasks(session: Session, job_id: str) -> list[PartyTaskRecord]:
    """Every party's reported task states for one job, by party then component."""
    _job_row(session, job_id)
    query = (
        select(PartyTaskRow)
        .where(PartyTaskRow.job_id == job_id)
        .order_by(PartyTaskRow.party_id, PartyTaskRow.component)
    )
    return [
        PartyTaskRecord(
            job_id=row.job_id,
            party_id=row.party_id,
            component=row.component,
            state=row.state,
            reason=row.reason,
            updated_at=row.updated_at,
        )
        for row in session.scalars(query)
    ]


def add_metrics(
    session: Session, job_id: str, component: str, records: Sequence[MetricRow]
) -> None:
    """Append metric values of one component (NaN stored as NULL)."""
    _job_row(session, job_id)
    check_key(component, "component")
    values = []
    for metric in records:
        if metric.component not in (None, component):
            raise InvalidInputError(
                "a metric row names another component than the one it is added under",
                component=component,
                row_component=metric.component,
            )
        value = float(metric.value)
        values.append(
            {
                "job_id": job_id,
                "component": component,
                "namespace": metric.namespace,
                "name": metric.name,
                "value": None if math.isnan(value) else value,
                "step": metric.step,
                "time": metric.time,
            }
        )
    if values:
        session.execute(insert(MetricRowORM), values)


def list_metrics(session: Session, job_id: str, component: str | None) -> list[MetricRow]:
    """Metric values of one job (or one of its components), in the order they were added."""
    _job_row(session, job_id)
    query = select(MetricRowORM).where(MetricRowORM.job_id == job_id)
    if component is not None:
        query = query.where(MetricRowORM.component == component)
    return [
        MetricRow(
            namespace=row.namespace,
            name=row.name,
            value=math.nan if row.value is None else row.value,
            step=row.step,
            time=row.time,
            component=row.component,
        )
        for row in session.scalars(query.order_by(MetricRowORM.id))
    ]
