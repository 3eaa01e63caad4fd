"""What a node shows of a job: its state and every party's tasks, DAG, logs and metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from chaihuo.flow._dsl import topological_order
from chaihuo.flow.api._schemas import (
    DagEdge,
    DagNode,
    DagView,
    JobView,
    LogChunk,
    MetricView,
    TaskView,
)
from chaihuo.flow.node._jobs import JobPlan
from chaihuo.flow.store import JobRecord, MetricRow, Store

__all__ = ["dag_view", "job_view", "log_chunk", "metric_rows", "metric_views"]


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def _states(
    store: Store, record: JobRecord, plan: JobPlan, me: str
) -> dict[tuple[str, str], TaskView]:
    """Every known (party, component) task: this party's from its own records, the others'
    from what they reported (the initiator hears from every party)."""
    views: dict[tuple[str, str], TaskView] = {}
    for cid in topological_order(plan.job):
        for party in dict.fromkeys(owner for _, owner in plan.params[cid]):
            roles = [role.value for role in plan.runs_on(cid, party)]
            views[(party, cid)] = TaskView(component=cid, party_id=party, roles=roles,
                                           state="waiting")  # fmt: skip
    for task in store.list_tasks(record.job_id):
        old = views.get((me, task.component))
        if old is not None:
            views[(me, task.component)] = old.model_copy(update={
                "state": task.state, "reason": task.reason,
                "started_at": _when(task.started_at), "ended_at": _when(task.ended_at),
            })  # fmt: skip
    for report in store.list_party_tasks(record.job_id):
        old = views.get((report.party_id, report.component))
        if old is not None:
            views[(report.party_id, report.component)] = old.model_copy(
                update={"state": report.state, "reason": report.reason}
            )
    return views


def job_view(store: Store, record: JobRecord, plan: JobPlan, me: str) -> JobView:
    """The REST view of a job."""
    tasks = _states(store, record, plan, me)
    if record.initiator_party != me:  # a partner knows only its own part
        tasks = {key: view for key, view in tasks.items() if key[0] == me}
    return JobView(
        job_id=record.job_id, name=record.name, state=record.state, reason=record.reason,
        initiator=record.initiator_party, owner=record.user, parties=plan.roles,
        created_at=_when(record.created_at), started_at=_when(record.started_at),
        ended_at=_when(record.ended_at), attempt=record.attempt, tasks=list(tasks.values()),
    )  # fmt: skip


def dag_view(store: Store, record: JobRecord, plan: JobPlan, me: str) -> DagView:
    """The job's components, their state on each party, and the data flow between them."""
    tasks = _states(store, record, plan, me)
    nodes = [
        DagNode(component=cid, type=plan.job.components[cid].component,
                states={party: view.state for (party, c), view in tasks.items() if c == cid})
        for cid in topological_order(plan.job)
    ]  # fmt: skip
    edges = [
        DagEdge(source=ref.split(".")[0], output=ref.split(".")[1], target=cid, input=name)
        for cid, entry in plan.job.components.items()
        for name, ref in entry.inputs.items()
    ]
    return DagView(job_id=record.job_id, nodes=nodes, edges=edges)


def log_chunk(
    job_id: str, logs: list[tuple[str, Path]], *, component: str | None, offset: int, limit: int
) -> LogChunk:
    """A slice of this party's task logs (one component's, or all in DAG order with headers)."""
    parts = []
    for cid, path in logs:
        if component is not None and cid != component:
            continue
        text = path.read_bytes() if path.exists() else b""
        parts.append(text if component is not None else f"==> {cid} <==\n".encode() + text)
    whole = b"".join(parts)
    piece = whole[offset : offset + limit]
    return LogChunk(
        job_id=job_id, component=component, offset=offset, next_offset=offset + len(piece),
        text=piece.decode("utf-8", "replace"), more=offset + len(piece) < len(whole),
    )  # fmt: skip


def metric_rows(path: Path, component: str) -> list[MetricRow]:
    """The metrics a task logged (its metrics.jsonl; progress lines left out)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("kind") == "progress":
            continue
        rows.append(MetricRow(namespace=str(record["namespace"]), name=str(record["name"]),
                              value=float(record["value"]), step=record.get("step"),
                              time=float(record["time"]), component=component))  # fmt: skip
    return rows


def metric_views(rows: list[MetricRow]) -> list[MetricView]:
    """The REST view of metrics."""
    return [
        MetricView(component=row.component or row.namespace.split(".")[0], name=row.name,
                   value=row.value, step=row.step)
        for row in rows
    ]  # fmt: skip
