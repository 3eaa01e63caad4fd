"""`chaihuo run`: every party of a job on this machine, one process each, gRPC + mTLS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaihuo.components import (
    ComponentTask,
    FederationPlan,
    PartyResult,
    PartyTask,
    Registry,
    check_security,
)
from chaihuo.core import ChaihuoError, ConfigError, PartyId, Role
from chaihuo.federation import make_local_pki
from chaihuo.flow._dsl import (
    JobFile,
    JobInvalidError,
    load_job_file,
    topological_order,
    validate_job,
)

__all__ = ["JobSummary", "run_job_locally"]

_POLL_S = 0.2
_FAILURE_GRACE_S = 3.0  # lets the other parties record the failure they observed


@dataclass
class JobSummary:
    """What `chaihuo run --json` prints last: job status and each component's outcome."""

    job: str
    status: str
    error: str | None
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    work_dir: str = ""

    def to_json(self) -> str:
        """The one JSON line of DESIGN §6."""
        return json.dumps(
            {
                "job": self.job,
                "status": self.status,
                "error": self.error,
                "components": self.components,
            }
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _roster_roles(job: JobFile) -> dict[Role, list[str]]:
    return {role: [str(pid) for pid in ids] for role, ids in job.roster.roles}


def plan_tasks(
    job: JobFile,
    job_path: Path,
    work_dir: Path,
    registry: Registry,
    *,
    insecure: bool,
    profile: str,
) -> list[PartyTask]:
    """One PartyTask per party id, with certificates made in work_dir/pki unless insecure."""
    if insecure and profile != "dev":
        raise ConfigError(
            "--insecure (plaintext gRPC) is refused by the production profile; "
            "set CHAIHUO_PROFILE=dev for development"
        )
    roles = _roster_roles(job)
    validate_job(job, registry, roles)
    try:  # refuse weak crypto up front, before any party process starts
        check_security(job.security, "dev" if profile == "dev" else "prod")
    except ChaihuoError as exc:
        raise JobInvalidError(f"{job_path}: {exc}") from exc
    party_ids = list(dict.fromkeys(pid for ids in roles.values() for pid in ids))
    ports = {pid: _free_port() for pid in party_ids}
    addresses = {pid: f"127.0.0.1:{port}" for pid, port in ports.items()}
    tls = {} if insecure else make_local_pki(work_dir / "pki", party_ids)
    job_id = f"{job.name}-{uuid.uuid4().hex[:8]}"
    order = topological_order(job)
    tasks = []
    for pid in party_ids:
        components = []
        for cid in order:
            entry = job.components[cid]
            spec = registry.get(entry.component)
            runs_on = [r for r in (entry.roles or list(spec.roles)) if pid in roles.get(r, [])]
            if runs_on:
                params = {role: entry.params_for(role, pid) for role in runs_on}
                components.append(
                    ComponentTask(
                        id=cid, component=entry.component, inputs=entry.inputs, params=params
                    )
                )
        party_tls = tls.get(PartyId(pid))
        plan = FederationPlan(
            listen=addresses[pid],
            addresses=addresses,
            ca_cert=party_tls.ca_cert if party_tls else None,
            cert=party_tls.cert if party_tls else None,
            key=party_tls.key if party_tls else None,
            insecure=insecure,
        )
        tasks.append(
            PartyTask(
                job_id=job_id,
                job_name=job.name,
                party_id=pid,
                roster={role.value: ids for role, ids in roles.items()},
                security=job.security,
                components=components,
                work_dir=work_dir,
                base_dir=job_path.parent.resolve(),
                timeout_s=job.timeout_s,
                profile="dev" if profile == "dev" else "prod",
                federation=plan,
            )
        )
    return tasks


def _launch(task: PartyTask) -> subprocess.Popen[bytes]:
    party_dir = task.work_dir / task.party_id
    party_dir.mkdir(parents=True, exist_ok=True)
    task_file = party_dir / "task.json"
    task_file.write_text(task.model_dump_json(indent=2), encoding="utf-8")
    log = (party_dir / "worker.log").open("wb")
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "chaihuo.components._worker", str(task_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _tail_events(
    tasks: list[PartyTask], seen: dict[str, int], on_event: Callable[[dict[str, Any]], None]
) -> None:
    for task in tasks:
        path = task.work_dir / task.party_id / "events.jsonl"
        if not path.exists():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for line in lines[seen.get(task.party_id, 0) :]:
            on_event({"party": task.party_id, **json.loads(line)})
        seen[task.party_id] = len(lines)


def run_job_locally(
    job_path: Path,
    registry: Registry,
    *,
    work_root: Path | None = None,
    insecure: bool = False,
    profile: str = "prod",
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
) -> JobSummary:
    """Validate, plan, launch one worker per party, follow progress, and summarise."""
    job = load_job_file(job_path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work_dir = (
        work_root or job_path.parent / ".chaihuo-runs"
    ) / f"{job.name}-{stamp}-{uuid.uuid4().hex[:4]}"
    work_dir.mkdir(parents=True, exist_ok=True)
    tasks = plan_tasks(
        job, job_path, work_dir.resolve(), registry, insecure=insecure, profile=profile
    )
    processes = {task.party_id: _launch(task) for task in tasks}
    seen: dict[str, int] = {}
    failed_at: float | None = None
    while any(p.poll() is None for p in processes.values()):
        _tail_events(tasks, seen, on_event)
        if failed_at is None and any(p.poll() not in (None, 0) for p in processes.values()):
            failed_at = time.monotonic()
        if failed_at is not None and time.monotonic() - failed_at > _FAILURE_GRACE_S:
            # Peers of a failed party would otherwise wait for their receive deadline.
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
        time.sleep(_POLL_S)
    _tail_events(tasks, seen, on_event)
    return _summarise(job, tasks, processes, work_dir)


def _summarise(
    job: JobFile,
    tasks: list[PartyTask],
    processes: dict[str, subprocess.Popen[bytes]],
    work_dir: Path,
) -> JobSummary:
    results: dict[str, PartyResult] = {}
    errors: list[str] = []
    for task in tasks:
        path = task.work_dir / task.party_id / "result.json"
        if path.exists():
            results[task.party_id] = PartyResult.model_validate_json(
                path.read_text(encoding="utf-8")
            )
            if results[task.party_id].error:
                errors.append(f"party {task.party_id}: {results[task.party_id].error}")
        elif processes[task.party_id].returncode:
            log = task.work_dir / task.party_id / "worker.log"
            code = processes[task.party_id].returncode
            errors.append(f"party {task.party_id} exited with {code} (see {log})")
    guest_ids = _roster_roles(job).get(Role.GUEST, [])
    components: dict[str, dict[str, Any]] = {}
    for cid in topological_order(job):
        outcomes = [
            (pid, role, o)
            for pid, r in results.items()
            for role, o in r.components.get(cid, {}).items()
        ]
        if not outcomes:
            components[cid] = {"status": "not_run", "metrics": {}, "outputs": {}}
            continue
        view = next(
            (o for pid, role, o in outcomes if role == Role.GUEST and pid in guest_ids),
            outcomes[0][2],
        )
        status = "success" if all(o.status == "success" for _, _, o in outcomes) else "failed"
        components[cid] = {"status": status, "metrics": view.metrics, "outputs": view.outputs}
    ok = not errors and all(c["status"] == "success" for c in components.values())
    return JobSummary(
        job=job.name,
        status="success" if ok else "failed",
        error=None if ok else ("; ".join(errors) or "a component did not finish"),
        components=components,
        work_dir=str(work_dir),
    )
