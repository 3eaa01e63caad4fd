"""The node's job, data and model operations that the REST API exposes, as a Protocol."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

from chaihuo.flow.api._schemas import (
    DagView,
    JobView,
    LogChunk,
    MetricView,
    ModelView,
    NodeStatus,
    TableFormat,
    TableView,
)

__all__ = ["NodeServices"]


class NodeServices(Protocol):
    """What one node does for its own users; the REST API is a thin, authenticated face of it.

    Every method is synchronous and may block (the API calls it from a worker thread). Failures
    are chaihuo errors whose catalog code picks the HTTP status: a missing job, table or model
    is NOT_FOUND (404), a table that exists without `replace` or a job that cannot be stopped
    or rerun in its state is CONFLICT (409), a bad job file JOB_INVALID (400), bad data
    DATA_INVALID (400). Any other exception is a 500 whose text stays in the node's log.

    Users and tokens are not here: the API asks the store. `user` arguments name the
    authenticated caller for the node's records and audit log; the API has already checked the
    caller may do what it asks (see `chaihuo.flow.api` for the policy).
    """

    party_id: str

    def status(self) -> NodeStatus:
        """Party id, version, uptime, peers, running and queued work, the store's kind."""
        ...

    def submit_job(self, job_yaml: str, *, user: str, request_id: str | None) -> JobView:
        """Check and start a job this node initiates; the same `request_id` returns that job."""
        ...

    def list_jobs(self, *, limit: int, offset: int, states: list[str] | None) -> list[JobView]:
        """This node's jobs, newest first, optionally only those in `states`."""
        ...

    def get_job(self, job_id: str) -> JobView:
        """One job with every party's tasks."""
        ...

    def stop_job(self, job_id: str, *, user: str) -> JobView:
        """Stop a job on every party (CONFLICT when it already ended)."""
        ...

    def rerun_job(self, job_id: str, *, user: str) -> JobView:
        """Rerun a failed or canceled job from its unfinished components."""
        ...

    def job_logs(self, job_id: str, *, component: str | None, offset: int, limit: int) -> LogChunk:
        """Up to `limit` characters of this party's task logs from `offset`."""
        ...

    def job_metrics(self, job_id: str) -> list[MetricView]:
        """The metrics this party's tasks logged."""
        ...

    def job_dag(self, job_id: str) -> DagView:
        """The job's components, their wiring and each one's state per party."""
        ...

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
        """Store a CSV or Parquet file read from `source` (a stream: read it in chunks).

        `format` None means: guess from `filename`. The schema is detected; `id_column` and
        `label_column` must name columns of it (DATA_INVALID otherwise).
        """
        ...

    def list_tables(self, namespace: str | None) -> list[TableView]:
        """Every table, or those of one namespace."""
        ...

    def get_table(self, namespace: str, name: str) -> TableView:
        """One table's record: schema, id and label columns, rows, size, sha256, format."""
        ...

    def table_path(self, namespace: str, name: str) -> Path:
        """The file holding the table as uploaded, for download."""
        ...

    def delete_table(self, namespace: str, name: str) -> TableView:
        """Remove a table; returns the record it had."""
        ...

    def list_models(self) -> list[ModelView]:
        """Every model of this node's registry."""
        ...

    def get_model(self, model_id: str) -> ModelView:
        """One model by `JOB_ID/COMPONENT`."""
        ...

    def export_model(self, model_id: str) -> bytes:
        """A portable archive of the model: a zip of JSON and .npz files, never a pickle."""
        ...

    def import_model(self, archive: bytes) -> ModelView:
        """Register a model from an archive made by `export_model` (CONFLICT if present)."""
        ...
