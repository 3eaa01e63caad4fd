"""The node's driver: feeds the lifecycle machine its events and performs the actions it asks."""

# One thread owns the NodeScheduler (chaihuo.flow._lifecycle_node): every event — a REST
# call, a partner's control message, a task process ending, the clock — goes through its
# queue, so the machine sees one history. Store writes happen on that thread; calls to
# partners run on a small pool and come back as events (an accepted proposal, a partner that
# could not be told). Task processes are started on the thread (spawning is quick) and their
# exits arrive from their watcher threads as events.

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chaihuo.core import CATALOG, ChaihuoError, Role, shared_reason, spec_for_exception
from chaihuo.federation import FederationSettings, Gateway, Party
from chaihuo.flow._lifecycle_events import (
    Action,
    BroadcastRerun,
    BroadcastStart,
    Event,
    JobSubmitted,
    LaunchTask,
    NotifyParties,
    PartyAccepted,
    PartyRejected,
    PeerFailed,
    ProposeTo,
    RecordJob,
    RecordTask,
    ReportTask,
    State,
    StopTask,
    TaskFailed,
    TaskKilled,
    TaskStarted,
    TaskSucceeded,
    Tick,
)
from chaihuo.flow._lifecycle_node import NodeScheduler
from chaihuo.flow.node._config import NodeFileConfig
from chaihuo.flow.node._control import ControlClient, Propose, Report, Rerun, Start
from chaihuo.flow.node._jobs import JobPlan, federation_job_id, task_for
from chaihuo.flow.node._tasks import TaskExit, TaskProcesses
from chaihuo.flow.store import JobRecord, Store, TaskRecord

__all__ = ["Driver"]

_log = logging.getLogger("chaihuo.node")
TICK_S = 1.0


@dataclass
class _Call:
    """A function to run on the driver thread, its result delivered through a future."""

    run: Callable[[NodeScheduler], Any]
    future: Future[Any]


class Driver:
    """Runs one node's lifecycle machine (see module comment)."""

    def __init__(
        self,
        config: NodeFileConfig,
        *,
        store: Store,
        client: ControlClient,
        gateway: Gateway,
        plan_of: Callable[[str], JobPlan],
        on_task_end: Callable[[TaskExit, JobPlan], None],
    ) -> None:
        self.config, self.store, self.client, self.gateway = config, store, client, gateway
        self.scheduler = NodeScheduler(config.max_concurrent_tasks)
        self._plan_of, self._on_task_end = plan_of, on_task_end
        self.tasks = TaskProcesses(self._task_exited)
        self._queue: queue.Queue[Event | _Call | None] = queue.Queue()
        self._calls = ThreadPoolExecutor(8, thread_name_prefix="control-call")
        self._thread = threading.Thread(target=self._loop, name="node-driver", daemon=True)
        self._ticker = threading.Thread(target=self._tick, name="node-clock", daemon=True)
        self._stopping = threading.Event()
        self._tokens: dict[tuple[str, str], str] = {}

    def start(self) -> None:
        """Start the driver and its clock."""
        self._thread.start()
        self._ticker.start()

    def stop(self) -> None:
        """Stop every task, then the driver."""
        self._stopping.set()
        self.tasks.stop_all()
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._calls.shutdown(wait=False, cancel_futures=True)

    def post(self, event: Event) -> None:
        """Queue an event (any thread)."""
        self._queue.put(event)

    def call(self, run: Callable[[NodeScheduler], Any], *, timeout_s: float = 30.0) -> Any:
        """Run `run(scheduler)` on the driver thread and return its result (or raise its error);
        the actions it returns, if a list of actions, are performed there too."""
        future: Future[Any] = Future()
        self._queue.put(_Call(run, future))
        return future.result(timeout=timeout_s)

    def _tick(self) -> None:
        while not self._stopping.wait(TICK_S):
            self._queue.put(Tick(at=time.time()))

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if isinstance(item, _Call):
                    self._run_call(item)
                else:
                    self._perform(self.scheduler.handle(item))
            except ChaihuoError as exc:
                _log.warning("lifecycle event %r refused: %s", item, exc)
            except Exception:  # the node outlives any bug in one job's handling
                _log.exception("lifecycle event %r failed", item)

    def _run_call(self, item: _Call) -> None:
        try:
            result = item.run(self.scheduler)
        except BaseException as exc:
            item.future.set_exception(exc)
            return
        actions = result[1] if isinstance(result, tuple) and len(result) == 2 else []
        if isinstance(actions, list | tuple):
            self._perform(list(actions))
        item.future.set_result(result[0] if isinstance(result, tuple) else result)

    def perform(self, actions: list[Action]) -> None:
        """Perform actions (on the driver thread only)."""
        self._perform(actions)

    def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            try:
                self._one(action)
            except ChaihuoError as exc:
                _log.warning("action %r failed: %s", action, exc)

    def _one(self, action: Action) -> None:
        match action:
            case RecordJob():
                self._record_job(action)
            case RecordTask():
                self._record_task(action)
            case LaunchTask():
                self._launch(action)
            case StopTask():
                if not self.tasks.stop(action.job_id, action.component):
                    self.post(TaskKilled(job_id=action.job_id, component=action.component,
                                         attempt=action.attempt, at=time.time()))  # fmt: skip
            case ProposeTo():
                self._calls.submit(self._propose, action)
            case BroadcastStart():
                self._broadcast(action.job_id, lambda: Start(sender=self._me, job_id=action.job_id))
            case BroadcastRerun():
                self._broadcast(action.job_id, lambda: Rerun(
                    sender=self._me, job_id=action.job_id, attempt=action.attempt,
                    redo=sorted(action.redo)))  # fmt: skip
            case ReportTask():
                initiator = self.scheduler.job(action.job_id).plan.initiator
                report = Report(sender=self._me, job_id=action.job_id, attempt=action.attempt,
                                component=action.component, state=action.state.value)  # fmt: skip
                self._calls.submit(self._tell, initiator, report)
            case NotifyParties():
                self._broadcast(action.job_id, lambda: Report(
                    sender=self._me, job_id=action.job_id, attempt=action.attempt, notice=True,
                    component=action.component, state=action.state.value, code=action.code,
                    origin=action.origin))  # fmt: skip

    @property
    def _me(self) -> str:
        return self.config.party_id

    def _partners(self, job_id: str) -> list[str]:
        return [p for p in self.scheduler.job(job_id).plan.parties if p != self._me]

    def _broadcast(self, job_id: str, message: Callable[[], Any]) -> None:
        for party in self._partners(job_id):
            self._calls.submit(self._tell, party, message())

    def _tell(self, party: str, request: Any) -> None:
        """Deliver a message; a partner that cannot be told fails the job here (its part
        would never run or never be told to stop)."""
        try:
            reply = self.client.call(party, request)
            if reply.ok:
                return
            _log.warning("party %s refused %s: %s", party, request.kind, reply.reason)
        except ChaihuoError as exc:
            _log.warning("party %s was not told %s: %s", party, request.kind, exc)
        if request.kind in ("start", "rerun"):
            attempt = getattr(request, "attempt", 1)
            self.post(PeerFailed(job_id=request.job_id, party=party, component=None,
                                 code="FEDERATION_UNREACHABLE", attempt=attempt,
                                 at=time.time()))  # fmt: skip

    def _propose(self, action: ProposeTo) -> None:
        plan = self._plan_of(action.job_id)
        record = self.store.get_job(action.job_id)
        request = Propose(sender=self._me, job_id=action.job_id, job_yaml=plan.yaml,
                          versions=plan.versions, request_id=record.client_request_id)  # fmt: skip
        try:
            reply = self.client.call(action.party, request)
        except ChaihuoError as exc:
            self.post(PartyRejected(job_id=action.job_id, party=action.party,
                                    reason=shared_reason(exc), at=time.time()))  # fmt: skip
            return
        if reply.ok:
            self.post(PartyAccepted(job_id=action.job_id, party=action.party, at=time.time()))
        else:
            self.post(PartyRejected(job_id=action.job_id, party=action.party,
                                    reason=reply.reason or "refused", at=time.time()))  # fmt: skip

    def _launch(self, action: LaunchTask) -> None:
        plan = self._plan_of(action.job_id)
        try:
            token = self._grant(plan, action.attempt)
            task = task_for(
                plan, action.component, action.attempt, config=self.config, store=self.store,
                gateway=self.gateway.address, token=token,
            )  # fmt: skip
            pid = self.tasks.launch(action.job_id, action.component, action.attempt, task)
        except ChaihuoError as exc:
            self.post(TaskFailed(job_id=action.job_id, component=action.component,
                                 attempt=action.attempt, code=exc.code, reason=str(exc),
                                 at=time.time()))  # fmt: skip
            return
        self.post(TaskStarted(job_id=action.job_id, component=action.component,
                              attempt=action.attempt, pid=pid, at=time.time()))  # fmt: skip

    def _grant(self, plan: JobPlan, attempt: int) -> str:
        key = (plan.job_id, federation_job_id(plan.job_id, attempt))
        if key not in self._tokens:
            roster = [Party(Role(role), pid) for role, ids in plan.roles.items() for pid in ids]  # type: ignore[arg-type]
            local = [party for party in roster if party.party_id == self._me]
            addresses = {pid: peer.address for pid, peer in self.config.peers.items()}
            settings = FederationSettings(
                receive_timeout_s=plan.job.timeout_s, send_timeout_s=plan.job.timeout_s
            )
            self._tokens[key] = self.gateway.grant(key[1], local, roster, addresses, settings)
        return self._tokens[key]

    def close_job(self, job_id: str) -> None:
        """Free the gateway's state of every attempt of an ended job."""
        for key in [k for k in self._tokens if k[0] == job_id]:
            self.gateway.close_job(key[1])
            del self._tokens[key]

    def _keep_outputs(self, end: TaskExit, plan: JobPlan) -> tuple[str, str] | None:
        """Keep a successful task's metrics and models; (code, reason) when that fails (a
        model not written whole, a full store), which then fails the task instead."""
        try:
            self._on_task_end(end, plan)
        except Exception as exc:  # whatever it is, the job must still reach a final state
            _log.exception("keeping the outputs of %s/%s failed", end.job_id, end.component)
            spec = spec_for_exception(exc)
            return spec.code, f"its outputs could not be kept: {exc}"
        return None

    def _task_exited(self, end: TaskExit) -> None:
        plan = self._plan_of(end.job_id)
        kept = self._keep_outputs(end, plan) if end.succeeded else None
        if end.succeeded and kept is None:
            event: Event = TaskSucceeded(job_id=end.job_id, component=end.component,
                                         attempt=end.attempt, at=time.time())  # fmt: skip
        elif kept is not None:
            event = TaskFailed(job_id=end.job_id, component=end.component, attempt=end.attempt,
                               code=kept[0], reason=kept[1], at=time.time())  # fmt: skip
        elif end.stopped:
            event = TaskKilled(job_id=end.job_id, component=end.component, attempt=end.attempt,
                               at=time.time())  # fmt: skip
        else:
            code, reason = _failure(end)
            event = TaskFailed(job_id=end.job_id, component=end.component, attempt=end.attempt,
                               code=code, reason=reason, at=time.time())  # fmt: skip
        self.post(event)

    def _record_job(self, action: RecordJob) -> None:
        now = time.time()
        record = self.store.get_job(action.job_id)
        started = record.started_at or (now if action.state is State.RUNNING else None)
        final = action.state not in (State.WAITING, State.RUNNING)
        clear = ("ended_at",) if not final else ()
        self.store.update_job(action.job_id, state=action.state.value, reason=action.reason,
                              attempt=action.attempt, started_at=started,
                              ended_at=now if final else None, clear=clear)  # fmt: skip
        if final:
            self.close_job(action.job_id)

    def _record_task(self, action: RecordTask) -> None:
        now = time.time()
        if action.party != self._me:
            self.store.upsert_party_task(action.job_id, action.party, action.component,
                                         action.state.value, action.reason, now)  # fmt: skip
            return
        try:
            old: TaskRecord | None = self.store.get_task(action.job_id, action.component)
        except ChaihuoError:
            old = None
        running = action.state is State.RUNNING
        final = action.state not in (State.WAITING, State.RUNNING)
        machine = self.scheduler.job(action.job_id)
        self.store.upsert_task(TaskRecord(
            job_id=action.job_id, component=action.component, state=action.state.value,
            attempt=machine.attempt, reason=action.reason,
            pid=machine.pids.get(action.component) if running else None,
            started_at=now if running else (old.started_at if old else None),
            ended_at=now if final else None,
            outputs_json=old.outputs_json if old else "{}",
        ))  # fmt: skip

    def restore_jobs(self, submitted_of: Callable[[JobRecord], JobSubmitted]) -> None:
        """At start: take back every job of the store; the unfinished ones fail as "the node
        restarted" and their partners are told (on the driver thread)."""

        def restore(scheduler: NodeScheduler) -> tuple[int, list[Action]]:
            actions: list[Action] = []
            for record in self.store.list_jobs(limit=100_000):
                try:
                    submitted = submitted_of(record)
                except ChaihuoError as exc:
                    _log.warning("job %s cannot be restored: %s", record.job_id, exc)
                    continue
                tasks = {(self._me, t.component): State(t.state)
                         for t in self.store.list_tasks(record.job_id)}  # fmt: skip
                tasks |= {(t.party_id, t.component): State(t.state)
                          for t in self.store.list_party_tasks(record.job_id)}  # fmt: skip
                actions += scheduler.restore(
                    submitted, state=State(record.state), task_states=tasks,
                    attempt=record.attempt, started=record.started_at is not None,
                    at=time.time(), reason=record.reason,
                )  # fmt: skip
            return len(actions), actions

        self.call(restore, timeout_s=120)


def _failure(end: TaskExit) -> tuple[str, str]:
    """The catalog code and this party's own text of a task that failed."""
    result = end.result
    if result is not None and result.error:
        code = result.code if result.code in CATALOG else "INTERNAL"
        where = f" in {result.component}" if result.component else ""
        return code or "INTERNAL", f"{result.error}{where}"
    how = f"killed by signal {-end.returncode}" if end.returncode < 0 else f"exit {end.returncode}"
    return "INTERNAL", f"the task process ended ({how}) without a result"
