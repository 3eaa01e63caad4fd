"""Scheduling: the job file DSL and the local launcher that runs every party of a job."""

from chaihuo.flow._dsl import (
    ComponentEntry,
    JobFile,
    JobInvalidError,
    load_job_file,
    topological_order,
)
from chaihuo.flow._local import JobSummary, plan_tasks, run_job_locally
from chaihuo.flow._plan import resolve_job, validate_job

__all__ = [
    "ComponentEntry",
    "JobFile",
    "JobInvalidError",
    "JobSummary",
    "load_job_file",
    "plan_tasks",
    "resolve_job",
    "run_job_locally",
    "topological_order",
    "validate_job",
]
