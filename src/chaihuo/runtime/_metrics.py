"""Metrics and progress an algorithm reports: kept in memory and appended to a JSONL file."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from chaihuo.core import InvalidInputError

__all__ = ["MetricRecord", "MetricsSink", "ProgressListener", "ProgressRecord"]

PROGRESS_INTERVAL_S: Final = 1.0
"""At most one progress record per (namespace, stage) in this many seconds, bar the final."""


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One logged value: which namespace logged it, its name, value, step and wall time."""

    namespace: str
    name: str
    value: float
    step: int | None
    time: float


@dataclass(frozen=True, slots=True)
class ProgressRecord:
    """How far one stage of a long component is: `done` of `total` items (None: unknown),
    `rate` items per second since the stage's first report (0.0 on that report), `eta`
    seconds left at that rate (None when the total or the rate is unknown), wall time."""

    namespace: str
    stage: str
    done: int
    total: int | None
    rate: float
    eta: float | None
    time: float

    @property
    def final(self) -> bool:
        """Whether the stage is complete (done == total)."""
        return self.total is not None and self.done == self.total


_R = TypeVar("_R", MetricRecord, ProgressRecord)

ProgressListener = Callable[[ProgressRecord], None]
"""Called with every progress record the sink keeps (after throttling)."""


@dataclass(slots=True)
class _Stage:
    """Throttle and rate state of one (namespace, stage)."""

    start: float
    start_done: int
    last_done: int
    emitted: float | None = None
    finished: bool = False


class MetricsSink:
    """Thread-safe collector shared by the contexts of one party; optional JSON-lines file.

    Metrics: `log(namespace, name, value, step)` keeps a `MetricRecord`; `records` and
    `latest` (the job summary) see only these. A JSONL line per metric is the record's
    fields: ``{"namespace", "name", "value", "step", "time"}`` (no ``kind`` key).

    Progress: `progress(namespace, stage, done, total)` says how far a long stage is (PSI
    "blind"/"exchange"/"intersect", training "epoch"/"batch", ...). Reports of one
    (namespace, stage) are throttled to one per `PROGRESS_INTERVAL_S` of `clock`, except the
    final one (done == total), which is always kept. A stage whose `done` goes down, or that
    reports again after its final report, starts a new run (the rate counts from there); a
    loop that ends early (training stopped by convergence) reports done == total == what it
    did, so every finished stage ends with a final record. A kept report becomes a
    `ProgressRecord`, stored apart from the metrics (`progress_records`), appended to the
    file as ``{"kind": "progress", "namespace", "stage", "done", "total", "rate", "eta",
    "time"}``, and passed to every listener registered with `on_progress`, in the reporting
    thread, after the sink's lock is released; a listener's exception reaches the reporter.
    Progress carries counts only, never data.
    """

    def __init__(
        self, path: Path | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._records: list[MetricRecord] = []
        self._progress: list[ProgressRecord] = []
        self._stages: dict[tuple[str, str], _Stage] = {}
        self._listeners: list[ProgressListener] = []
        self._lock = threading.Lock()
        self._path = path
        self._clock = clock

    def log(self, namespace: str, name: str, value: float, step: int | None = None) -> None:
        """Record `value` (finite number) under `name` for `namespace`."""
        number = float(value)
        if not math.isfinite(number):
            raise InvalidInputError(f"metric {name!r} is not a finite number", value=value)
        record = MetricRecord(namespace, name, number, step, time.time())
        with self._lock:
            self._records.append(record)
            self._append(dataclasses.asdict(record))

    def progress(self, namespace: str, stage: str, done: int, total: int | None) -> None:
        """Report that `done` of `total` items of `stage` are finished (see the class doc)."""
        _check_progress(stage, done, total)
        now = self._clock()
        with self._lock:
            record = self._advance(namespace, stage, done, total, now)
            if record is None:
                return
            self._progress.append(record)
            self._append({"kind": "progress", **dataclasses.asdict(record)})
            listeners = list(self._listeners)
        for listener in listeners:
            listener(record)

    def on_progress(self, listener: ProgressListener) -> None:
        """Call `listener(record)` for every progress record kept from now on."""
        with self._lock:
            self._listeners.append(listener)

    def _advance(
        self, namespace: str, stage: str, done: int, total: int | None, now: float
    ) -> ProgressRecord | None:
        """Update the stage's state; the record to keep, or None when throttled."""
        state = self._stages.get((namespace, stage))
        if state is None or state.finished or done < state.last_done:
            emitted = state.emitted if state is not None else None
            state = _Stage(start=now, start_done=done, last_done=done, emitted=emitted)
            self._stages[namespace, stage] = state
        state.last_done = done
        final = total is not None and done == total
        if not final and state.emitted is not None and now - state.emitted < PROGRESS_INTERVAL_S:
            return None
        state.emitted, state.finished = now, final
        elapsed = now - state.start
        rate = (done - state.start_done) / elapsed if elapsed > 0 else 0.0
        eta: float | None = None
        if final:
            eta = 0.0
        elif total is not None and rate > 0:
            eta = (total - done) / rate
        return ProgressRecord(namespace, stage, done, total, rate, eta, time.time())

    def _append(self, line: dict[str, Any]) -> None:
        """One JSON line to the file, if any (called under the lock)."""
        if self._path is not None:
            with self._path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")

    def records(self, namespace: str | None = None) -> list[MetricRecord]:
        """Every metric record, or those whose namespace starts with `namespace`."""
        with self._lock:
            records = list(self._records)
        return _under(records, namespace)

    def progress_records(self, namespace: str | None = None) -> list[ProgressRecord]:
        """Every progress record kept, or those whose namespace starts with `namespace`."""
        with self._lock:
            records = list(self._progress)
        return _under(records, namespace)

    def latest(self, namespace: str) -> dict[str, float]:
        """Last value of each metric name logged under `namespace` (or its children)."""
        out: dict[str, float] = {}
        for record in self.records(namespace):
            out[record.name] = record.value
        return out


def _under(records: list[_R], namespace: str | None) -> list[_R]:
    if namespace is None:
        return records
    prefix = namespace + "."
    return [r for r in records if r.namespace == namespace or r.namespace.startswith(prefix)]


def _check_progress(stage: str, done: int, total: int | None) -> None:
    def whole(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if not isinstance(stage, str) or not stage:
        raise InvalidInputError("a progress stage is a non-empty name", stage=stage)
    if not whole(done) or (total is not None and (not whole(total) or done > total)):
        raise InvalidInputError(
            f"progress of {stage!r}: done and total are counts with done <= total",
            done=done,
            total=total,
        )
