"""Wall-clock time per protocol phase (encrypt, matmul, decrypt, send, wait), for benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Phases"]


class Phases:
    """Seconds per phase name (total and each lap); thread-safe, parties in threads may share."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.laps: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Time the body of a `with` block under `name`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        """Add `seconds` to phase `name`."""
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds
            self.laps.setdefault(name, []).append(seconds)
