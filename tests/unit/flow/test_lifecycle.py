"""The job lifecycle rule by rule: launch order, failure, stop, timeout, verdict, rerun, restart,
and the node's task slots."""

from __future__ import annotations

import pytest

from chaihuo.core import InvalidInputError
from chaihuo.flow._lifecycle import JobMachine
from chaihuo.flow._lifecycle_events import (
    FINAL,
    NODE_RESTARTED,
    RESTART_REASON,
    Action,
    BroadcastRerun,
    BroadcastStart,
    ComponentNode,
    JobStarted,
    JobSubmitted,
    LaunchTask,
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
    UnknownJobError,
)
from chaihuo.flow._lifecycle_node import NodeScheduler

GH = ("guest", "host")
PIPELINE = (
    ComponentNode("reader_0", (), GH),
    ComponentNode("psi_0", ("reader_0",), GH),
    ComponentNode("lr_0", ("psi_0",), GH),
    ComponentNode("eval_0", ("lr_0",), ("guest",)),
)


def plan(
    job_id: str = "j1",
    *,
    party: str = "guest",
    initiator: str = "guest",
    parties: tuple[str, ...] = GH,
    components: tuple[ComponentNode, ...] = PIPELINE,
    timeout_s: float = 100.0,
    request_id: str | None = None,
) -> JobSubmitted:
    rid = request_id or f"req-{job_id}"
    return JobSubmitted(job_id, rid, party, initiator, parties, components, timeout_s, at=0.0)


def of(actions: list[Action], kind: type) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]


def launched(actions: list[Action]) -> list[str]:
    return [a.component for a in actions if isinstance(a, LaunchTask)]


def running_initiator(components: tuple[ComponentNode, ...] = PIPELINE) -> JobMachine:
    machine = JobMachine(plan(components=components))
    machine.handle(machine.plan)
    machine.handle(PartyAccepted("j1", "host", at=1.0))
    return machine


def run(machine: JobMachine, component: str, *, at: float = 2.0) -> list[Action]:
    attempt = machine.attempt
    actions = machine.handle(TaskStarted("j1", component, attempt, 100, at=at))
    return actions + machine.handle(TaskSucceeded("j1", component, attempt, at=at))


# ------------------------------------------------------------------------------- the machine


def test_states_are_the_documented_strings() -> None:
    assert [s.value for s in State] == [
        "waiting",
        "running",
        "success",
        "failed",
        "canceled",
        "timeout",
    ]
    assert {State.SUCCESS, State.FAILED, State.CANCELED, State.TIMEOUT} == FINAL


def test_initiator_proposes_and_starts_when_every_partner_accepted() -> None:
    machine = JobMachine(plan(parties=("guest", "host", "arbiter")))
    actions = machine.handle(machine.plan)
    assert of(actions, ProposeTo) == [ProposeTo("j1", "host"), ProposeTo("j1", "arbiter")]
    assert actions[0] == RecordJob("j1", State.WAITING, 1, None)
    assert machine.handle(machine.plan) == []  # the same submission again
    assert machine.handle(PartyAccepted("j1", "host", at=1.0)) == []
    actions = machine.handle(PartyAccepted("j1", "arbiter", at=1.0))
    assert actions[0] == BroadcastStart("j1")
    assert machine.state is State.RUNNING and launched(actions) == ["reader_0"]
    assert machine.handle(PartyAccepted("j1", "host", at=1.0)) == []


def test_single_party_job_starts_at_submission() -> None:
    machine = JobMachine(plan(parties=("guest",), components=(ComponentNode("a", (), ("guest",)),)))
    actions = machine.handle(machine.plan)
    assert of(actions, ProposeTo) == [] and launched(actions) == ["a"]
    assert run(machine, "a")[-1] == RecordJob("j1", State.SUCCESS, 1, None)


def test_partner_waits_for_the_initiators_start() -> None:
    machine = JobMachine(plan(party="host"))
    assert launched(machine.handle(machine.plan)) == []
    assert machine.state is State.WAITING
    assert launched(machine.handle(JobStarted("j1", at=1.0))) == ["reader_0"]
    assert machine.handle(JobStarted("j1", at=1.0)) == []


def test_tasks_launch_in_dag_order_waiting_only_for_local_upstreams() -> None:
    components = (
        ComponentNode("a", (), ("guest",)),
        ComponentNode("b", (), GH),
        ComponentNode("c", ("a", "b"), GH),
        ComponentNode("d", ("a",), ("host",)),
    )
    host = JobMachine(plan(party="host", components=components))
    host.handle(host.plan)
    # b is a root; d's only upstream runs on the guest: it waits through its receives
    assert launched(host.handle(JobStarted("j1", at=1.0))) == ["b", "d"]
    assert launched(run(host, "b")) == ["c"]
    guest = running_initiator(components)
    assert guest.task_states == {"a": State.WAITING, "b": State.WAITING, "c": State.WAITING}
    assert launched(run(guest, "a")) == []
    assert launched(run(guest, "b")) == ["c"]


def test_a_failed_task_fails_the_job_stops_the_others_and_names_no_text() -> None:
    components = (
        ComponentNode("a", (), GH),
        ComponentNode("b", (), GH),
        ComponentNode("c", ("a",), GH),
    )
    machine = running_initiator(components)
    machine.handle(TaskStarted("j1", "a", 1, 10, at=2.0))
    machine.handle(TaskStarted("j1", "b", 1, 11, at=2.0))
    secret = "non-numeric feature 'x0': 'secret-42'"
    actions = machine.handle(TaskFailed("j1", "a", 1, "DATA_INVALID", secret, at=3.0))
    assert machine.state is State.FAILED
    assert machine.reason == f"DATA_INVALID in a: {secret}"
    assert machine.task_states == {"a": State.FAILED, "b": State.CANCELED, "c": State.CANCELED}
    assert of(actions, StopTask) == [StopTask("j1", "b", 1)]
    notices = of(actions, NotifyParties)
    assert notices == [NotifyParties("j1", State.FAILED, 1, "a", "DATA_INVALID")]
    assert "secret" not in repr(notices)
    assert launched(actions) == []
    # idempotent: the same failure, the stopped task ending, a late success
    assert machine.handle(TaskFailed("j1", "a", 1, "DATA_INVALID", secret, at=4.0)) == []
    assert machine.handle(TaskKilled("j1", "b", 1, at=4.0)) == []
    assert machine.handle(TaskSucceeded("j1", "b", 1, at=4.0)) == []


def test_a_killed_task_fails_the_job() -> None:
    machine = running_initiator()
    machine.handle(TaskStarted("j1", "reader_0", 1, 10, at=2.0))
    actions = machine.handle(TaskKilled("j1", "reader_0", 1, at=3.0))
    assert machine.state is State.FAILED
    assert NotifyParties("j1", State.FAILED, 1, "reader_0", "INTERNAL") in actions


def test_a_partner_failure_cancels_with_the_sentence_built_here() -> None:
    host = JobMachine(plan(party="host", parties=("guest", "host", "arbiter")))
    host.handle(host.plan)
    host.handle(JobStarted("j1", at=1.0))
    host.handle(TaskStarted("j1", "reader_0", 1, 10, at=2.0))
    actions = host.handle(PeerFailed("j1", "arbiter", "psi_0", "DATA_INVALID", 1, at=3.0))
    assert host.state is State.FAILED
    assert host.reason == "cancelled because arbiter failed: DATA_INVALID in psi_0"
    assert of(actions, StopTask) == [StopTask("j1", "reader_0", 1)]
    assert of(actions, NotifyParties) == []  # a partner does not re-broadcast: it did not fail
    assert ReportTask("j1", "reader_0", State.CANCELED, 1) in actions
    assert host.handle(PeerFailed("j1", "guest", None, "INTERNAL", 1, at=4.0)) == []
    # the initiator relays, naming the party the failure belongs to
    guest = JobMachine(plan(parties=("guest", "host", "arbiter")))
    guest.handle(guest.plan)
    actions = guest.handle(PeerFailed("j1", "arbiter", None, NODE_RESTARTED, 1, at=3.0))
    assert guest.reason == "cancelled because arbiter failed: NODE_RESTARTED"
    assert of(actions, NotifyParties) == [
        NotifyParties("j1", State.FAILED, 1, None, NODE_RESTARTED, origin="arbiter")
    ]


def test_peer_notices_from_an_older_attempt_or_about_this_party_change_nothing() -> None:
    machine = running_initiator()
    assert machine.handle(PeerFailed("j1", "host", "psi_0", "INTERNAL", 0, at=2.0)) == []
    assert machine.handle(PeerEnded("j1", "guest", State.CANCELED, 1, at=2.0)) == []
    assert machine.state is State.RUNNING
    with pytest.raises(InvalidInputError):
        machine.handle(PeerFailed("j1", "mallory", None, "INTERNAL", 1, at=2.0))
    with pytest.raises(InvalidInputError):
        PeerEnded("j1", "host", State.FAILED, 1, at=2.0)


def test_stop_is_idempotent_and_a_no_op_on_an_ended_job() -> None:
    machine = running_initiator()
    machine.handle(TaskStarted("j1", "reader_0", 1, 10, at=2.0))
    actions = machine.handle(StopRequested("j1", "stopped by alice", at=3.0))
    assert machine.state is State.CANCELED and machine.reason == "stopped by alice"
    assert of(actions, StopTask) == [StopTask("j1", "reader_0", 1)]
    assert of(actions, NotifyParties) == [NotifyParties("j1", State.CANCELED, 1)]
    assert set(machine.task_states.values()) == {State.CANCELED}
    assert machine.handle(StopRequested("j1", "again", at=4.0)) == []
    assert machine.reason == "stopped by alice"
    single = JobMachine(plan(parties=("guest",), components=(ComponentNode("a", (), ("guest",)),)))
    single.handle(single.plan)
    run(single, "a")
    assert single.handle(StopRequested("j1", "late", at=5.0)) == []
    assert single.state is State.SUCCESS


def test_a_partner_stop_cancels_and_the_initiator_relays_it() -> None:
    machine = running_initiator()
    actions = machine.handle(PeerEnded("j1", "host", State.CANCELED, 1, at=2.0))
    assert machine.state is State.CANCELED and machine.reason == "canceled by host"
    assert of(actions, NotifyParties) == [NotifyParties("j1", State.CANCELED, 1, origin="host")]


def test_the_initiator_succeeds_when_every_party_succeeded() -> None:
    machine = running_initiator()
    for component in ("reader_0", "psi_0", "lr_0", "eval_0"):
        run(machine, component)
    assert machine.state is State.RUNNING  # the host has not reported
    stale = PeerTaskState("j1", "host", "reader_0", State.SUCCESS, 0, at=3.0)
    assert machine.handle(stale) == []
    actions: list[Action] = []
    for component in ("reader_0", "psi_0", "lr_0"):
        actions = machine.handle(PeerTaskState("j1", "host", component, State.SUCCESS, 1, at=3.0))
    assert RecordTask("j1", "host", "lr_0", State.SUCCESS) in actions
    late = PeerTaskState("j1", "host", "reader_0", State.RUNNING, 1, at=3.0)
    assert machine.handle(late) == []  # a task that ended does not change again
    assert machine.peer_task_states["host", "reader_0"] is State.SUCCESS
    assert actions[-2:] == [
        RecordJob("j1", State.SUCCESS, 1, None),
        NotifyParties("j1", State.SUCCESS, 1),
    ]
    with pytest.raises(InvalidInputError):
        machine.handle(PeerTaskState("j1", "host", "eval_0", State.SUCCESS, 1, at=3.0))


def test_a_partner_succeeds_on_the_initiators_verdict_and_can_still_fail_before() -> None:
    host = JobMachine(plan(party="host", parties=("guest", "host", "arbiter")))
    host.handle(host.plan)
    host.handle(JobStarted("j1", at=1.0))
    assert host.handle(PeerEnded("j1", "guest", State.SUCCESS, 1, at=2.0)) == []  # too early
    for component in ("reader_0", "psi_0", "lr_0"):
        actions = run(host, component)
    assert ReportTask("j1", "lr_0", State.SUCCESS, 1) in actions
    assert host.state is State.RUNNING
    assert host.handle(PeerEnded("j1", "arbiter", State.SUCCESS, 1, at=3.0)) == []  # not its say
    actions = host.handle(PeerEnded("j1", "guest", State.SUCCESS, 1, at=3.0))
    assert actions == [RecordJob("j1", State.SUCCESS, 1, None)]
    assert State(host.state) is State.SUCCESS  # (re-read: mypy narrowed it to RUNNING)
    # a failure elsewhere after this party's part was done still fails the job here
    other = JobMachine(plan(party="host"))
    other.handle(other.plan)
    other.handle(JobStarted("j1", at=1.0))
    for component in ("reader_0", "psi_0", "lr_0"):
        run(other, component)
    other.handle(PeerFailed("j1", "guest", "eval_0", "JOB_FAILED", 1, at=4.0))
    assert other.state is State.FAILED
    assert set(other.task_states.values()) == {State.SUCCESS}


def test_the_job_times_out_at_its_deadline() -> None:
    machine = running_initiator()
    machine.handle(TaskStarted("j1", "reader_0", 1, 10, at=2.0))
    assert machine.handle(Tick(at=99.0)) == []
    actions = machine.handle(Tick(at=100.0))
    assert machine.state is State.TIMEOUT and machine.reason == "timed out after 100 s"
    assert of(actions, StopTask) == [StopTask("j1", "reader_0", 1)]
    assert set(machine.task_states.values()) == {State.TIMEOUT}
    assert of(actions, NotifyParties) == [NotifyParties("j1", State.TIMEOUT, 1)]
    assert machine.handle(Tick(at=200.0)) == []


def test_after_the_end_a_starting_task_is_stopped_and_nothing_launches() -> None:
    machine = running_initiator()  # reader_0 launched, not started
    actions = machine.handle(StopRequested("j1", "stop", at=2.0))
    assert StopTask("j1", "reader_0", 1) in actions
    assert machine.handle(TaskStarted("j1", "reader_0", 1, 10, at=3.0)) == [
        StopTask("j1", "reader_0", 1)
    ]
    assert machine.task_states["reader_0"] is State.CANCELED
    assert not machine.wants_launch("reader_0", 1)


def test_rerun_continues_from_the_failed_component() -> None:
    machine = running_initiator()
    run(machine, "reader_0")
    machine.handle(PeerTaskState("j1", "host", "reader_0", State.SUCCESS, 1, at=2.0))
    machine.handle(TaskStarted("j1", "psi_0", 1, 10, at=3.0))
    machine.handle(TaskFailed("j1", "psi_0", 1, "DATA_INVALID", "x", at=4.0))
    assert machine.handle(RerunRequested("j1", at=5.0)) != []
    assert machine.attempt == 2 and machine.state is State.RUNNING and machine.reason is None
    assert machine.task_states["reader_0"] is State.SUCCESS
    assert machine.task_states["psi_0"] is State.WAITING
    assert machine.peer_task_states["host", "reader_0"] is State.SUCCESS
    assert machine.peer_task_states["host", "psi_0"] is State.WAITING
    assert machine.handle(RerunRequested("j1", at=6.0)) == []  # it is running
    assert machine.handle(TaskSucceeded("j1", "psi_0", 1, at=6.0)) == []  # the old attempt


def test_rerun_actions_broadcast_the_redo_set_and_relaunch_in_dag_order() -> None:
    machine = running_initiator()
    run(machine, "reader_0")
    machine.handle(PeerTaskState("j1", "host", "reader_0", State.SUCCESS, 1, at=2.0))
    machine.handle(StopRequested("j1", "stop", at=3.0))
    actions = machine.handle(RerunRequested("j1", at=10.0))
    assert actions[0] == RecordJob("j1", State.RUNNING, 2, None)
    redo = frozenset({"psi_0", "lr_0", "eval_0"})
    assert BroadcastRerun("j1", 2, redo) in actions
    assert launched(actions) == ["psi_0"]
    assert machine.handle(Tick(at=109.0)) == []  # the deadline restarts with the rerun
    assert machine.handle(Tick(at=110.0)) != []


def test_rerun_redoes_a_component_that_succeeded_here_but_failed_on_a_partner() -> None:
    machine = running_initiator()
    run(machine, "reader_0")  # guest's reader_0 finished; the host's failed after its last send
    machine.handle(PeerTaskState("j1", "host", "reader_0", State.FAILED, 1, at=2.0))
    machine.handle(PeerFailed("j1", "host", "reader_0", "INTERNAL", 1, at=2.0))
    actions = machine.handle(RerunRequested("j1", at=3.0))
    assert launched(actions) == ["reader_0"]
    assert BroadcastRerun("j1", 2, frozenset(c.id for c in PIPELINE)) in actions


def test_a_partner_reruns_what_the_initiator_names_and_keeps_the_rest() -> None:
    host = JobMachine(plan(party="host"))
    host.handle(host.plan)
    host.handle(JobStarted("j1", at=1.0))
    run(host, "reader_0")
    run(host, "psi_0")
    host.handle(PeerFailed("j1", "guest", "lr_0", "INTERNAL", 1, at=3.0))
    with pytest.raises(InvalidInputError):
        host.handle(RerunRequested("j1", at=4.0))  # a rerun is the initiator's to start
    rerun = RerunRequested("j1", 2, frozenset({"psi_0", "lr_0", "eval_0"}), at=4.0)
    actions = host.handle(rerun)
    assert launched(actions) == ["psi_0"] and host.attempt == 2
    assert host.task_states["reader_0"] is State.SUCCESS
    assert of(actions, BroadcastRerun) == []
    assert host.handle(rerun) == []  # the same message twice


def test_a_job_that_never_started_cannot_be_rerun() -> None:
    machine = JobMachine(plan())
    machine.handle(machine.plan)
    actions = machine.handle(PartyRejected("j1", "host", "component not permitted", at=1.0))
    assert machine.state is State.FAILED
    assert machine.reason == "rejected by host: component not permitted"
    assert of(actions, NotifyParties) == [NotifyParties("j1", State.CANCELED, 1)]
    assert machine.handle(RerunRequested("j1", at=2.0)) == []


def test_events_naming_what_the_job_does_not_hold_are_refused() -> None:
    machine = running_initiator()
    with pytest.raises(InvalidInputError):
        machine.handle(TaskStarted("j1", "nope", 1, 1, at=2.0))
    with pytest.raises(InvalidInputError):
        machine.handle(TaskStarted("j2", "reader_0", 1, 1, at=2.0))
    with pytest.raises(InvalidInputError):
        machine.handle(plan(timeout_s=5.0))  # the same job, another plan


@pytest.mark.parametrize(
    ("components", "kwargs"),
    [
        ((ComponentNode("a", ("b",), GH), ComponentNode("b", ("a",), GH)), {}),
        ((ComponentNode("a", ("zz",), GH),), {}),
        ((ComponentNode("a", (), GH), ComponentNode("a", (), GH)), {}),
        ((ComponentNode("a", (), ("guest", "eve")),), {}),
        ((ComponentNode("a", (), GH),), {"timeout_s": 0.0}),
        ((ComponentNode("a", (), GH),), {"initiator": "eve"}),
    ],
)
def test_malformed_plans_are_refused(
    components: tuple[ComponentNode, ...], kwargs: dict[str, object]
) -> None:
    with pytest.raises(InvalidInputError):
        plan(components=components, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ the node


def test_a_restarted_node_fails_its_unfinished_jobs_and_tells_the_partners() -> None:
    node = NodeScheduler(max_concurrent_tasks=2)
    tasks = {("guest", "reader_0"): State.SUCCESS, ("guest", "psi_0"): State.RUNNING}
    tasks |= {("host", "reader_0"): State.SUCCESS}
    actions = node.restore(
        plan(), state=State.RUNNING, task_states=tasks, attempt=1, started=True, at=50.0
    )
    machine = node.job("j1")
    assert machine.state is State.FAILED and machine.reason == RESTART_REASON
    assert machine.task_states["psi_0"] is State.FAILED
    assert machine.task_states["lr_0"] is State.CANCELED
    assert of(actions, StopTask) == []  # the old processes are gone with the old node
    assert of(actions, NotifyParties) == [NotifyParties("j1", State.FAILED, 1, code=NODE_RESTARTED)]
    done = node.restore(
        plan("j2"), state=State.SUCCESS, task_states={}, attempt=1, started=True, at=50.0
    )
    assert done == [] and node.job("j2").state is State.SUCCESS
    # a rerun after the restart reuses what had succeeded
    assert launched(node.handle(RerunRequested("j1", at=60.0))) == ["psi_0"]


def test_launches_beyond_the_limit_wait_in_one_queue_across_jobs() -> None:
    node = NodeScheduler(max_concurrent_tasks=1)
    single = ("guest",)
    components = (ComponentNode("a", (), single), ComponentNode("b", (), single))
    first = node.handle(plan("j1", parties=single, components=components))
    assert launched(first) == ["a"]
    assert launched(node.handle(plan("j2", parties=single, components=components))) == []
    queued = [(a.job_id, a.component) for a in node.queued]
    assert queued == [("j1", "b"), ("j2", "a"), ("j2", "b")]
    node.handle(TaskStarted("j1", "a", 1, 10, at=1.0))
    actions = node.handle(TaskSucceeded("j1", "a", 1, at=2.0))
    assert [(a.job_id, a.component) for a in actions if isinstance(a, LaunchTask)] == [("j1", "b")]
    # a queued launch of a stopped job is dropped, and there is nothing to stop
    assert of(node.handle(StopRequested("j2", "stop", at=3.0)), StopTask) == []
    assert launched(node.handle(TaskSucceeded("j1", "b", 1, at=4.0))) == []
    assert node.queued == () and node.live == frozenset()


def test_a_rerun_launch_waits_for_the_old_process_to_be_gone() -> None:
    node = NodeScheduler(max_concurrent_tasks=4)
    single = ("guest",)
    components = (ComponentNode("a", (), single), ComponentNode("b", (), single))
    node.handle(plan(parties=single, components=components))
    node.handle(TaskStarted("j1", "a", 1, 10, at=1.0))
    node.handle(TaskStarted("j1", "b", 1, 11, at=1.0))
    actions = node.handle(TaskFailed("j1", "a", 1, "INTERNAL", "boom", at=2.0))
    assert of(actions, StopTask) == [StopTask("j1", "b", 1)]
    assert launched(node.handle(RerunRequested("j1", at=3.0))) == ["a"]  # b's process lives on
    assert launched(node.handle(TaskKilled("j1", "b", 1, at=4.0))) == ["b"]
    assert node.live == {("j1", "a", 2), ("j1", "b", 2)}


def test_submit_is_idempotent_by_request_id() -> None:
    node = NodeScheduler(max_concurrent_tasks=2)
    first = node.submit(plan("j1", request_id="r1"))
    assert first.created and first.job_id == "j1" and first.actions
    again = node.submit(plan("j9", request_id="r1"))
    assert (again.job_id, again.created, again.actions) == ("j1", False, ())
    assert node.handle(plan("j9", request_id="r1")) == []
    assert list(node.jobs) == ["j1"] and node.job_for_request("r1") == "j1"
    with pytest.raises(InvalidInputError):
        node.submit(plan("j1", request_id="r2"))


def test_events_of_an_unknown_job_raise_a_typed_error() -> None:
    node = NodeScheduler(max_concurrent_tasks=2)
    with pytest.raises(UnknownJobError) as info:
        node.handle(StopRequested("nope", "stop", at=0.0))
    assert isinstance(info.value, InvalidInputError) and info.value.code == "INVALID_INPUT"
    with pytest.raises(InvalidInputError):
        NodeScheduler(max_concurrent_tasks=0)
