"""A node's view of one job: its plan from the job file, its local checks, its task files."""

# Every party of a job holds the same job file (the initiator sends its text with the
# proposal) and derives the same plan from it with the same checks `chaihuo run` makes: the
# components and their versions, the roles, the parameters, the data flow. On top of that each
# node checks its own part: it takes part in the job, the tables and models its components
# name are in its registries, and its permission policy lets the initiator start them.
# Tables (`table: namespace/name`) and models (`model: JOB_ID/COMPONENT`) are resolved to this
# node's files only when a task is launched, so a plan never carries a local path.

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from chaihuo.components import ComponentTask, FederationPlan, ParamsByParty, PartyTask, Registry
from chaihuo.components._task import InputFile
from chaihuo.core import ChaihuoError, Role
from chaihuo.flow._dsl import JobFile, JobInvalidError, topological_order
from chaihuo.flow._lifecycle_events import ComponentNode, JobSubmitted
from chaihuo.flow._plan import resolve_job
from chaihuo.flow.node._config import NodeFileConfig
from chaihuo.flow.store import NotFoundError, Store

__all__ = [
    "JobPlan",
    "PermissionRefusedError",
    "check_local_part",
    "federation_job_id",
    "job_folder",
    "parse_job",
    "task_folder",
    "task_for",
]


def federation_job_id(job_id: str, attempt: int) -> str:
    """The federation namespace of one attempt: a rerun's messages never meet the last one's."""
    return f"{job_id}-a{attempt}"


@dataclass(frozen=True)
class JobPlan:
    """A job as every party derives it from the job file."""

    job_id: str
    yaml: str
    job: JobFile
    params: dict[str, ParamsByParty]
    registry: Registry

    @property
    def roles(self) -> dict[str, list[str]]:
        """role → party ids."""
        return {role.value: [str(pid) for pid in ids] for role, ids in self.job.roster.roles}

    @property
    def parties(self) -> list[str]:
        """Every party id, in roster order."""
        return list(dict.fromkeys(pid for ids in self.roles.values() for pid in ids))

    def roles_of(self, party: str) -> list[str]:
        """The roles `party` plays."""
        return [role for role, ids in self.roles.items() if party in ids]

    @property
    def versions(self) -> dict[str, str]:
        """Component name → version, for the components this job uses."""
        names = {entry.component for entry in self.job.components.values()}
        return {name: self.registry.get(name).version for name in sorted(names)}

    def runs_on(self, component: str, party: str) -> dict[Role, dict[str, Any]]:
        """The raw params of each role `party` plays in `component` (empty: it does not run)."""
        return {
            role: raw for (role, owner), raw in self.params[component].items() if owner == party
        }

    def components(self) -> tuple[ComponentNode, ...]:
        """The DAG as the lifecycle machine sees it."""
        nodes = []
        for cid in topological_order(self.job):
            entry = self.job.components[cid]
            upstream = tuple(dict.fromkeys(ref.split(".")[0] for ref in entry.inputs.values()))
            parties = tuple(dict.fromkeys(owner for _, owner in self.params[cid]))
            nodes.append(ComponentNode(cid, upstream, parties))
        return tuple(nodes)

    def submitted(
        self, *, party: str, initiator: str, request_id: str, at: float, timeout_s: float
    ) -> JobSubmitted:
        """The lifecycle's first event for this job on `party`."""
        return JobSubmitted(
            job_id=self.job_id, request_id=request_id, party=party, initiator=initiator,
            parties=tuple(self.parties), components=self.components(),
            timeout_s=timeout_s, at=at,
        )  # fmt: skip


def parse_job(job_id: str, text: str, registry: Registry) -> JobPlan:
    """Parse and check a job file's text (as `chaihuo run` does) into its plan."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JobInvalidError(f"the job file is not valid YAML: {exc}", public=True) from exc
    if not isinstance(raw, dict):
        raise JobInvalidError("a job file is a YAML mapping", public=True)
    try:
        job = JobFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise JobInvalidError(f"job file: {problems}", public=True) from exc
    try:
        roles = {role: [str(pid) for pid in ids] for role, ids in job.roster.roles}
    except ChaihuoError as exc:
        raise JobInvalidError(f"parties: {exc}", public=True) from exc
    params = resolve_job(job, registry, roles)
    return JobPlan(job_id, text, job, params, registry)


def check_local_part(
    plan: JobPlan, config: NodeFileConfig, store: Store, *, initiator: str
) -> None:
    """This node's own checks of a job: it takes part, it can reach every other party, the
    initiator may start its components here, and the tables and models they name exist."""
    me = config.party_id
    if me not in plan.parties:
        raise JobInvalidError(f"party {me} (this node) is not in the job's parties", public=True)
    unknown = [pid for pid in plan.parties if pid != me and pid not in config.peers]
    if unknown:
        raise JobInvalidError(
            f"party {me} does not know parties {unknown}: add them under peers in node.yaml",
            public=True,
        )
    for cid, entry in plan.job.components.items():
        local = plan.runs_on(cid, me)
        if not local:
            continue
        if initiator != me and not config.may_start(initiator, entry.component):
            raise PermissionRefusedError(
                f"party {me}'s policy does not let party {initiator} start {entry.component} "
                f"({cid}) here", public=True,
            )  # fmt: skip
        for raw in local.values():
            if raw.get("table"):
                namespace, name = str(raw["table"]).split("/", 1)
                with _must_exist(f"table {raw['table']}", me):
                    store.get_table(namespace, name)
        if entry.model is not None:
            model_job, model_component = entry.model.split("/", 1)
            for role in local:
                with _must_exist(f"model {entry.model} ({role.value} part)", me):
                    store.get_model(model_job, model_component, role.value)


@contextlib.contextmanager
def _must_exist(what: str, party: str) -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        raise JobInvalidError(f"party {party} has no {what}", public=True) from exc


class PermissionRefusedError(ChaihuoError):
    """A node's permission policy does not let the initiator start a component there."""

    code = "FORBIDDEN"


def _resolve_params(raw: Mapping[str, Any], store: Store) -> dict[str, Any]:
    """A reader's `table: ns/name` as this node's file, id and label columns."""
    params = dict(raw)
    table = params.pop("table", None)
    if table:
        namespace, name = str(table).split("/", 1)
        record = store.get_table(namespace, name)
        params["path"] = record.path
        params.setdefault("id", record.id_column)
        if record.label_column and "label" not in raw:
            params["label"] = record.label_column
        params["format"] = record.format
    return params


def task_for(
    plan: JobPlan,
    component: str,
    attempt: int,
    *,
    config: NodeFileConfig,
    store: Store,
    gateway: str,
    token: str,
) -> PartyTask:
    """The worker's task file for one component of a job on this party."""
    me, entry = config.party_id, plan.job.components[component]
    params = {
        role: _resolve_params(raw, store) for role, raw in plan.runs_on(component, me).items()
    }
    external: dict[Role, dict[str, InputFile]] = {}
    if entry.model is not None:
        model_job, model_component = entry.model.split("/", 1)
        for role in params:
            record = store.get_model(model_job, model_component, role.value)
            external[role] = {
                "model": InputFile(directory=Path(record.path).parent, output="model")
            }
    work_dir = job_folder(config, plan.job_id)
    return PartyTask(
        job_id=federation_job_id(plan.job_id, attempt), job_name=plan.job.name, party_id=me,
        roster=plan.roles, security=dict(plan.job.security),
        components=[ComponentTask(id=component, component=entry.component,
                                  inputs=entry.inputs, params=params)],
        work_dir=work_dir, base_dir=work_dir, timeout_s=plan.job.timeout_s,
        profile=config.profile, federation=FederationPlan(gateway=gateway, token=token),
        report_dir=task_folder(config, plan.job_id, component), upstream_on_disk=True,
        external_inputs=external, computing=config.computing.plan(),
    )  # fmt: skip


def job_folder(config: NodeFileConfig, job_id: str) -> Path:
    """Where a job's task outputs live on this node."""
    return (config.data_dir / "jobs" / job_id).resolve()


def task_folder(config: NodeFileConfig, job_id: str, component: str) -> Path:
    """One task's task file, log, events, metrics and result."""
    return job_folder(config, job_id) / config.party_id / "tasks" / component
