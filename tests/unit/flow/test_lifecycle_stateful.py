"""Random histories of a node's jobs: every one can be driven to a final state, and no rule of
the lifecycle is broken on the way (stop, failure and submit idempotent, slots respected)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from chaihuo.flow._lifecycle import JobMachine
from chaihuo.flow._lifecycle_events import (
    FINAL,
    Action,
    ComponentNode,
    Event,
    JobStarted,
    JobSubmitted,
    LaunchTask,
    PartyAccepted,
    PartyRejected,
    PeerEnded,
    PeerFailed,
    PeerTaskState,
    RerunRequested,
    State,
    StopRequested,
    StopTask,
    TaskFailed,
    TaskKilled,
    TaskStarted,
    TaskSucceeded,
    Tick,
)
from chaihuo.flow._lifecycle_node import NodeScheduler

ME = "guest"
LIMIT = 2
RERUNNABLE = {State.FAILED, State.CANCELED, State.TIMEOUT}
Slot = tuple[str, str, int]


@st.composite
def job_plans(draw: Any) -> tuple[bool, tuple[str, ...], tuple[ComponentNode, ...]]:
    """Whether this node initiates, the job's parties, and a DAG of 1–4 components."""
    parties = draw(st.sampled_from([(ME, "host"), (ME, "host", "arbiter")]))
    nodes: list[ComponentNode] = []
    for i in range(draw(st.integers(1, 4))):
        upstream = draw(st.sets(st.sampled_from([n.id for n in nodes]))) if nodes else set()
        runs = draw(st.sets(st.sampled_from(parties), min_size=1))
        nodes.append(ComponentNode(f"c{i}", tuple(sorted(upstream)), tuple(sorted(runs))))
    return draw(st.booleans()), parties, tuple(nodes)


def expected_redo(machine: JobMachine, given: frozenset[str]) -> set[str]:
    """The oracle: components some party has not succeeded at, and what lies downstream."""
    seeds = set(given) | {c for c, s in machine.task_states.items() if s is not State.SUCCESS}
    if machine.is_initiator:
        seeds |= {c for (_, c), s in machine.peer_task_states.items() if s is not State.SUCCESS}
    redo = set(seeds)
    changed = True
    while changed:
        grown = {n.id for n in machine.plan.components if set(n.upstream) & redo}
        changed = not grown <= redo
        redo |= grown
    return redo


class NodeHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.node = NodeScheduler(max_concurrent_tasks=LIMIT)
        self.now = 0.0
        self.procs: dict[Slot, str] = {}  # the driver's processes: launched, started, stopping
        self.count = 0

    # ---------------------------------------------------------------------------- helpers

    def feed(self, event: Event) -> list[Action]:
        actions = self.node.handle(event)
        for action in actions:
            if isinstance(action, LaunchTask):
                machine = self.node.job(action.job_id)
                assert machine.state is State.RUNNING, "a launch for a job that is not running"
                assert action.attempt == machine.attempt
                assert machine.task_states[action.component] is State.WAITING
                slot = (action.job_id, action.component, action.attempt)
                assert slot not in self.procs
                self.procs[slot] = "launched"
            elif isinstance(action, StopTask):
                slot = (action.job_id, action.component, action.attempt)
                assert slot in self.procs, "a stop for a process that was never launched"
                self.procs[slot] = "stopping"
        return actions

    def pick(self, data: Any, options: list[Any]) -> Any:
        return data.draw(st.sampled_from(options)) if options else None

    def pick_job(self, data: Any, *, initiator: bool | None = None) -> JobMachine | None:
        """Mostly a job still going (where events change things), sometimes any job."""
        jobs = self.machines(initiator=initiator)
        going = [m for m in jobs if m.state not in FINAL]
        machine: JobMachine | None = self.pick(
            data, going if going and data.draw(st.integers(0, 3)) else jobs
        )
        return machine

    def machines(self, *, initiator: bool | None = None) -> list[JobMachine]:
        jobs = [self.node.jobs[j] for j in sorted(self.node.jobs)]
        return [m for m in jobs if initiator is None or m.is_initiator == initiator]

    def partners(self, machine: JobMachine) -> list[str]:
        return [p for p in machine.plan.parties if p != ME]

    def end_process(self, slot: Slot, how: str) -> list[Action]:
        job_id, component, attempt = slot
        del self.procs[slot]
        if how == "ok":
            return self.feed(TaskSucceeded(job_id, component, attempt, at=self.now))
        if how == "killed":
            return self.feed(TaskKilled(job_id, component, attempt, at=self.now))
        failed = TaskFailed(job_id, component, attempt, "DATA_INVALID", "secret", at=self.now)
        actions = self.feed(failed)
        assert self.node.handle(failed) == [], "a repeated failure must change nothing"
        return actions

    # ------------------------------------------------------------------------------ rules

    @initialize(shapes=st.lists(job_plans(), min_size=2, max_size=3))
    def first_jobs(self, shapes: list[Any]) -> None:
        for i, shape in enumerate(shapes):
            self.submit(shape, f"r{i}")

    @rule(shape=job_plans(), request=st.sampled_from(["r0", "r1", "r2", "r3", "r4", "r5"]))
    def submit(self, shape: Any, request: str) -> None:
        initiator, parties, components = shape
        self.count += 1
        job_id = f"j{self.count}"
        event = JobSubmitted(
            job_id, request, ME, ME if initiator else "host", parties, components, 40.0, at=self.now
        )
        before = self.node.job_for_request(request)
        jobs = len(self.node.jobs)
        if before is not None:
            submission = self.node.submit(event)
            assert (submission.job_id, submission.created, submission.actions) == (
                before,
                False,
                (),
            )
            assert len(self.node.jobs) == jobs
        else:
            self.feed(event)
            assert self.node.job_for_request(request) == job_id

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data(), reject=st.sampled_from([False, False, False, True]))
    def answer_proposal(self, data: Any, reject: bool) -> None:
        machine = self.pick_job(data, initiator=True)
        if machine is not None:
            party = data.draw(st.sampled_from(self.partners(machine)))
            answer = PartyRejected if reject else PartyAccepted
            args = (machine.job_id, party, "no") if reject else (machine.job_id, party)
            self.feed(answer(*args, at=self.now))

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data())
    def every_partner_accepts(self, data: Any) -> None:
        machine = self.pick_job(data, initiator=True)
        if machine is not None:
            for party in self.partners(machine):
                self.feed(PartyAccepted(machine.job_id, party, at=self.now))

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data())
    def initiator_says_start(self, data: Any) -> None:
        machine = self.pick_job(data, initiator=False)
        if machine is not None:
            self.feed(JobStarted(machine.job_id, at=self.now))

    @precondition(lambda self: bool(self.procs))
    @rule(data=st.data())
    def process_starts(self, data: Any) -> None:
        slot = self.pick(data, sorted(s for s, v in self.procs.items() if v == "launched"))
        if slot is not None:
            self.procs[slot] = "started"
            self.feed(TaskStarted(slot[0], slot[1], slot[2], 1, at=self.now))
            machine = self.node.job(slot[0])
            if machine.task_states[slot[1]] is not State.RUNNING or slot[2] != machine.attempt:
                assert self.procs[slot] == "stopping", "a process of an ended job left running"

    @precondition(lambda self: bool(self.procs))
    @rule(data=st.data(), how=st.sampled_from(["ok", "ok", "ok", "failed", "killed"]))
    def process_ends(self, data: Any, how: str) -> None:
        slot = self.pick(data, sorted(self.procs))
        if slot is not None:
            self.end_process(slot, how)

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data())
    def drive_one_job(self, data: Any) -> None:
        """Everything goes well for one job for a while: reach deep states in few steps."""
        machine = self.pick_job(data)
        if machine is not None:
            self.drain_once(only=machine.job_id)

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data(), state=st.sampled_from([State.SUCCESS, State.SUCCESS, State.CANCELED]))
    def partner_reports_a_task(self, data: Any, state: State) -> None:
        machine = self.pick_job(data, initiator=True)
        if machine is not None and machine.peer_task_states:
            party, component = data.draw(st.sampled_from(sorted(machine.peer_task_states)))
            event = PeerTaskState(machine.job_id, party, component, state, machine.attempt, at=0)
            self.feed(event)

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data())
    def partners_report_every_task_done(self, data: Any) -> None:
        machine = self.pick_job(data, initiator=True)
        if machine is not None:
            for party, component in sorted(machine.peer_task_states):
                ok = PeerTaskState(
                    machine.job_id, party, component, State.SUCCESS, machine.attempt, at=0
                )
                self.feed(ok)

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data())
    def partner_fails(self, data: Any) -> None:
        machine = self.pick_job(data)
        if machine is not None:
            party = data.draw(st.sampled_from(self.partners(machine)))
            notice = PeerFailed(machine.job_id, party, None, "INTERNAL", machine.attempt, at=0)
            self.feed(notice)
            assert machine.state in FINAL
            assert self.node.handle(notice) == [], "a repeated failure notice must change nothing"

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data(), state=st.sampled_from([State.CANCELED, State.TIMEOUT, State.SUCCESS]))
    def partner_ends(self, data: Any, state: State) -> None:
        machine = self.pick_job(data)
        if machine is not None:
            party = data.draw(st.sampled_from(self.partners(machine)))
            self.feed(PeerEnded(machine.job_id, party, state, machine.attempt, at=self.now))

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data())
    def stop(self, data: Any) -> None:
        machine = self.pick_job(data)
        if machine is not None:
            was = machine.state
            actions = self.feed(StopRequested(machine.job_id, "stop", at=self.now))
            assert (actions == []) == (was in FINAL)
            assert machine.state is (was if was in FINAL else State.CANCELED)
            assert self.node.handle(StopRequested(machine.job_id, "again", at=self.now)) == []

    @rule(step=st.floats(0, 10))
    def tick(self, step: float) -> None:
        self.now += step
        self.feed(Tick(at=self.now))

    @precondition(lambda self: bool(self.node.jobs))
    @rule(data=st.data())
    def rerun(self, data: Any) -> None:
        ended = [m for m in self.machines() if m.state in RERUNNABLE and m.started]
        machine = self.pick(data, ended if ended and data.draw(st.booleans()) else self.machines())
        if machine is None:
            return
        given: frozenset[str] = frozenset()
        if not machine.is_initiator:
            ids = [n.id for n in machine.plan.components]
            given = frozenset(data.draw(st.sets(st.sampled_from(ids))))
        redo = expected_redo(machine, given)
        before, was = dict(machine.task_states), machine.state
        attempt = None if machine.is_initiator else machine.attempt + 1
        actions = self.feed(RerunRequested(machine.job_id, attempt, given, at=self.now))
        if was not in RERUNNABLE or not machine.started:
            assert actions == [] and machine.state is was, "only an unsuccessful end reruns"
            return
        assert machine.state in (State.RUNNING, State.SUCCESS) and machine.attempt > 1
        for component, state in before.items():
            if state is State.SUCCESS and component not in redo:
                assert machine.task_states[component] is State.SUCCESS, "a reused output redone"
                assert not any(
                    isinstance(a, LaunchTask)
                    and a.job_id == machine.job_id
                    and a.component == component
                    for a in actions
                )

    # ------------------------------------------------------------------------- invariants

    @invariant()
    def slots_are_respected(self) -> None:
        assert set(self.procs) == self.node.live
        tasks = [(job_id, component) for job_id, component, _ in self.node.live]
        assert len(tasks) == len(set(tasks)), "two processes of one task"
        assert len(self.node.live) <= LIMIT
        running = [
            (m.job_id, c, m.attempt)
            for m in self.machines()
            for c, s in m.task_states.items()
            if s is State.RUNNING
        ]
        assert set(running) <= self.node.live

    @invariant()
    def ended_jobs_are_consistent(self) -> None:
        for machine in self.machines():
            tasks = set(machine.task_states.values())
            if machine.state in FINAL:
                assert State.RUNNING not in tasks and State.WAITING not in tasks
            if machine.state is State.SUCCESS:
                assert tasks <= {State.SUCCESS}
                if machine.is_initiator:
                    assert set(machine.peer_task_states.values()) <= {State.SUCCESS}

    def teardown(self) -> None:
        """Drain: deliver every answer and end every process well; every job must end."""
        for _ in range(60):
            if not self.procs and all(m.state in FINAL for m in self.machines()):
                break
            self.drain_once()
        assert all(m.state in FINAL for m in self.machines()), "a job that never ends"
        assert not self.procs and not self.node.live and not self.node.queued

    def drain_once(self, only: str | None = None) -> None:
        for machine in self.machines():
            if only is not None and machine.job_id != only:
                continue
            if machine.state is State.WAITING:
                if machine.is_initiator:
                    for party in self.partners(machine):
                        self.feed(PartyAccepted(machine.job_id, party, at=self.now))
                else:
                    self.feed(JobStarted(machine.job_id, at=self.now))
        for slot, status in sorted(self.procs.items()):
            if only is not None and slot[0] != only:
                continue
            if status == "launched":
                self.procs[slot] = "started"
                self.feed(TaskStarted(slot[0], slot[1], slot[2], 1, at=self.now))
            self.end_process(slot, "killed" if self.procs[slot] == "stopping" else "ok")
        for machine in self.machines():
            if machine.state is not State.RUNNING or only not in (None, machine.job_id):
                continue
            ended = {
                p for (p, _), v in machine.peer_task_states.items() if v in FINAL - {State.SUCCESS}
            }
            if machine.is_initiator and ended:
                # a partner whose task ended unsuccessfully also sent how its part ended
                notice = PeerEnded(
                    machine.job_id, min(ended), State.CANCELED, machine.attempt, at=0
                )
                self.feed(notice)
            elif machine.is_initiator:
                for party, component in sorted(machine.peer_task_states):
                    ok = PeerTaskState(
                        machine.job_id, party, component, State.SUCCESS, machine.attempt, at=0
                    )
                    self.feed(ok)
            elif set(machine.task_states.values()) <= {State.SUCCESS}:
                verdict = PeerEnded(machine.job_id, "host", State.SUCCESS, machine.attempt, at=0)
                self.feed(verdict)


NodeHistory.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestNodeHistory = NodeHistory.TestCase
