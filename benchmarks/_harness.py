"""Shared benchmark plumbing: rate measurement, the side-by-side table and the JSON line."""

from __future__ import annotations

import collections
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


def rate(run: Callable[[], int], min_seconds: float) -> float:
    """Items per second: call `run` (returning items done) until `min_seconds` have passed."""
    done, start = 0, time.perf_counter()
    while True:
        done += run()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def _number(value: float, digits: int = 3) -> str:
    """A table cell: `digits` decimals below 10 (epoch seconds of plain numpy), else one."""
    return f"{value:,.{digits}f}" if abs(value) < 10 else f"{value:,.1f}"


@dataclass
class Report:
    """Metrics of one benchmark run: ours beside a reference, printed as a table then JSON."""

    bench: str
    results: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(
        self,
        metric: str,
        ours: float,
        reference: float | None,
        reference_name: str | None,
        digits: int = 3,
    ) -> None:
        self.results[metric] = {
            "chaihuo": round(ours, digits),
            "reference": None if reference is None else round(reference, digits),
            "reference_name": reference_name,
        }
        ratio = "" if not reference else f"{ours / reference:8.2f}x"
        ref = "-" if reference is None else _number(reference, digits)
        print(
            f"{metric:34s} {_number(ours, digits):>14s} {ref:>14s} {ratio:>9s}  "
            f"{reference_name or ''}",
            flush=True,
        )

    def header(self) -> None:
        print(f"{'metric (per second)':34s} {'chaihuo':>14s} {'reference':>14s} {'ratio':>9s}")

    def json_line(self) -> str:
        return json.dumps(
            {"bench": self.bench, "cores": os.cpu_count() or 1, "results": self.results},
            sort_keys=False,
        )


class StepTimes:
    """Wall seconds spent in some functions while the `with` block runs: each (owner,
    attribute) of `targets` is wrapped and its time added under `key(label)` (the label by
    default; e.g. (party, label) to split by the calling thread's party)."""

    def __init__(
        self,
        targets: dict[tuple[Any, str], str],
        key: Callable[[str], Hashable] = lambda label: label,
    ) -> None:
        self.targets, self.key = targets, key
        self.seconds: dict[Hashable, float] = collections.defaultdict(float)
        self._lock = threading.Lock()
        self._saved: list[tuple[Any, str, Callable[..., Any]]] = []

    def __enter__(self) -> StepTimes:
        for (owner, name), label in self.targets.items():
            original = getattr(owner, name)
            self._saved.append((owner, name, original))
            setattr(owner, name, self._timed(label, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)

    def _timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[self.key(label)] += time.perf_counter() - start

        return run
