"""`chaihuo node`: one party's long-lived service — gRPC (federation, control), REST, driver."""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from chaihuo import __version__
from chaihuo.components import Registry
from chaihuo.components.builtin import default_registry
from chaihuo.core import CATALOG, ChaihuoError, InvalidInputError
from chaihuo.federation import GrpcNode, NodeConfig, TlsConfig
from chaihuo.flow._lifecycle_events import (
    FINAL,
    NODE_RESTARTED,
    Event,
    JobStarted,
    JobSubmitted,
    PeerEnded,
    PeerFailed,
    PeerTaskState,
    RerunRequested,
    State,
    StopRequested,
)
from chaihuo.flow._lifecycle_node import NodeScheduler
from chaihuo.flow.api._schemas import (
    DagView,
    JobView,
    LogChunk,
    MetricView,
    ModelView,
    NodeStatus,
    PeerView,
    TableFormat,
    TableView,
)
from chaihuo.flow.node._config import NodeFileConfig
from chaihuo.flow.node._control import (
    ControlClient,
    ControlRequest,
    ControlService,
    Ping,
    Propose,
    Reply,
    Report,
    Rerun,
    Start,
    Stop,
)
from chaihuo.flow.node._driver import Driver
from chaihuo.flow.node._jobs import (
    JobPlan,
    PermissionRefusedError,
    check_local_part,
    job_folder,
    parse_job,
    task_folder,
)
from chaihuo.flow.node._registry import ModelRegistry, TableRegistry
from chaihuo.flow.node._tasks import TaskExit
from chaihuo.flow.node._views import dag_view, job_view, log_chunk, metric_rows, metric_views
from chaihuo.flow.store import ConflictError, JobRecord, NotFoundError, Store

__all__ = ["Node"]

_log = logging.getLogger("chaihuo.node")


class Node:
    """One party's node (docs/node.md): construct, `start()`, serve, `stop()`."""

    def __init__(self, config: NodeFileConfig, *, registry: Registry | None = None) -> None:
        self.config, self.party_id = config, config.party_id
        self.registry = registry or default_registry()
        self._plans: dict[str, JobPlan] = {}
        self._plans_lock = threading.Lock()
        self._started = time.time()
        self._http: Any = None
        self.http_url = ""

    # -- life --------------------------------------------------------------------------------

    def start(self) -> Node:
        """Open the store (refused if another node holds it), serve gRPC and REST, and take
        back the jobs a previous run of this node left (failed as "the node restarted")."""
        config = self.config
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store = Store.open(config.store_url, owner=f"node of party {self.party_id}")
        tls = None
        if config.tls is not None:
            pinned = {party: peer.ca for party, peer in config.peers.items() if peer.ca is not None}
            tls = TlsConfig(ca_cert=config.tls.ca, cert=config.tls.cert, key=config.tls.key,
                            denylist=config.tls.denylist, issuers=pinned)  # fmt: skip
        self.grpc = GrpcNode(NodeConfig(party_id=self.party_id, listen=config.listen.grpc,
                                        tls=tls, insecure=config.insecure,
                                        profile=config.profile))  # fmt: skip
        control = ControlService(self.party_id, self._control, authenticate=tls is not None,
                                 issuers=self.grpc.issuers)  # fmt: skip
        self.grpc.add_handlers([control.handler()])
        self.grpc.start()
        self.gateway = self.grpc.gateway()
        self.client = ControlClient(self.grpc, {p: v.address for p, v in config.peers.items()})
        self.tables = TableRegistry(self.store, config.data_dir)
        self.models = ModelRegistry(self.store, self.party_id, config.data_dir)
        self.driver = Driver(config, store=self.store, client=self.client, gateway=self.gateway,
                             plan_of=self.plan, on_task_end=self._task_done)  # fmt: skip
        self.driver.start()
        self.driver.restore_jobs(self._resubmitted)
        self._bootstrap_admin()
        self._serve_http()
        return self

    @property
    def admin_token_file(self) -> Path:
        """Where the first start writes the first admin's token (0600, read it once)."""
        return self.config.data_dir / "admin-token"

    def _bootstrap_admin(self) -> None:
        """A node without users gets one admin, `admin`, whose token is written to
        `admin_token_file`: the operator creates every other user and token with it."""
        if self.store.list_users():
            return
        self.store.create_user("admin", admin=True)
        _, token = self.store.create_token("admin", expires_in_s=None, label="bootstrap")
        self.admin_token_file.write_text(token + "\n", encoding="utf-8")
        self.admin_token_file.chmod(0o600)

    def stop(self) -> None:
        """Stop the REST server, every task process, the driver and the gRPC server."""
        if self._http is not None:
            self._http.should_exit = True
        self.driver.stop()
        self.grpc.stop(grace=1.0)
        self.store.close()

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def grpc_address(self) -> str:
        """host:port partners reach this node at."""
        return self.grpc.address

    def _serve_http(self) -> None:
        import uvicorn  # noqa: PLC0415 - the server only where a node runs

        from chaihuo.flow.api import create_app  # noqa: PLC0415

        host, port = self.config.listen.http.rsplit(":", 1)
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that name it, and
        # without it every response waits out the client's delayed ACK (about 40 ms)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
        app = create_app(self, self.store, auth=self.config.rest.auth,
                         title=f"chaihuo node {self.party_id}")  # fmt: skip
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                               access_log=False))  # fmt: skip
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name="rest", daemon=True)  # fmt: skip
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ChaihuoError(f"the REST server did not start on {self.config.listen.http}")
            time.sleep(0.01)
        self._http = server
        bound = sock.getsockname()
        self.http_url = f"http://{bound[0]}:{bound[1]}"

    # -- plans -------------------------------------------------------------------------------

    def plan(self, job_id: str) -> JobPlan:
        """A job's plan, parsed again from its stored job file when not in memory."""
        with self._plans_lock:
            found = self._plans.get(job_id)
        if found is None:
            record = self.store.get_job(job_id)
            found = parse_job(job_id, record.job_yaml, self.registry)
            with self._plans_lock:
                self._plans[job_id] = found
        return found

    def _submitted(self, plan: JobPlan, initiator: str, request: str) -> JobSubmitted:
        return plan.submitted(party=self.party_id, initiator=initiator, request_id=request,
                              at=time.time(), timeout_s=self.config.job_timeout_s)  # fmt: skip

    def _resubmitted(self, record: JobRecord) -> JobSubmitted:
        plan = self.plan(record.job_id)
        request = record.client_request_id or record.job_id
        return self._submitted(plan, record.initiator_party, f"{record.initiator_party}:{request}")

    def _admit(self, plan: JobPlan, record: JobRecord) -> JobRecord:
        """Store a new job and hand it to the lifecycle (idempotent by request id)."""
        stored, created = self.store.create_job(record)
        if created:
            with self._plans_lock:
                self._plans[plan.job_id] = plan
            request = f"{record.initiator_party}:{record.client_request_id}"
            submitted = self._submitted(plan, record.initiator_party, request)

            def submit(scheduler: NodeScheduler) -> tuple[str, list[Any]]:
                outcome = scheduler.submit(submitted)
                return outcome.job_id, list(outcome.actions)

            self.driver.call(submit)
        return stored

    # -- control (partners) ------------------------------------------------------------------

    def _control(self, sender: str, request: ControlRequest) -> Reply:
        if isinstance(request, Ping):
            return self._reply()
        if isinstance(request, Propose):
            return self._proposed(sender, request)
        record = self._known(request.job_id)
        plan = self.plan(request.job_id)
        if sender not in plan.parties:
            raise PermissionRefusedError(f"party {sender} is not in job {request.job_id}")
        initiator = record.initiator_party
        event: Event
        if isinstance(request, Start | Rerun) and sender != initiator:
            raise PermissionRefusedError(
                f"only the initiator starts or reruns job {request.job_id}"
            )
        if isinstance(request, Start):
            event = JobStarted(job_id=request.job_id, at=time.time())
        elif isinstance(request, Rerun):
            event = RerunRequested(job_id=request.job_id, attempt=request.attempt,
                                   redo=frozenset(request.redo), at=time.time())  # fmt: skip
        elif isinstance(request, Stop):
            event = PeerEnded(job_id=request.job_id, party=sender, state=State.CANCELED,
                              attempt=record.attempt, at=time.time())  # fmt: skip
        else:
            event = self._reported(sender, initiator, request)
        self.driver.post(event)
        return self._reply()

    def _reported(self, sender: str, initiator: str, report: Report) -> Event:
        state = State(report.state)
        if not report.notice:
            if report.component is None:
                raise InvalidInputError("a task report names its component")
            return PeerTaskState(job_id=report.job_id, party=sender, component=report.component,
                                 state=state, attempt=report.attempt, at=time.time())  # fmt: skip
        party = report.origin if (report.origin and sender == initiator) else sender
        if state is State.FAILED:
            known = report.code in CATALOG or report.code == NODE_RESTARTED
            code = report.code if known and report.code else "INTERNAL"
            return PeerFailed(job_id=report.job_id, party=party, component=report.component,
                              code=code, attempt=report.attempt, at=time.time())  # fmt: skip
        return PeerEnded(job_id=report.job_id, party=party, state=state, attempt=report.attempt,
                         at=time.time())  # fmt: skip

    def _proposed(self, sender: str, request: Propose) -> Reply:
        with contextlib.suppress(NotFoundError):
            self.store.get_job(request.job_id)
            return self._reply()  # a repeated proposal
        plan = parse_job(request.job_id, request.job_yaml, self.registry)
        if plan.versions != request.versions:
            raise InvalidInputError(
                f"component versions differ: party {sender} uses {request.versions}, party "
                f"{self.party_id} has {plan.versions}", public=True,
            )  # fmt: skip
        if sender not in plan.parties:
            raise PermissionRefusedError(f"party {sender} proposes a job it is not part of")
        check_local_part(plan, self.config, self.store, initiator=sender)
        self._admit(plan, JobRecord(
            job_id=request.job_id, name=plan.job.name, initiator_party=sender,
            roles=tuple(plan.roles_of(self.party_id)), job_yaml=request.job_yaml,
            client_request_id=request.request_id or request.job_id,
            plan_json=_plan_json(plan),
        ))  # fmt: skip
        return self._reply()

    def _reply(self) -> Reply:
        return Reply(ok=True, party=self.party_id)

    def _known(self, job_id: str) -> JobRecord:
        try:
            return self.store.get_job(job_id)
        except NotFoundError as exc:
            raise InvalidInputError(
                f"party {self.party_id} has no job {job_id}", public=True
            ) from exc

    # -- tasks -------------------------------------------------------------------------------

    def _task_done(self, end: TaskExit, plan: JobPlan) -> None:
        """A task succeeded: keep its metrics and outputs, register the models it trained."""
        entry = plan.job.components[end.component]
        folder = task_folder(self.config, end.job_id, end.component)
        self.store.add_metrics(end.job_id, end.component,
                               metric_rows(folder / "metrics.jsonl", end.component))  # fmt: skip
        outputs = job_folder(self.config, end.job_id) / self.party_id
        roles = {role.value: outputs / role.value / end.component
                 for role in plan.runs_on(end.component, self.party_id)}  # fmt: skip
        version = self.registry.get(entry.component).version
        self.models.register_outputs(end.job_id, end.component, entry.component, version, roles)

    # -- NodeServices: jobs --------------------------------------------------------------------

    def status(self) -> NodeStatus:
        peers = self._probe()
        jobs = self.driver.scheduler.jobs
        return NodeStatus(
            party_id=self.party_id, version=__version__, profile=self.config.profile,
            started_at=datetime.fromtimestamp(self._started, tz=UTC),
            uptime_s=time.time() - self._started, peers=peers,
            running_tasks=len(self.driver.tasks.running()),
            queued_tasks=len(self.driver.scheduler.queued),
            running_jobs=sum(1 for m in jobs.values() if m.state not in FINAL),
            store=_store_kind(self.config.store_url),
        )  # fmt: skip

    def _probe(self) -> list[PeerView]:
        def ping(party: str) -> bool:
            try:
                return self.client.call(party, Ping(sender=self.party_id), timeout_s=2.0).ok
            except ChaihuoError:
                return False

        parties = sorted(self.config.peers)
        with ThreadPoolExecutor(max(1, len(parties))) as pool:
            reachable = list(pool.map(ping, parties))
        return [PeerView(party_id=p, address=self.config.peers[p].address, reachable=r)
                for p, r in zip(parties, reachable, strict=True)]  # fmt: skip

    def submit_job(self, job_yaml: str, *, user: str, request_id: str | None) -> JobView:
        job_id = f"j{time.strftime('%Y%m%d%H%M%S')}{secrets.token_hex(3)}"
        plan = parse_job(job_id, job_yaml, self.registry)
        check_local_part(plan, self.config, self.store, initiator=self.party_id)
        record = self._admit(plan, JobRecord(
            job_id=job_id, name=plan.job.name, initiator_party=self.party_id,
            roles=tuple(plan.roles_of(self.party_id)), job_yaml=job_yaml,
            client_request_id=request_id or job_id, user=user, plan_json=_plan_json(plan),
        ))  # fmt: skip
        return self.get_job(record.job_id)

    def list_jobs(self, *, limit: int, offset: int, states: list[str] | None) -> list[JobView]:
        records = self.store.list_jobs(limit=limit, offset=offset, states=states)
        return [job_view(self.store, r, self.plan(r.job_id), self.party_id) for r in records]

    def get_job(self, job_id: str) -> JobView:
        record = self.store.get_job(job_id)
        return job_view(self.store, record, self.plan(job_id), self.party_id)

    def stop_job(self, job_id: str, *, user: str) -> JobView:
        record = self.store.get_job(job_id)
        if record.state in {s.value for s in FINAL}:
            raise ConflictError(f"job {job_id} has ended ({record.state}): nothing to stop")
        self.driver.post(StopRequested(job_id=job_id, reason=f"stopped by {user}", at=time.time()))
        return self._settled(job_id, lambda view: view.done)

    def rerun_job(self, job_id: str, *, user: str) -> JobView:
        record = self.store.get_job(job_id)
        if record.initiator_party != self.party_id:
            raise InvalidInputError(
                f"job {job_id} was started by party {record.initiator_party}: rerun it there",
                public=True,
            )  # fmt: skip
        if record.state not in ("failed", "canceled", "timeout"):
            raise ConflictError(f"job {job_id} is {record.state}: only an ended, unsuccessful "
                                "job can be rerun")  # fmt: skip
        self.driver.post(RerunRequested(job_id=job_id, at=time.time()))
        return self._settled(job_id, lambda view: view.attempt > record.attempt)

    def _settled(self, job_id: str, done: Any, timeout_s: float = 10.0) -> JobView:
        deadline = time.monotonic() + timeout_s
        view = self.get_job(job_id)
        while not done(view) and time.monotonic() < deadline:
            time.sleep(0.05)
            view = self.get_job(job_id)
        return view

    def _logs(self, job_id: str) -> list[tuple[str, Path]]:
        plan = self.plan(job_id)
        return [(cid, task_folder(self.config, job_id, cid) / "worker.log")
                for cid in plan.job.components if plan.runs_on(cid, self.party_id)]  # fmt: skip

    def job_logs(self, job_id: str, *, component: str | None, offset: int, limit: int) -> LogChunk:
        self.store.get_job(job_id)
        return log_chunk(job_id, self._logs(job_id), component=component, offset=offset,
                         limit=limit)  # fmt: skip

    def job_metrics(self, job_id: str) -> list[MetricView]:
        self.store.get_job(job_id)
        return metric_views(self.store.list_metrics(job_id))

    def job_dag(self, job_id: str) -> DagView:
        record = self.store.get_job(job_id)
        return dag_view(self.store, record, self.plan(job_id), self.party_id)

    # -- NodeServices: data and models ---------------------------------------------------------

    def upload_table(self, namespace: str, name: str, source: BinaryIO, *, filename: str,
                     format: TableFormat | None, id_column: str | None,
                     label_column: str | None, replace: bool) -> TableView:  # fmt: skip
        return self.tables.upload(namespace, name, source, filename=filename, format=format,
                                  id_column=id_column, label_column=label_column,
                                  replace=replace)  # fmt: skip

    def list_tables(self, namespace: str | None) -> list[TableView]:
        return [self.tables.view(r) for r in self.store.list_tables(namespace)]

    def get_table(self, namespace: str, name: str) -> TableView:
        return self.tables.view(self.store.get_table(namespace, name))

    def table_path(self, namespace: str, name: str) -> Path:
        return Path(self.store.get_table(namespace, name).path)

    def delete_table(self, namespace: str, name: str) -> TableView:
        return self.tables.delete(namespace, name)

    def list_models(self) -> list[ModelView]:
        return self.models.list()

    def get_model(self, model_id: str) -> ModelView:
        return self.models.view(model_id)

    def export_model(self, model_id: str) -> bytes:
        return self.models.export(model_id)

    def import_model(self, archive: bytes) -> ModelView:
        return self.models.import_archive(archive)


def _plan_json(plan: JobPlan) -> str:
    import json  # noqa: PLC0415

    return json.dumps({"versions": plan.versions, "parties": plan.roles})


def _store_kind(url: str) -> str:
    if url.startswith("postgresql"):
        return "postgresql"
    return "sqlite-memory" if url in ("sqlite://", "sqlite:///:memory:") else "sqlite"


@contextlib.contextmanager
def running(config: NodeFileConfig) -> Iterator[Node]:
    """A started node for the duration of a `with` block."""
    node = Node(config).start()
    try:
        yield node
    finally:
        node.stop()
