"""Metrics an algorithm logs: kept in memory for the job summary and appended to a JSONL file."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from chaihuo.core import InvalidInputError

__all__ = ["MetricRecord", "MetricsSink"]


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One logged value: which namespace logged it, its name, value, step and wall time."""

    namespace: str
    name: str
    value: float
    step: int | None
    time: float


class MetricsSink:
    """Thread-safe collector shared by the contexts of one party; optional JSON-lines file."""

    def __init__(self, path: Path | None = None) -> None:
        self._records: list[MetricRecord] = []
        self._lock = threading.Lock()
        self._path = path

    def log(self, namespace: str, name: str, value: float, step: int | None = None) -> None:
        """Record `value` (finite number) under `name` for `namespace`."""
        number = float(value)
        if not math.isfinite(number):
            raise InvalidInputError(f"metric {name!r} is not a finite number", value=value)
        record = MetricRecord(namespace, name, number, step, time.time())
        with self._lock:
            self._records.append(record)
            if self._path is not None:
                with self._path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(dataclasses.asdict(record)) + "\n")

    def records(self, namespace: str | None = None) -> list[MetricRecord]:
        """Every record, or those whose namespace starts with `namespace`."""
        with self._lock:
            records = list(self._records)
        if namespace is None:
            return records
        return [
            r
            for r in records
            if r.namespace == namespace or r.namespace.startswith(namespace + ".")
        ]

    def latest(self, namespace: str) -> dict[str, float]:
        """Last value of each metric name logged under `namespace` (or its children)."""
        out: dict[str, float] = {}
        for record in self.records(namespace):
            out[record.name] = record.value
        return out
