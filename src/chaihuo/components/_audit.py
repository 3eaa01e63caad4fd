"""R01 at run time: an audit hook counting unpickling, and flagging any on a network path."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["UnpickleAudit"]

# Code that handles bytes received from another party. An unpickler running with any of these
# on the stack would be deserialising party input; the compute backend unpickling its own
# workers' results (allowed by docs/architecture.md §3.1) never has them on its stack.
_NETWORK_MODULES = ("chaihuo.federation", "chaihuo.serde", "grpc")


class UnpickleAudit:
    """`sys.addaudithook` watcher of `pickle.find_class`; cannot be removed once installed."""

    def __init__(self) -> None:
        self.total = 0
        self.network: list[str] = []
        self._lock = threading.Lock()

    def install(self) -> UnpickleAudit:
        """Start watching this process (for the rest of its life)."""
        sys.addaudithook(self._hook)
        return self

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "pickle.find_class":
            return
        frame: FrameType | None = sys._getframe(1)
        on_network_path = False
        while frame is not None:
            module = str(frame.f_globals.get("__name__", ""))
            if module.startswith(_NETWORK_MODULES):
                on_network_path = True
                break
            frame = frame.f_back
        with self._lock:
            self.total += 1
            if on_network_path:
                self.network.append(f"{args[0]}.{args[1]}")

    def write(self, path: Path) -> None:
        """Save the counts as JSON for the launcher and tests."""
        with self._lock:
            report = {"unpickle_events": self.total, "network_unpickles": list(self.network)}
        path.write_text(json.dumps(report), encoding="utf-8")
