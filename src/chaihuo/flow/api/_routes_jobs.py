"""REST routes of the node's status and jobs: submit, list, show, stop, rerun, logs, metrics."""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at
# definition time, and they name the closure's `Auth` dependency.

from collections.abc import Callable
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from chaihuo.flow.api._auth import Principal
from chaihuo.flow.api._errors import ApiForbiddenError
from chaihuo.flow.api._schemas import (
    NAME_PATTERN,
    DagView,
    JobSubmit,
    JobView,
    LogChunk,
    MetricView,
    NodeStatus,
    State,
)
from chaihuo.flow.api._services import NodeServices

__all__ = ["MAX_LOG_CHUNK", "jobs_router"]

MAX_LOG_CHUNK: Final = 1_048_576
JobId = Annotated[str, PathParam(pattern=NAME_PATTERN, description="The job's id.")]


def _may_control(principal: Principal, job: JobView) -> None:
    """Stop and rerun: the user who submitted the job here, or an admin of this node."""
    if principal.admin or (job.owner is not None and job.owner == principal.name):
        return
    raise ApiForbiddenError(
        f"only the user who submitted job {job.job_id} or an admin may stop or rerun it"
    )


def jobs_router(services: NodeServices, authenticate: Callable[..., Principal]) -> APIRouter:
    """The routes under /status and /jobs, each behind `authenticate`."""
    router = APIRouter(tags=["jobs"])
    Auth = Annotated[Principal, Depends(authenticate)]

    @router.get("/status", tags=["node"])
    def node_status(principal: Auth) -> NodeStatus:
        """This node: party id, version, uptime, peers, running and queued work."""
        return services.status()

    @router.post("/jobs", status_code=201)
    def submit_job(body: JobSubmit, principal: Auth) -> JobView:
        """Check and start a job; resubmitting with the same `request_id` returns the first."""
        return services.submit_job(body.job, user=principal.name, request_id=body.request_id)

    @router.get("/jobs")
    def list_jobs(
        principal: Auth,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
        state: Annotated[
            list[State] | None, Query(description="Only jobs in these states.")
        ] = None,
    ) -> list[JobView]:
        """This node's jobs, newest first."""
        states = [str(s) for s in state] if state else None
        return services.list_jobs(limit=limit, offset=offset, states=states)

    @router.get("/jobs/{job_id}")
    def get_job(job_id: JobId, principal: Auth) -> JobView:
        """One job with every party's tasks."""
        return services.get_job(job_id)

    @router.post("/jobs/{job_id}/stop")
    def stop_job(job_id: JobId, principal: Auth) -> JobView:
        """Stop the job on every party."""
        _may_control(principal, services.get_job(job_id))
        return services.stop_job(job_id, user=principal.name)

    @router.post("/jobs/{job_id}/rerun")
    def rerun_job(job_id: JobId, principal: Auth) -> JobView:
        """Rerun a failed or canceled job from its unfinished components."""
        _may_control(principal, services.get_job(job_id))
        return services.rerun_job(job_id, user=principal.name)

    @router.get("/jobs/{job_id}/logs")
    def job_logs(
        job_id: JobId,
        principal: Auth,
        component: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LOG_CHUNK)] = 65_536,
    ) -> LogChunk:
        """This party's task logs, a chunk at a time."""
        return services.job_logs(job_id, component=component, offset=offset, limit=limit)

    @router.get("/jobs/{job_id}/metrics")
    def job_metrics(job_id: JobId, principal: Auth) -> list[MetricView]:
        """The metrics this party's tasks logged."""
        return services.job_metrics(job_id)

    @router.get("/jobs/{job_id}/dag")
    def job_dag(job_id: JobId, principal: Auth) -> DagView:
        """Components, their wiring and each one's state per party."""
        return services.job_dag(job_id)

    return router
