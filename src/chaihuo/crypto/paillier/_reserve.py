"""A reserve of obfuscators computed ahead of need, each handed out exactly once."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from gmpy2 import mpz

__all__ = ["ObfuscatorReserve"]

_REFILL_BATCH = 32


class ObfuscatorReserve:
    """Precomputed random n-th residues for bursts of encryption.

    `fill` computes them now; `refill_in_background` keeps a thread topping the reserve up to a
    target, which pays off while the party waits on the network (the wait releases the GIL).
    `take` pops from the front, so an obfuscator is never used twice.
    """

    def __init__(self, compute: Callable[[int], list[mpz]]) -> None:
        self._compute = compute
        self._items: deque[mpz] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._items)

    def fill(self, count: int) -> None:
        """Compute `count` obfuscators now and add them to the reserve."""
        fresh = self._compute(count)
        with self._lock:
            self._items.extend(fresh)

    def take(self, count: int) -> list[mpz]:
        """Up to `count` obfuscators from the reserve (fewer when it runs dry)."""
        with self._lock:
            available = min(count, len(self._items))
            return [self._items.popleft() for _ in range(available)]

    def refill_in_background(self, target: int) -> None:
        """Start (once) a daemon thread that keeps at least `target` obfuscators in reserve."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.is_set():
                if len(self._items) < target:
                    self.fill(_REFILL_BATCH)
                else:
                    self._stop.wait(0.05)

        self._thread = threading.Thread(target=run, name="paillier-obfuscators", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background refill thread, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
