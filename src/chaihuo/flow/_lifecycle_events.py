"""The records of the job lifecycle: its states, the events a node feeds in, the actions it gets."""

# Events and actions are frozen records checked where they are built, so a machine never sees
# a malformed plan or a peer notice in a state no peer may send. Every event carries `at`, the
# driver's clock in seconds (any monotonic origin): the machines never read a clock.
#
# What crosses between parties is closed: a state, a component name, a catalog code and, from
# the initiator only, the party a relayed failure belongs to (NotifyParties, ReportTask). Never
# a task's own error text, which may quote this party's data (docs/failures.md §1).

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from typing import Final

from chaihuo.core import InvalidInputError

__all__ = [
    "FINAL",
    "NODE_RESTARTED",
    "RESTART_REASON",
    "Action",
    "BroadcastRerun",
    "BroadcastStart",
    "ComponentNode",
    "Event",
    "JobStarted",
    "JobSubmitted",
    "LaunchTask",
    "NodeRestarted",
    "NotifyParties",
    "PartyAccepted",
    "PartyRejected",
    "PeerEnded",
    "PeerFailed",
    "PeerTaskState",
    "ProposeTo",
    "RecordJob",
    "RecordTask",
    "ReportTask",
    "RerunRequested",
    "State",
    "StopRequested",
    "StopTask",
    "TaskFailed",
    "TaskKilled",
    "TaskStarted",
    "TaskSucceeded",
    "Tick",
    "UnknownJobError",
    "topological_ids",
]


class State(StrEnum):
    """The state of a job or of one task: the only place these strings are defined."""

    WAITING = "waiting"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMEOUT = "timeout"


FINAL: Final[frozenset[State]] = frozenset(
    {State.SUCCESS, State.FAILED, State.CANCELED, State.TIMEOUT}
)

# The code a restarted node sends its partners; they write "cancelled because P failed:
# NODE_RESTARTED". Not (yet) a catalog code: a receiver that checks codes must admit it.
NODE_RESTARTED: Final = "NODE_RESTARTED"
RESTART_REASON: Final = "the node restarted while the job was running"


class UnknownJobError(InvalidInputError):
    """An event or request for a job this node does not hold."""


def topological_ids(components: Iterable[ComponentNode]) -> tuple[str, ...]:
    """Component ids in DAG order (ties kept in the plan's order); refuses unknown upstream
    ids, duplicates and cycles."""
    nodes: dict[str, ComponentNode] = {}
    for node in components:
        if node.id in nodes:
            raise InvalidInputError(f"component {node.id!r} appears twice in the job plan")
        nodes[node.id] = node
    for node in nodes.values():
        for up in node.upstream:
            if up not in nodes:
                raise InvalidInputError(f"component {node.id!r} reads unknown component {up!r}")
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(nodes):
        ready = [n for n in nodes if n not in placed and set(nodes[n].upstream) <= placed]
        if not ready:
            cycle = sorted(set(nodes) - placed)
            raise InvalidInputError(f"the job plan has a cycle among {cycle}")
        order.extend(ready)
        placed.update(ready)
    return tuple(order)


@dataclass(frozen=True, slots=True)
class ComponentNode:
    """One component of the job plan: its upstream components and the parties running a task."""

    id: str
    upstream: tuple[str, ...]
    parties: tuple[str, ...]


# ----------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class _Event:
    _: KW_ONLY
    at: float


@dataclass(frozen=True, slots=True)
class JobSubmitted(_Event):
    """A job this node takes part in: submitted here (initiator) or a partner's accepted proposal.

    `parties` lists every party of the job, this one (`party`) and the `initiator` included;
    `request_id` makes the submission idempotent on a node (NodeScheduler)."""

    job_id: str
    request_id: str
    party: str
    initiator: str
    parties: tuple[str, ...]
    components: tuple[ComponentNode, ...]
    timeout_s: float

    def __post_init__(self) -> None:
        if self.party not in self.parties or self.initiator not in self.parties:
            raise InvalidInputError("the job's parties must include this party and the initiator")
        if len(set(self.parties)) != len(self.parties):
            raise InvalidInputError("a party is listed twice in the job plan")
        if not self.timeout_s > 0:
            raise InvalidInputError(f"the job timeout must be positive, not {self.timeout_s}")
        topological_ids(self.components)
        for node in self.components:
            if not set(node.parties) <= set(self.parties):
                raise InvalidInputError(f"component {node.id!r} names a party outside the job")


@dataclass(frozen=True, slots=True)
class PartyAccepted(_Event):
    """Initiator: a partner accepted the proposal."""

    job_id: str
    party: str


@dataclass(frozen=True, slots=True)
class PartyRejected(_Event):
    """Initiator: a partner rejected the proposal; `reason` is the text it chose to send."""

    job_id: str
    party: str
    reason: str


@dataclass(frozen=True, slots=True)
class JobStarted(_Event):
    """Non-initiator: the initiator said start (every party accepted)."""

    job_id: str


@dataclass(frozen=True, slots=True)
class TaskStarted(_Event):
    """The process of a launched task is running."""

    job_id: str
    component: str
    attempt: int
    pid: int


@dataclass(frozen=True, slots=True)
class TaskSucceeded(_Event):
    """A task process finished and saved its outputs."""

    job_id: str
    component: str
    attempt: int


@dataclass(frozen=True, slots=True)
class TaskFailed(_Event):
    """A task process failed: a catalog `code` (from its exit code or result) and its own text."""

    job_id: str
    component: str
    attempt: int
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class TaskKilled(_Event):
    """A task process is gone without a result: after a StopTask, or killed by someone else."""

    job_id: str
    component: str
    attempt: int


@dataclass(frozen=True, slots=True)
class PeerTaskState(_Event):
    """A partner's task changed state (ReportTask on its side); read by the initiator."""

    job_id: str
    party: str
    component: str
    state: State
    attempt: int


@dataclass(frozen=True, slots=True)
class PeerFailed(_Event):
    """`party`'s part of the job failed: a catalog code and the component (None: not a task's
    failure, e.g. NODE_RESTARTED). From that party, or relayed by the initiator."""

    job_id: str
    party: str
    component: str | None
    code: str
    attempt: int


@dataclass(frozen=True, slots=True)
class PeerEnded(_Event):
    """`party` ended the job otherwise: CANCELED (stopped) or TIMEOUT on its side, or — from the
    initiator — SUCCESS, the job's verdict once every party's tasks succeeded."""

    job_id: str
    party: str
    state: State
    attempt: int

    def __post_init__(self) -> None:
        if self.state not in (State.SUCCESS, State.CANCELED, State.TIMEOUT):
            raise InvalidInputError(f"a peer cannot end a job as {self.state!r}")


@dataclass(frozen=True, slots=True)
class StopRequested(_Event):
    """Someone on this node asked to stop the job; `reason` is recorded as the cause."""

    job_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RerunRequested(_Event):
    """Rerun a job that ended unsuccessfully. On the initiator from a user (`attempt` None); on
    a partner from the initiator's BroadcastRerun, with its attempt and `redo` set."""

    job_id: str
    attempt: int | None = None
    redo: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class NodeRestarted(_Event):
    """The node restarted while this job was not final (NodeScheduler.restore replays it)."""

    job_id: str


@dataclass(frozen=True, slots=True)
class Tick(_Event):
    """The driver's clock advanced: jobs past their deadline time out."""


Event = (
    JobSubmitted
    | PartyAccepted
    | PartyRejected
    | JobStarted
    | TaskStarted
    | TaskSucceeded
    | TaskFailed
    | TaskKilled
    | PeerTaskState
    | PeerFailed
    | PeerEnded
    | StopRequested
    | RerunRequested
    | NodeRestarted
    | Tick
)

# ---------------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class ProposeTo:
    """Initiator: send the job plan to `party`; answer with PartyAccepted or PartyRejected."""

    job_id: str
    party: str


@dataclass(frozen=True, slots=True)
class BroadcastStart:
    """Initiator: tell every partner to start (their JobStarted)."""

    job_id: str


@dataclass(frozen=True, slots=True)
class BroadcastRerun:
    """Initiator: tell every partner to rerun as `attempt`, redoing the components in `redo`."""

    job_id: str
    attempt: int
    redo: frozenset[str]


@dataclass(frozen=True, slots=True)
class LaunchTask:
    """Start the task process of `component` (its outputs go under this attempt)."""

    job_id: str
    component: str
    attempt: int


@dataclass(frozen=True, slots=True)
class StopTask:
    """End the task process (SIGTERM, then SIGKILL after a grace); answer with TaskKilled."""

    job_id: str
    component: str
    attempt: int


@dataclass(frozen=True, slots=True)
class ReportTask:
    """Non-initiator: send one of this party's task states to the initiator (its PeerTaskState)."""

    job_id: str
    component: str
    state: State
    attempt: int


@dataclass(frozen=True, slots=True)
class NotifyParties:
    """Tell every partner how the job ended here (their PeerFailed or PeerEnded).

    `origin` is None for this party's own end; the initiator relays a partner's end with
    `origin` set to that partner. Nothing else crosses: no free text. Receivers ignore a
    notice of another `attempt` than theirs (a late one, from before a rerun)."""

    job_id: str
    state: State
    attempt: int
    component: str | None = None
    code: str | None = None
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class RecordJob:
    """Write the job's state, attempt and reason (this party's own text) to the store."""

    job_id: str
    state: State
    attempt: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class RecordTask:
    """Write the state of `party`'s task of `component` to the store."""

    job_id: str
    party: str
    component: str
    state: State
    reason: str | None = None


Action = (
    ProposeTo
    | BroadcastStart
    | BroadcastRerun
    | LaunchTask
    | StopTask
    | ReportTask
    | NotifyParties
    | RecordJob
    | RecordTask
)
