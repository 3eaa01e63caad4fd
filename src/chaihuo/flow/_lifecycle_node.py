"""A node's jobs and task slots: routes events to each job's machine and queues launches."""

# Sans-I/O like the JobMachine it drives (chaihuo.flow._lifecycle, which explains the rules).
#
# Slots. At most `max_concurrent_tasks` task processes live on the node at once, over all jobs.
# A process is live from the LaunchTask this scheduler releases until TaskSucceeded, TaskFailed
# or TaskKilled for the same (job, component, attempt) — whatever the job's state by then, as a
# stopped process holds its slot until it is gone. LaunchTasks beyond the limit wait in one FIFO
# queue across jobs; a queued launch is released when a slot frees, and dropped if its job no
# longer wants it (ended, rerun as another attempt). A launch whose component still has a live
# process of an older attempt waits for it, so a rerun never runs two processes of one task.
# A StopTask for a launch that never left the queue is dropped: there is nothing to stop.
#
# Submit is idempotent by request id: a JobSubmitted whose request id the node has seen creates
# nothing and answers with the job it created first (Submission.created False).

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chaihuo.core import InvalidInputError
from chaihuo.flow._lifecycle import JobMachine
from chaihuo.flow._lifecycle_events import (
    FINAL,
    Action,
    Event,
    JobSubmitted,
    LaunchTask,
    NodeRestarted,
    State,
    StopTask,
    TaskFailed,
    TaskKilled,
    TaskSucceeded,
    Tick,
    UnknownJobError,
)

__all__ = ["NodeScheduler", "Submission"]

_Slot = tuple[str, str, int]  # (job id, component, attempt) of a live task process


@dataclass(frozen=True, slots=True)
class Submission:
    """What a submission did: the job it refers to, whether it is new, and the actions."""

    job_id: str
    created: bool
    actions: tuple[Action, ...]


class NodeScheduler:
    """Every job of one node, and the node's limit on concurrently running task processes."""

    def __init__(self, max_concurrent_tasks: int) -> None:
        if max_concurrent_tasks < 1:
            raise InvalidInputError(f"max_concurrent_tasks must be ≥ 1, not {max_concurrent_tasks}")
        self._limit = max_concurrent_tasks
        self._jobs: dict[str, JobMachine] = {}
        self._requests: dict[str, str] = {}
        self._queue: list[LaunchTask] = []
        self._live: set[_Slot] = set()

    @property
    def max_concurrent_tasks(self) -> int:
        """The limit on live task processes."""
        return self._limit

    @property
    def jobs(self) -> Mapping[str, JobMachine]:
        """The node's jobs by id (read them; feed events through `handle`)."""
        return dict(self._jobs)

    @property
    def live(self) -> frozenset[_Slot]:
        """(job id, component, attempt) of every task process launched and not yet gone."""
        return frozenset(self._live)

    @property
    def queued(self) -> tuple[LaunchTask, ...]:
        """Launches waiting for a slot, oldest first (some may be dropped when reached)."""
        return tuple(self._queue)

    def job(self, job_id: str) -> JobMachine:
        """The machine of `job_id`; UnknownJobError when the node holds no such job."""
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UnknownJobError(f"no job {job_id!r} on this node", job_id=job_id) from None

    def job_for_request(self, request_id: str) -> str | None:
        """The job a request id created, if any."""
        return self._requests.get(request_id)

    def submit(self, event: JobSubmitted) -> Submission:
        """Create the job, or return the one this request id created before."""
        existing = self._requests.get(event.request_id)
        if existing is not None:
            return Submission(existing, False, ())
        if event.job_id in self._jobs:
            raise InvalidInputError(f"job id {event.job_id!r} is already in use on this node")
        machine = JobMachine(event)
        self._jobs[event.job_id] = machine
        self._requests[event.request_id] = event.job_id
        return Submission(event.job_id, True, tuple(self._route(machine.handle(event))))

    def restore(
        self,
        submitted: JobSubmitted,
        *,
        state: State,
        task_states: Mapping[tuple[str, str], State],
        attempt: int,
        started: bool,
        at: float,
        reason: str | None = None,
    ) -> list[Action]:
        """Take back a job from the store at node start (see JobMachine.restore); one that was
        not final fails as "the node restarted", and its partners are told. Task processes the
        old node left behind are the driver's to kill: none of them holds a slot here."""
        if submitted.job_id in self._jobs:
            raise InvalidInputError(f"job id {submitted.job_id!r} is already in use on this node")
        machine = JobMachine.restore(
            submitted,
            state=state,
            task_states=task_states,
            attempt=attempt,
            started=started,
            reason=reason,
        )
        self._jobs[submitted.job_id] = machine
        self._requests[submitted.request_id] = submitted.job_id
        if state in FINAL:
            return []
        return self._route(machine.handle(NodeRestarted(submitted.job_id, at=at)))

    def handle(self, event: Event) -> list[Action]:
        """The actions `event` calls for; an empty list when it changed nothing (a second stop,
        a repeated notice). Events of a job the node does not hold raise UnknownJobError."""
        match event:
            case JobSubmitted():
                return list(self.submit(event).actions)
            case Tick():
                actions = [a for m in list(self._jobs.values()) for a in m.handle(event)]
                return self._route(actions)
            case _:
                actions = self.job(event.job_id).handle(event)
                if isinstance(event, TaskSucceeded | TaskFailed | TaskKilled):
                    self._live.discard((event.job_id, event.component, event.attempt))
                return self._route(actions)

    def _route(self, actions: list[Action]) -> list[Action]:
        out: list[Action] = []
        for action in actions:
            if isinstance(action, LaunchTask):
                self._queue.append(action)
            elif isinstance(action, StopTask) and _slot(action) not in self._live:
                continue  # it never left the queue
            else:
                out.append(action)
        return out + self._release()

    def _release(self) -> list[Action]:
        released: list[Action] = []
        kept: list[LaunchTask] = []
        for launch in self._queue:
            if not self._jobs[launch.job_id].wants_launch(launch.component, launch.attempt):
                continue
            older = any(j == launch.job_id and c == launch.component for j, c, _ in self._live)
            if older or len(self._live) >= self._limit:
                kept.append(launch)
                continue
            self._live.add(_slot(launch))
            released.append(launch)
        self._queue = kept
        return released


def _slot(action: LaunchTask | StopTask) -> _Slot:
    return (action.job_id, action.component, action.attempt)
