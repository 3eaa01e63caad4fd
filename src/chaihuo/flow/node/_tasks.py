"""A node's task processes: one per component of a job on this party, started, watched, stopped."""

# Each task runs the shared party worker (`python -m chaihuo.components TASK.json`) in a
# session of its own, so stopping it reaches its crypto and computing pool processes too:
# SIGTERM first (the worker cancels, records where it was and exits, chaihuo.components.
# _lifecycle), SIGKILL to its process group after STOP_GRACE_S. The worker watches the node's
# pid, so a node killed outright does not leave tasks behind. One thread per task waits for
# its exit and hands the node a TaskExit with what the worker reported in its result.json.

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chaihuo.components import PartyResult, PartyTask

__all__ = ["STOP_GRACE_S", "TaskExit", "TaskProcesses"]

STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class TaskExit:
    """How a task process ended."""

    job_id: str
    component: str
    attempt: int
    returncode: int
    result: PartyResult | None
    stopped: bool

    @property
    def succeeded(self) -> bool:
        """Exit 0 with a successful result."""
        return self.returncode == 0 and self.result is not None and self.result.status == "success"


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    attempt: int
    stopped: bool = False


class TaskProcesses:
    """The running task processes of one node."""

    def __init__(self, on_exit: Callable[[TaskExit], None]) -> None:
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], _Running] = {}

    def launch(self, job_id: str, component: str, attempt: int, task: PartyTask) -> int:
        """Write the task file and start its worker; returns the pid."""
        folder = task.report_dir or task.work_dir / task.party_id
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        task_file = folder / "task.json"
        task_file.write_text(task.model_dump_json(indent=2), encoding="utf-8")
        with (folder / "worker.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our interpreter and module, no shell
                [sys.executable, "-m", "chaihuo.components", str(task_file),
                 "--parent-pid", str(os.getpid())],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )  # fmt: skip
        entry = _Running(process, attempt)
        with self._lock:
            self._running[(job_id, component)] = entry
        threading.Thread(
            target=self._wait, args=(job_id, component, entry, folder),
            name=f"task-{job_id}-{component}", daemon=True,
        ).start()  # fmt: skip
        return process.pid

    def _wait(self, job_id: str, component: str, entry: _Running, folder: Path) -> None:
        code = entry.process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(entry.process.pid, signal.SIGKILL)  # pool processes of a killed worker
        with self._lock:
            if self._running.get((job_id, component)) is entry:
                del self._running[(job_id, component)]
        result: PartyResult | None = None
        with contextlib.suppress(OSError, ValueError):
            result = PartyResult.model_validate_json((folder / "result.json").read_text())
        self._on_exit(TaskExit(job_id, component, entry.attempt, code, result, entry.stopped))

    def stop(self, job_id: str, component: str) -> bool:
        """SIGTERM the task, SIGKILL its group after STOP_GRACE_S; False if not running."""
        with self._lock:
            entry = self._running.get((job_id, component))
        if entry is None:
            return False
        entry.stopped = True
        with contextlib.suppress(ProcessLookupError):
            entry.process.send_signal(signal.SIGTERM)
        timer = threading.Timer(STOP_GRACE_S, self._kill, args=(entry,))
        timer.daemon = True
        timer.start()
        return True

    @staticmethod
    def _kill(entry: _Running) -> None:
        if entry.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(entry.process.pid, signal.SIGKILL)

    def running(self) -> list[tuple[str, str]]:
        """(job id, component) of every running task."""
        with self._lock:
            return list(self._running)

    def stop_all(self, *, wait_s: float = STOP_GRACE_S + 1) -> None:
        """Stop every task and wait for them (the node is shutting down)."""
        with self._lock:
            entries = list(self._running.items())
        for (job_id, component), _ in entries:
            self.stop(job_id, component)
        for _, entry in entries:
            with contextlib.suppress(subprocess.TimeoutExpired):
                entry.process.wait(timeout=wait_s)
