"""How a party's worker process ends when told to: signals, a vanished launcher, a hard limit."""

# A worker runs in its own session (the launcher starts it so), so a Ctrl-C at the terminal
# reaches only the launcher, which stops each worker with SIGTERM. On SIGTERM or SIGINT the
# worker cancels its job (every pending receive and send raises at once), lets its role
# threads record where they were, and exits with 128 + the signal number. Should a thread be
# deep in a computation that does not return within HARD_STOP_S, the worker writes its result
# as it stands and kills its own process group (itself and its crypto and computing worker
# processes). If the launcher dies without a word (kill -9), the worker notices within
# PARENT_POLL_S that its parent changed and stops the same way, so no worker outlives its run.

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

__all__ = ["HARD_STOP_S", "Lifecycle"]

HARD_STOP_S = 3.0
PARENT_POLL_S = 0.5


class Lifecycle:
    """Turns SIGTERM, SIGINT and the loss of the parent process into one orderly stop.

    `on_stop(reason)` runs once, on the first request; `on_hard_stop()` runs if the process
    is still alive HARD_STOP_S later, just before it is killed."""

    def __init__(
        self,
        on_stop: Callable[[str], None],
        on_hard_stop: Callable[[], object],
        *,
        parent_pid: int | None = None,
    ) -> None:
        self._on_stop, self._on_hard_stop = on_stop, on_hard_stop
        self._parent_pid = parent_pid
        self._lock = threading.Lock()
        self.signal: int | None = None

    @property
    def exit_code(self) -> int | None:
        """128 + the signal that stopped the worker, or None if it was not stopped."""
        return None if self.signal is None else 128 + self.signal

    def install(self) -> Lifecycle:
        """Handle SIGTERM and SIGINT (main thread only) and watch the parent process."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._handle)
            signal.signal(signal.SIGINT, self._handle)
        if self._parent_pid is not None:
            threading.Thread(target=self._watch_parent, name="parent-watch", daemon=True).start()
        return self

    def request_stop(self, signum: int, why: str) -> None:
        """Stop once: cancel the job now, and kill the process if that takes too long."""
        with self._lock:
            if self.signal is not None:
                return
            self.signal = signum
        self._on_stop(why)
        threading.Thread(target=self._hard_stop, name="hard-stop", daemon=True).start()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.request_stop(signum, f"stopped by {signal.Signals(signum).name}")

    def _watch_parent(self) -> None:
        while os.getppid() == self._parent_pid:
            time.sleep(PARENT_POLL_S)
        self.request_stop(signal.SIGTERM, "stopped: the launcher is gone")

    def _hard_stop(self) -> None:
        time.sleep(HARD_STOP_S)
        self._on_hard_stop()
        code = self.exit_code or 1
        if os.getpgrp() == os.getpid():  # our own group: our pool processes go with us
            with contextlib.suppress(OSError):
                os.killpg(os.getpid(), signal.SIGKILL)
        os._exit(code)
