"""The worker processes of a local run: started, followed, and stopped on failure or interrupt."""

# Each worker runs in its own session, so a Ctrl-C at the terminal reaches only the launcher.
# The launcher stops workers in two steps: SIGTERM (the worker cancels its job, records where
# it was, exits; chaihuo.components._lifecycle) and, STOP_GRACE_S later, SIGKILL to the
# worker's whole process group (its crypto and computing pool processes too). It stops them
# when the run is interrupted (SIGINT, SIGTERM; a second interrupt skips the grace) and,
# FAILURE_GRACE_S after the first party failed, the parties still running: their abort
# notices have had time to arrive, so they have recorded why. Whatever happens, every
# worker's process group is killed before the launcher returns.

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from chaihuo.components import PartyResult, PartyTask

__all__ = ["EventTail", "Interrupts", "PartyProcess", "launch", "supervise"]

POLL_S = 0.2
FAILURE_GRACE_S = 5.0
STOP_GRACE_S = 5.0


@dataclass
class PartyProcess:
    """One party's worker process and what the launcher saw of it."""

    task: PartyTask
    roles: list[str]
    process: subprocess.Popen[bytes]
    exited_at: float | None = None
    stopped: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def party_id(self) -> str:
        """The party's id."""
        return self.task.party_id

    @property
    def directory(self) -> Path:
        """The party's work folder (task, log, events, result, outputs)."""
        return self.task.work_dir / self.task.party_id

    @property
    def label(self) -> str:
        """`party 10000 (host)` for messages."""
        return f"party {self.party_id} ({', '.join(self.roles)})"

    def result(self) -> PartyResult | None:
        """The party's own report as it last wrote it (None if it wrote none)."""
        path = self.directory / "result.json"
        try:
            return PartyResult.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def signal(self, signum: int, *, group: bool = False) -> None:
        """Send `signum` to the worker (or its whole process group); gone is fine."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(self.process.pid, signum)
            else:
                self.process.send_signal(signum)


def launch(task: PartyTask, roles: list[str]) -> PartyProcess:
    """Start one party's worker in its own session, its output in its worker.log."""
    party_dir = task.work_dir / task.party_id
    party_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    task_file = party_dir / "task.json"
    task_file.write_text(task.model_dump_json(indent=2), encoding="utf-8")
    with (party_dir / "worker.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [
                sys.executable, "-m", "chaihuo.components", str(task_file),
                "--parent-pid", str(os.getpid()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )  # fmt: skip
    return PartyProcess(task=task, roles=roles, process=process)


class EventTail:
    """Follows every party's events.jsonl from where it last stopped reading."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None]) -> None:
        self._on_event = on_event
        self._offsets: dict[str, int] = {}

    def poll(self, parties: list[PartyProcess]) -> None:
        """Deliver the complete lines written since the last poll."""
        for party in parties:
            path = party.directory / "events.jsonl"
            try:
                with path.open("rb") as handle:
                    handle.seek(self._offsets.get(party.party_id, 0))
                    chunk = handle.read()
            except FileNotFoundError:
                continue
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[party.party_id] = self._offsets.get(party.party_id, 0) + len(complete)
            for line in complete.decode("utf-8", "replace").splitlines():
                with contextlib.suppress(ValueError):
                    event = {"party": party.party_id, **json.loads(line)}
                    if event.get("event") != "progress":
                        party.events.append(event)
                    self._on_event(event)


class Interrupts:
    """SIGINT and SIGTERM to the launcher, counted instead of killing it (main thread only)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = self.signal or signum
        self.count += 1

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupts]:
        """Handle both signals for the duration; restore the previous handlers after."""
        if threading.current_thread() is threading.main_thread():
            for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
                self._previous[signum] = signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)


def _failed(party: PartyProcess) -> bool:
    code = party.process.poll()
    return code is not None and code != 0


def _stop_all(parties: list[PartyProcess]) -> None:
    for party in parties:
        if party.process.poll() is None and not party.stopped:
            party.stopped = True
            party.signal(signal.SIGTERM)


def supervise(parties: list[PartyProcess], tail: EventTail, interrupts: Interrupts) -> None:
    """Follow the workers until every one has ended (see module comment for the stops)."""
    failed_at: float | None = None
    stop_deadline: float | None = None
    while True:
        tail.poll(parties)
        now = time.monotonic()
        for party in parties:
            if party.exited_at is None and party.process.poll() is not None:
                party.exited_at = time.time()
        if all(party.exited_at is not None for party in parties):
            break
        if failed_at is None and any(_failed(p) for p in parties):
            failed_at = now
        late_failure = failed_at is not None and now - failed_at > FAILURE_GRACE_S
        if stop_deadline is None and (interrupts.signal is not None or late_failure):
            _stop_all(parties)
            stop_deadline = now + STOP_GRACE_S
        if stop_deadline is not None and (now > stop_deadline or interrupts.count > 1):
            for party in parties:
                if party.process.poll() is None:
                    party.signal(signal.SIGKILL, group=True)
        time.sleep(POLL_S)
    tail.poll(parties)
    for party in parties:  # pool processes of a worker that was killed outright
        party.signal(signal.SIGKILL, group=True)
