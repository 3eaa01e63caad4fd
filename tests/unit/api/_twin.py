"""An in-memory twin of the node's NodeServices: jobs, tables and models kept in dicts.

A small honest implementation of `chaihuo.flow.api.NodeServices` for the REST tests: it
validates job files with the real DSL, streams uploads to disk chunk by chunk (recording the
reads, so a test can see it received a stream), detects CSV and Parquet schemas, and exports
models as zips of JSON and .npz. The integrator runs the same tests against the real node.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow.parquet as pq
import yaml
from pydantic import ValidationError

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.flow import JobFile, JobInvalidError
from chaihuo.flow.api._schemas import (
    ArtifactFile,
    ColumnView,
    DagEdge,
    DagNode,
    DagView,
    JobView,
    LogChunk,
    MetricView,
    ModelView,
    NodeStatus,
    PeerView,
    TableFormat,
    TableView,
    TaskView,
)
from chaihuo.flow.store import ConflictError, NotFoundError

READ_SIZE = 1 << 20


class DataInvalidError(ChaihuoError, ValueError):
    """The twin's stand-in for the node's data errors."""

    code = "DATA_INVALID"


def _now() -> datetime:
    return datetime.now(UTC)


def _party_ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class TwinNode:
    """NodeServices over dicts and one folder; see the module docstring."""

    def __init__(self, data_dir: Path, party_id: str = "9999") -> None:
        self.party_id = party_id
        self.data_dir = data_dir
        self.started = _now()
        self.jobs: dict[str, JobView] = {}
        self.job_files: dict[str, JobFile] = {}
        self.by_request: dict[str, str] = {}
        self.logs: dict[str, str] = {}
        self.metrics: dict[str, list[MetricView]] = {}
        self.tables: dict[tuple[str, str], tuple[TableView, Path]] = {}
        self.models: dict[str, tuple[ModelView, dict[str, bytes]]] = {}
        self.upload_reads: list[int] = []
        self.upload_source_types: list[type] = []
        self.explode: Exception | None = None  # raised by the next status() call

    # -- node -------------------------------------------------------------------------------

    def status(self) -> NodeStatus:
        if self.explode is not None:
            exc, self.explode = self.explode, None
            raise exc
        running = [j for j in self.jobs.values() if j.state == "running"]
        return NodeStatus(
            party_id=self.party_id,
            version="twin",
            profile="dev",
            started_at=self.started,
            uptime_s=(_now() - self.started).total_seconds(),
            peers=[PeerView(party_id="10000", address="127.0.0.1:1", reachable=False)],
            running_jobs=len(running),
            running_tasks=sum(t.state == "running" for j in running for t in j.tasks),
            store="sqlite-memory",
        )

    # -- jobs -------------------------------------------------------------------------------

    def _job(self, job_id: str) -> JobView:
        if job_id not in self.jobs:
            raise NotFoundError(f"no job {job_id!r}", job_id=job_id)
        return self.jobs[job_id]

    def submit_job(self, job_yaml: str, *, user: str, request_id: str | None) -> JobView:
        if request_id is not None and request_id in self.by_request:
            return self.jobs[self.by_request[request_id]]
        try:
            job = JobFile.model_validate(yaml.safe_load(job_yaml))
        except (yaml.YAMLError, ValidationError) as exc:
            raise JobInvalidError(f"job file rejected: {exc}") from exc
        job_id = f"job{len(self.jobs) + 1:04d}"
        parties = {role: _party_ids(ids) for role, ids in job.parties.items()}
        owners: dict[str, list[str]] = {}
        for role, ids in parties.items():
            for pid in ids:
                owners.setdefault(pid, []).append(role)
        tasks = [
            TaskView(component=cid, party_id=pid, roles=roles, state="running", progress=0.5)
            for cid in job.components
            for pid, roles in owners.items()
        ]
        view = JobView(
            job_id=job_id,
            name=job.name,
            state="running",
            initiator=self.party_id,
            owner=user,
            parties=parties,
            created_at=_now(),
            started_at=_now(),
            tasks=tasks,
        )
        self.jobs[job_id], self.job_files[job_id] = view, job
        self.logs[job_id] = "".join(f"{cid}: started\n" for cid in job.components)
        if request_id is not None:
            self.by_request[request_id] = job_id
        return view

    def finish(self, job_id: str, state: str, reason: str | None = None) -> JobView:
        """Test hook: end a job in `state`, with metrics and a model when it succeeds."""
        job = self._job(job_id)
        tasks = [t.model_copy(update={"state": state, "progress": None}) for t in job.tasks]
        view = job.model_copy(
            update={"state": state, "reason": reason, "ended_at": _now(), "tasks": tasks}
        )
        self.jobs[job_id] = view
        self.logs[job_id] += "".join(f"{t.component}: {state}\n" for t in job.tasks)
        if state == "success":
            last = list(self.job_files[job_id].components)[-1]
            self.metrics[job_id] = [
                MetricView(component=last, name="auc", value=0.98),
                MetricView(component=last, name="loss", value=0.12, step=3),
            ]
            self.add_model(job_id, last, {"w": np.arange(4.0)})
        return view

    def list_jobs(self, *, limit: int, offset: int, states: list[str] | None) -> list[JobView]:
        jobs = sorted(self.jobs.values(), key=lambda j: j.job_id, reverse=True)
        jobs = [j for j in jobs if states is None or j.state in states]
        return jobs[offset : offset + limit]

    def get_job(self, job_id: str) -> JobView:
        return self._job(job_id)

    def stop_job(self, job_id: str, *, user: str) -> JobView:
        if self._job(job_id).done:
            raise ConflictError(f"job {job_id} already ended", job_id=job_id)
        return self.finish(job_id, "canceled", reason="canceled by " + user)

    def rerun_job(self, job_id: str, *, user: str) -> JobView:
        job = self._job(job_id)
        if job.state not in ("failed", "canceled", "timeout"):
            raise ConflictError(f"job {job_id} is {job.state}: only failed jobs rerun")
        tasks = [t.model_copy(update={"state": "running"}) for t in job.tasks]
        view = job.model_copy(
            update={
                "state": "running",
                "reason": None,
                "ended_at": None,
                "attempt": job.attempt + 1,
                "tasks": tasks,
            }
        )
        self.jobs[job_id] = view
        return view

    def job_logs(self, job_id: str, *, component: str | None, offset: int, limit: int) -> LogChunk:
        text = self.logs[self._job(job_id).job_id]
        if component is not None:
            text = "".join(line for line in text.splitlines(True) if line.startswith(component))
        part = text[offset : offset + limit]
        return LogChunk(
            job_id=job_id,
            component=component,
            offset=offset,
            next_offset=offset + len(part),
            text=part,
            more=offset + len(part) < len(text),
        )

    def job_metrics(self, job_id: str) -> list[MetricView]:
        return self.metrics.get(self._job(job_id).job_id, [])

    def job_dag(self, job_id: str) -> DagView:
        job, spec = self._job(job_id), self.job_files[job_id]
        nodes = [
            DagNode(
                component=cid,
                type=entry.component,
                states={t.party_id: t.state for t in job.tasks if t.component == cid},
            )
            for cid, entry in spec.components.items()
        ]
        edges = [
            DagEdge(source=ref.split(".")[0], output=ref.split(".")[1], target=cid, input=name)
            for cid, entry in spec.components.items()
            for name, ref in entry.inputs.items()
        ]
        return DagView(job_id=job_id, nodes=nodes, edges=edges)

    # -- data -------------------------------------------------------------------------------

    def upload_table(
        self,
        namespace: str,
        name: str,
        source: BinaryIO,
        *,
        filename: str,
        format: TableFormat | None,
        id_column: str | None,
        label_column: str | None,
        replace: bool,
    ) -> TableView:
        if (namespace, name) in self.tables and not replace:
            raise ConflictError(f"table {namespace}/{name} exists", table=f"{namespace}/{name}")
        kind: TableFormat = format or ("parquet" if filename.endswith(".parquet") else "csv")
        self.upload_source_types.append(type(source))
        folder = self.data_dir / namespace
        folder.mkdir(parents=True, exist_ok=True)
        path, digest, size = folder / f"{name}.{kind}", hashlib.sha256(), 0
        with path.open("wb") as out:
            while chunk := source.read(READ_SIZE):
                self.upload_reads.append(len(chunk))
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        columns, rows = _schema(path, kind)
        for wanted in (id_column, label_column):
            if wanted is not None and wanted not in [c.name for c in columns]:
                path.unlink()
                raise DataInvalidError(f"no column {wanted!r} in {filename}", column=wanted)
        view = TableView(
            namespace=namespace,
            name=name,
            format=kind,
            columns=columns,
            id_column=id_column,
            label_column=label_column,
            rows=rows,
            size_bytes=size,
            sha256=digest.hexdigest(),
            created_at=_now(),
        )
        self.tables[(namespace, name)] = (view, path)
        return view

    def _table(self, namespace: str, name: str) -> tuple[TableView, Path]:
        if (namespace, name) not in self.tables:
            raise NotFoundError(f"no table {namespace}/{name}")
        return self.tables[(namespace, name)]

    def list_tables(self, namespace: str | None) -> list[TableView]:
        return [v for (ns, _), (v, _) in sorted(self.tables.items()) if namespace in (None, ns)]

    def get_table(self, namespace: str, name: str) -> TableView:
        return self._table(namespace, name)[0]

    def table_path(self, namespace: str, name: str) -> Path:
        return self._table(namespace, name)[1]

    def delete_table(self, namespace: str, name: str) -> TableView:
        view, path = self._table(namespace, name)
        path.unlink()
        del self.tables[(namespace, name)]
        return view

    # -- models -----------------------------------------------------------------------------

    def add_model(self, job_id: str, component: str, arrays: dict[str, Any]) -> ModelView:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        meta = {"job_id": job_id, "component": component, "type": "hetero_lr"}
        files = {"model.json": json.dumps(meta).encode(), "weights.npz": buffer.getvalue()}
        return self._register(meta, files)

    def _register(self, meta: dict[str, Any], files: dict[str, bytes]) -> ModelView:
        model_id = f"{meta['job_id']}/{meta['component']}"
        if model_id in self.models:
            raise ConflictError(f"model {model_id} exists", model=model_id)
        whole = hashlib.sha256(b"".join(files[name] for name in sorted(files)))
        view = ModelView(
            model_id=model_id,
            job_id=meta["job_id"],
            component=meta["component"],
            type=meta["type"],
            party_id=self.party_id,
            roles=["guest"],
            created_at=_now(),
            sha256=whole.hexdigest(),
            files=[
                ArtifactFile(name=n, size_bytes=len(b), sha256=hashlib.sha256(b).hexdigest())
                for n, b in sorted(files.items())
            ],
        )
        self.models[model_id] = (view, files)
        return view

    def list_models(self) -> list[ModelView]:
        return [view for view, _ in self.models.values()]

    def get_model(self, model_id: str) -> ModelView:
        if model_id not in self.models:
            raise NotFoundError(f"no model {model_id}")
        return self.models[model_id][0]

    def export_model(self, model_id: str) -> bytes:
        self.get_model(model_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in sorted(self.models[model_id][1].items()):
                archive.writestr(name, data)
        return buffer.getvalue()

    def import_model(self, archive: bytes) -> ModelView:
        try:
            with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
                files = {name: zipped.read(name) for name in zipped.namelist()}
        except zipfile.BadZipFile as exc:
            raise InvalidInputError("not a model archive (zip)") from exc
        if any(not name.endswith((".json", ".npz")) for name in files) or "model.json" not in files:
            raise InvalidInputError("a model archive holds model.json and .npz files only")
        for name, data in files.items():
            if name.endswith(".npz"):
                np.load(io.BytesIO(data), allow_pickle=False)  # refuses object arrays
        return self._register(json.loads(files["model.json"]), files)


def _schema(path: Path, kind: TableFormat) -> tuple[list[ColumnView], int]:
    if kind == "parquet":
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
        return [ColumnView(name=f.name, dtype=str(f.type)) for f in schema], meta.num_rows
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DataInvalidError("empty CSV")
        rows = sum(1 for _ in reader)
    return [ColumnView(name=n, dtype="unknown") for n in header], rows


def wait_until(predicate: Any, timeout_s: float = 10.0) -> None:
    """Poll `predicate` until true (for threads the tests start)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)
