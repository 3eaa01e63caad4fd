"""`chaihuo run`: every party of a job on this machine, one process each, gRPC + mTLS."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from chaihuo.components import (
    ComponentTask,
    ComputingPlan,
    FederationPlan,
    PartyTask,
    Registry,
    check_security,
    remove_stale_spill,
)
from chaihuo.core import ChaihuoError, ConfigError, PartyId, Role
from chaihuo.federation import make_local_pki
from chaihuo.flow._dsl import JobFile, JobInvalidError, load_job_file, topological_order
from chaihuo.flow._plan import resolve_job
from chaihuo.flow._summary import JobSummary, summarise
from chaihuo.flow._supervise import EventTail, Interrupts, PartyProcess, launch, supervise

__all__ = ["JobSummary", "plan_tasks", "run_job_locally"]


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
    computing: Mapping[str, ComputingPlan] | None = None,
) -> list[PartyTask]:
    """One PartyTask per party id, with certificates made in work_dir/pki unless insecure;
    `computing` gives a party another backend than the local pool (Spark, say)."""
    if insecure and profile != "dev":
        raise ConfigError(
            "--insecure (plaintext gRPC) is refused by the production profile; "
            "set CHAIHUO_PROFILE=dev for development"
        )
    roles = _roster_roles(job)
    resolved = resolve_job(job, registry, roles)
    try:  # refuse weak crypto up front, before any party process starts
        check_security(job.security, "dev" if profile == "dev" else "prod")
    except ChaihuoError as exc:
        raise JobInvalidError(f"{job_path}: {exc}") from exc
    party_ids = list(dict.fromkeys(pid for ids in roles.values() for pid in ids))
    backends = dict(computing or {})
    if unknown := sorted(set(backends) - set(party_ids)):
        raise ConfigError(f"computing set for {', '.join(unknown)}: not a party of this job "
                          f"(parties: {', '.join(party_ids)})")  # fmt: skip
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
            params = {role: raw for (role, owner), raw in resolved[cid].items() if owner == pid}
            if params:
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
                computing=backends.get(pid, ComputingPlan()),
            )
        )
    return tasks


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    """Everything the launcher writes (tasks, certificates, logs) is readable by its user only."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _sweep_spill(work_root: Path) -> None:
    """Spill data of earlier runs under `work_root` whose workers were killed."""
    for tmp_root in work_root.glob("*/*/data/tmp"):
        remove_stale_spill(tmp_root)


def run_job_locally(
    job_path: Path,
    registry: Registry,
    *,
    work_root: Path | None = None,
    insecure: bool = False,
    profile: str = "prod",
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    computing: Mapping[str, ComputingPlan] | None = None,
) -> JobSummary:
    """Validate, plan, launch one worker per party, follow progress, and summarise.

    SIGINT or SIGTERM during the run stop every worker (see `chaihuo.flow._supervise`) and
    give a summary with status "canceled" and `signal` set."""
    job = load_job_file(job_path)
    root = (work_root or job_path.parent / ".chaihuo-runs").resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work_dir = root / f"{job.name}-{stamp}-{uuid.uuid4().hex[:4]}"
    with _private_files():
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        _sweep_spill(root)
        work_dir.mkdir(mode=0o700)
        try:
            tasks = plan_tasks(
                job, job_path, work_dir, registry, insecure=insecure, profile=profile,
                computing=computing,
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)  # a refused job leaves nothing behind
            raise
        roles = {
            pid: [role.value for role, ids in _roster_roles(job).items() if pid in ids]
            for pid in (t.party_id for t in tasks)
        }
        interrupts = Interrupts()
        with interrupts.installed():
            parties: list[PartyProcess] = []
            for task in tasks:
                if interrupts.signal is None:
                    parties.append(launch(task, roles[task.party_id]))
            supervise(parties, EventTail(on_event), interrupts)
        for party in parties:
            remove_stale_spill(party.directory / "data" / "tmp")
    return summarise(
        job.name,
        topological_order(job),
        parties,
        work_dir=str(work_dir),
        interrupted=interrupts.signal,
    )
