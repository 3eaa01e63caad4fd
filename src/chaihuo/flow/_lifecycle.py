"""The job lifecycle on one party as a sans-I/O state machine: events in, actions out."""

# One JobMachine per job per party; NodeScheduler (chaihuo.flow._lifecycle_node) holds a node's
# machines and its task slots. The driver feeds events and performs the actions; nothing here
# reads a clock, a socket or a file, so every rule below is a pure function of the history.
#
#               all partners accepted (initiator) / JobStarted (partner)
#     WAITING ────────────────────────────────────────────────────────────► RUNNING ──┐
#        │                                                                     │      │ every task
#        │ stop · reject · peer failed/stopped · timeout · restart             │      │ succeeded
#        ▼                                                                     │      ▼ (see below)
#     FAILED | CANCELED | TIMEOUT ◄──────── task failed · stop · peer · timeout┘   SUCCESS
#        │ rerun (attempt + 1) ─────────────────────────────────────────► RUNNING
#
# Tasks: WAITING → RUNNING (TaskStarted) → SUCCESS | FAILED; when the job ends the unfinished
# ones become CANCELED (TIMEOUT when the job timed out), or FAILED when the node restarted.
#
# Ordering. A local task is launched once its *local* upstream tasks succeeded; an upstream run
# only by other parties is awaited by the task itself, through its federation receives.
#
# Who decides SUCCESS. The initiator holds the job's state: it sees its own tasks and each
# partner's (their ReportTask, its PeerTaskState), and the job succeeds there when every task of
# every party succeeded in the current attempt; it then tells the partners (NotifyParties
# SUCCESS, their PeerEnded from the initiator). A partner whose own tasks all succeeded stays
# RUNNING, tasks idle, until that verdict: so a failure elsewhere still fails the job on every
# party, and a rerun can reach it. Its job-level timeout bounds the wait if the initiator dies.
# Task reports only fill the initiator's view (a task that ended there does not change again);
# the job ends on notices: a CANCELED task report may echo a third party's failure and would
# name the wrong cause, so the initiator waits for the notice (or its timeout).
#
# Failure. A party whose own task failed (or that restarted) tells every partner: code and
# component, never its text. A receiver fails the job with its own sentence, "cancelled because
# P failed: CODE in COMPONENT", stops its running tasks and does not re-broadcast (which would
# blame itself); only the initiator relays, naming P as the origin, for partners the first
# notice missed. Stop and timeout travel the same way as CANCELED and TIMEOUT.
#
# Rerun. Only a job that started and ended unsuccessfully. A component is redone when some party
# has not succeeded at it in the last attempt, and so is everything downstream of it, on every
# party that runs them: a component that one party finished but another failed must run again
# on both, or the rerun waits on a partner that never answers. The initiator computes that set
# from what it knows (tasks a partner never reported count as unfinished) and sends it with the
# new attempt number; a partner redoes the set and its own unfinished tasks. A task whose
# component succeeded everywhere is never relaunched: its outputs are reused.
#
# Idempotence. Every event that finds nothing to change returns no actions: a second stop, a
# stop or failure of an ended job, a repeated notice or rerun message, an event of an older
# attempt. A task event of an older attempt or an ended job only asks to stop its process.

from __future__ import annotations

from collections.abc import Mapping
from typing import assert_never

from chaihuo.core import InvalidInputError
from chaihuo.flow._lifecycle_events import (
    FINAL,
    NODE_RESTARTED,
    RESTART_REASON,
    Action,
    BroadcastRerun,
    BroadcastStart,
    Event,
    JobStarted,
    JobSubmitted,
    LaunchTask,
    NodeRestarted,
    NotifyParties,
    PartyAccepted,
    PartyRejected,
    PeerEnded,
    PeerFailed,
    PeerTaskState,
    ProposeTo,
    RecordJob,
    RecordTask,
    ReportTask,
    RerunRequested,
    State,
    StopRequested,
    StopTask,
    TaskFailed,
    TaskKilled,
    TaskStarted,
    TaskSucceeded,
    Tick,
    topological_ids,
)

__all__ = ["JobMachine"]

_UNSUCCESSFUL = frozenset({State.FAILED, State.CANCELED, State.TIMEOUT})


class JobMachine:
    """One job on one party. Build it from the JobSubmitted event, then `handle` every event
    of the job, that one first; an empty list means the event changed nothing."""

    def __init__(self, submitted: JobSubmitted) -> None:
        self._plan = submitted
        self._order = topological_ids(submitted.components)
        self._nodes = {node.id: node for node in submitted.components}
        self._local = tuple(c for c in self._order if submitted.party in self._nodes[c].parties)
        self._state = State.WAITING
        self._reason: str | None = None
        self._attempt = 1
        self._tasks = dict.fromkeys(self._local, State.WAITING)
        self._peer_tasks = {
            (p, c): State.WAITING
            for c in self._order
            for p in self._nodes[c].parties
            if p != submitted.party
        }
        self._launched: set[str] = set()  # LaunchTask emitted, TaskStarted not yet seen
        self._pids: dict[str, int] = {}
        self._accepted: set[str] = set()
        self._opened = False
        self._started = False
        self._deadline = submitted.at + submitted.timeout_s

    @classmethod
    def restore(
        cls,
        submitted: JobSubmitted,
        *,
        state: State,
        task_states: Mapping[tuple[str, str], State],
        attempt: int,
        started: bool,
        reason: str | None = None,
    ) -> JobMachine:
        """The machine as the store left it, without the actions that led there (after a node
        restart); `task_states` by (party, component), missing ones WAITING. Feed NodeRestarted
        next when `state` is not final."""
        machine = cls(submitted)
        machine._opened, machine._started = True, started
        machine._state, machine._reason, machine._attempt = state, reason, attempt
        for (party, component), task_state in task_states.items():
            if party == submitted.party and component in machine._tasks:
                machine._tasks[component] = task_state
            elif (party, component) in machine._peer_tasks:
                machine._peer_tasks[party, component] = task_state
        return machine

    # ------------------------------------------------------------------------------- views

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._plan.job_id

    @property
    def plan(self) -> JobSubmitted:
        """The submission this machine was built from."""
        return self._plan

    @property
    def state(self) -> State:
        """The job's state on this party."""
        return self._state

    @property
    def reason(self) -> str | None:
        """Why the job ended unsuccessfully, in this party's words; None otherwise."""
        return self._reason

    @property
    def attempt(self) -> int:
        """1, plus one per rerun."""
        return self._attempt

    @property
    def started(self) -> bool:
        """Whether the job ever left WAITING for RUNNING (a rerun needs it)."""
        return self._started

    @property
    def is_initiator(self) -> bool:
        """Whether this party initiated the job and holds its overall state."""
        return self._plan.party == self._plan.initiator

    @property
    def task_states(self) -> Mapping[str, State]:
        """This party's tasks by component, in DAG order."""
        return dict(self._tasks)

    @property
    def peer_task_states(self) -> Mapping[tuple[str, str], State]:
        """Partners' tasks by (party, component) as reported in this attempt (initiator)."""
        return dict(self._peer_tasks)

    @property
    def pids(self) -> Mapping[str, int]:
        """The process id each task last reported starting with."""
        return dict(self._pids)

    def wants_launch(self, component: str, attempt: int) -> bool:
        """Whether a LaunchTask this machine emitted is still wanted (NodeScheduler's queue)."""
        return (
            self._state is State.RUNNING
            and attempt == self._attempt
            and component in self._launched
        )

    # ------------------------------------------------------------------------------ events

    def handle(self, event: Event) -> list[Action]:
        """The actions `event` calls for, in the order to perform them."""
        if getattr(event, "job_id", self.job_id) != self.job_id:
            raise InvalidInputError(f"an event of another job reached job {self.job_id!r}")
        match event:
            case JobSubmitted():
                return self._on_submitted(event)
            case PartyAccepted():
                return self._on_accepted(event)
            case PartyRejected():
                return self._on_rejected(event)
            case JobStarted():
                return self._start() if not self.is_initiator else []
            case TaskStarted():
                return self._on_task_started(event)
            case TaskSucceeded():
                return self._on_task_succeeded(event)
            case TaskFailed():
                return self._on_task_failed(
                    event.component, event.attempt, event.code, event.reason
                )
            case TaskKilled():
                text = "the task process was killed"
                return self._on_task_failed(event.component, event.attempt, "INTERNAL", text)
            case PeerTaskState():
                return self._on_peer_task(event)
            case PeerFailed():
                return self._on_peer_failed(event)
            case PeerEnded():
                return self._on_peer_ended(event)
            case StopRequested():
                return self._end(State.CANCELED, event.reason, self._notice(State.CANCELED))
            case RerunRequested():
                return self._on_rerun(event)
            case NodeRestarted():
                return self._on_restarted()
            case Tick():
                return self._on_tick(event.at)
            case _:
                assert_never(event)

    def _on_submitted(self, event: JobSubmitted) -> list[Action]:
        if event != self._plan:
            raise InvalidInputError(f"job {self.job_id!r} was submitted with another plan")
        if self._opened:
            return []
        self._opened = True
        actions: list[Action] = [RecordJob(self.job_id, State.WAITING, self._attempt, None)]
        actions += [self._record(c, State.WAITING) for c in self._local]
        if self.is_initiator:
            actions += [ProposeTo(self.job_id, p) for p in self._partners()]
            if not self._partners():
                actions += self._start()
        return actions

    def _on_accepted(self, event: PartyAccepted) -> list[Action]:
        self._check_partner(event.party)
        if not self.is_initiator or self._state is not State.WAITING:
            return []
        self._accepted.add(event.party)
        if self._accepted < set(self._partners()):
            return []
        return [BroadcastStart(self.job_id), *self._start()]

    def _on_rejected(self, event: PartyRejected) -> list[Action]:
        self._check_partner(event.party)
        if not self.is_initiator or self._state is not State.WAITING:
            return []
        reason = f"rejected by {event.party}: {event.reason}"
        return self._end(State.FAILED, reason, self._notice(State.CANCELED))

    def _start(self) -> list[Action]:
        if self._state is not State.WAITING:
            return []
        self._state, self._started = State.RUNNING, True
        return [RecordJob(self.job_id, State.RUNNING, self._attempt, None), *self._advance()]

    def _on_task_started(self, event: TaskStarted) -> list[Action]:
        component = self._check_local(event.component)
        if self._current(component, event.attempt) and self._tasks[component] is State.RUNNING:
            return []  # the same start, told twice
        if not self.wants_launch(component, event.attempt):
            return [StopTask(self.job_id, component, event.attempt)]
        self._launched.discard(component)
        self._pids[component] = event.pid
        return self._set_task(component, State.RUNNING, None)

    def _on_task_succeeded(self, event: TaskSucceeded) -> list[Action]:
        component = self._check_local(event.component)
        if not self._current(component, event.attempt):
            return []
        self._launched.discard(component)
        return [*self._set_task(component, State.SUCCESS, None), *self._advance()]

    def _on_task_failed(self, component: str, attempt: int, code: str, text: str) -> list[Action]:
        self._check_local(component)
        if not self._current(component, attempt):
            return []  # a stopped process ending, an older attempt, a repeated failure
        self._launched.discard(component)
        actions = self._set_task(component, State.FAILED, text)
        notice = self._notice(State.FAILED, component, code)
        return actions + self._end(State.FAILED, f"{code} in {component}: {text}", notice)

    def _on_peer_task(self, event: PeerTaskState) -> list[Action]:
        key = (event.party, event.component)
        if key not in self._peer_tasks:
            raise InvalidInputError(f"{event.party} runs no task of {event.component!r}")
        if event.attempt != self._attempt or self._peer_tasks[key] in FINAL:
            return []  # an older attempt's report; a task that ended does not change again
        if event.state is State.WAITING or self._peer_tasks[key] is event.state:
            return []
        self._peer_tasks[key] = event.state
        record = RecordTask(self.job_id, event.party, event.component, event.state)
        return [record, *self._advance()] if self.is_initiator else [record]

    def _on_peer_failed(self, event: PeerFailed) -> list[Action]:
        if event.party == self._plan.party or event.attempt != self._attempt:
            return []  # this party's own failure relayed back to it; a notice from before a rerun
        self._check_partner(event.party)
        where = f" in {event.component}" if event.component is not None else ""
        reason = f"cancelled because {event.party} failed: {event.code}{where}"
        relay = self._notice(State.FAILED, event.component, event.code, event.party)
        return self._end(State.FAILED, reason, relay if self.is_initiator else None)

    def _on_peer_ended(self, event: PeerEnded) -> list[Action]:
        if event.party == self._plan.party or event.attempt != self._attempt:
            return []
        self._check_partner(event.party)
        if event.state is State.SUCCESS:
            return self._on_verdict(event.party)
        if event.state is State.CANCELED:
            reason = f"canceled by {event.party}"
        else:
            reason = f"timed out on {event.party}"
        relay = self._notice(event.state, origin=event.party)
        return self._end(event.state, reason, relay if self.is_initiator else None)

    def _on_verdict(self, party: str) -> list[Action]:
        done = all(s is State.SUCCESS for s in self._tasks.values())
        if party != self._plan.initiator or self._state is not State.RUNNING or not done:
            return []  # only the initiator decides, and not before this party's part is done
        self._state = State.SUCCESS
        return [RecordJob(self.job_id, State.SUCCESS, self._attempt, None)]

    def _on_tick(self, now: float) -> list[Action]:
        if now < self._deadline:
            return []
        reason = f"timed out after {self._plan.timeout_s:g} s"
        return self._end(State.TIMEOUT, reason, self._notice(State.TIMEOUT))

    def _on_restarted(self) -> list[Action]:
        notice = self._notice(State.FAILED, code=NODE_RESTARTED)
        return self._end(State.FAILED, RESTART_REASON, notice, restarted=True)

    def _on_rerun(self, event: RerunRequested) -> list[Action]:
        if not self.is_initiator and event.attempt is None:
            raise InvalidInputError(f"rerun job {self.job_id!r} on its initiator")
        attempt = event.attempt if event.attempt is not None else self._attempt + 1
        if self._state not in _UNSUCCESSFUL or not self._started or attempt <= self._attempt:
            return []
        redo = self._redo(event.redo)
        self._state, self._reason, self._attempt = State.RUNNING, None, attempt
        self._deadline = event.at + self._plan.timeout_s
        actions: list[Action] = [RecordJob(self.job_id, State.RUNNING, attempt, None)]
        for component in self._local:
            if component in redo:
                actions += self._set_task(component, State.WAITING, None)
        for key in self._peer_tasks:
            if key[1] in redo:
                self._peer_tasks[key] = State.WAITING
        if self.is_initiator:
            actions.append(BroadcastRerun(self.job_id, attempt, redo))
        return actions + self._advance()

    # ----------------------------------------------------------------------------- helpers

    def _redo(self, given: frozenset[str]) -> frozenset[str]:
        """The components to run again: `given`, those a party has not succeeded at (as far as
        this party knows), and everything downstream of them."""
        seeds = {c for c in given if c in self._nodes}
        seeds |= {c for c, s in self._tasks.items() if s is not State.SUCCESS}
        if self.is_initiator:
            seeds |= {c for (_, c), s in self._peer_tasks.items() if s is not State.SUCCESS}
        redo = set(seeds)
        for component in self._order:  # DAG order: an upstream is decided before its readers
            if set(self._nodes[component].upstream) & redo:
                redo.add(component)
        return frozenset(redo)

    def _advance(self) -> list[Action]:
        """Launch every task whose local upstreams succeeded; on the initiator, end the job as
        SUCCESS once every party's tasks succeeded."""
        if self._state is not State.RUNNING:
            return []
        actions: list[Action] = []
        for component in self._local:
            upstream = [u for u in self._nodes[component].upstream if u in self._tasks]
            ready = all(self._tasks[u] is State.SUCCESS for u in upstream)
            if (
                ready
                and self._tasks[component] is State.WAITING
                and component not in self._launched
            ):
                self._launched.add(component)
                actions.append(LaunchTask(self.job_id, component, self._attempt))
        everywhere = [*self._tasks.values(), *self._peer_tasks.values()]
        if self.is_initiator and all(s is State.SUCCESS for s in everywhere):
            self._state = State.SUCCESS
            actions.append(RecordJob(self.job_id, State.SUCCESS, self._attempt, None))
            if self._partners():
                actions.append(self._notice(State.SUCCESS))
        return actions

    def _end(
        self, state: State, reason: str, notice: NotifyParties | None, *, restarted: bool = False
    ) -> list[Action]:
        """End a job that has not ended: stop its processes, settle its unfinished tasks."""
        if self._state in FINAL:
            return []
        self._state, self._reason = state, reason
        actions: list[Action] = []
        settled = State.TIMEOUT if state is State.TIMEOUT else State.CANCELED
        for component in self._local:
            task = self._tasks[component]
            if not restarted and (task is State.RUNNING or component in self._launched):
                actions.append(StopTask(self.job_id, component, self._attempt))
            if task in (State.WAITING, State.RUNNING):
                lost = restarted and task is State.RUNNING
                actions += self._set_task(component, State.FAILED if lost else settled, reason)
        self._launched.clear()
        actions.append(RecordJob(self.job_id, state, self._attempt, reason))
        return actions if notice is None or not self._partners() else [*actions, notice]

    def _set_task(self, component: str, state: State, reason: str | None) -> list[Action]:
        self._tasks[component] = state
        actions: list[Action] = [self._record(component, state, reason)]
        if not self.is_initiator:
            actions.append(ReportTask(self.job_id, component, state, self._attempt))
        return actions

    def _notice(
        self,
        state: State,
        component: str | None = None,
        code: str | None = None,
        origin: str | None = None,
    ) -> NotifyParties:
        return NotifyParties(self.job_id, state, self._attempt, component, code, origin)

    def _record(self, component: str, state: State, reason: str | None = None) -> RecordTask:
        return RecordTask(self.job_id, self._plan.party, component, state, reason)

    def _current(self, component: str, attempt: int) -> bool:
        """Whether a task event is about the live task of a running job."""
        live = self._tasks[component] is State.RUNNING or component in self._launched
        return self._state is State.RUNNING and attempt == self._attempt and live

    def _partners(self) -> tuple[str, ...]:
        return tuple(p for p in self._plan.parties if p != self._plan.party)

    def _check_partner(self, party: str) -> None:
        if party not in self._partners():
            raise InvalidInputError(f"{party} is not a partner in job {self.job_id!r}")

    def _check_local(self, component: str) -> str:
        if component not in self._tasks:
            raise InvalidInputError(f"this party runs no task {component!r} in {self.job_id!r}")
        return component
