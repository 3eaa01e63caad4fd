"""What a party's worker reports as it goes: progress events and an always-current result file."""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from chaihuo.components._task import OutcomeStatus, PartyResult, PartyStatus, RoleOutcome
from chaihuo.core import ChaihuoError, Role, spec_for_exception

__all__ = ["PartyReport", "describe_error", "error_code"]

_CANCELLED = "FEDERATION_CANCELLED"


def error_code(exc: BaseException) -> str:
    """The catalog code of any exception (INTERNAL for those chaihuo did not raise on purpose)."""
    return spec_for_exception(exc).code


def describe_error(exc: BaseException) -> str:
    """This party's own full text of an error: `[CODE] Type: message`.

    It may quote this party's data (a cell, a path, a label value): it goes to this party's
    result, events and log only, never to another party (see `chaihuo.components._abort`)."""
    if isinstance(exc, ChaihuoError) or isinstance(getattr(exc, "code", None), str):
        return f"[{error_code(exc)}] {type(exc).__name__}: {exc}"
    return f"[INTERNAL] internal error {type(exc).__name__}: {exc} (traceback in worker.log)"


class PartyReport:
    """Thread-safe record of one party's run, written through to `events.jsonl` and
    `result.json` (atomically replaced) in its directory on every change."""

    def __init__(self, party_dir: Path, party_id: str) -> None:
        self._dir = party_dir
        self._lock = threading.RLock()
        self.result = PartyResult(party_id=party_id, status="running")
        self._flush()

    def emit(self, **event: Any) -> None:
        """Append one progress event (a JSON line the launcher tails)."""
        line = json.dumps({"time": time.time(), **event}) + "\n"
        with self._lock, (self._dir / "events.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line)

    def started(self, component: str, role: Role) -> None:
        """A component began on one role."""
        self._set(component, role, RoleOutcome(status="running"))
        self.emit(component=component, role=role.value, event="start")

    def succeeded(self, component: str, role: Role, outcome: RoleOutcome) -> None:
        """A component ended well on one role."""
        self._set(component, role, outcome)
        self.emit(component=component, role=role.value, event="success")

    def failed(self, component: str | None, role: Role | None, exc: BaseException) -> None:
        """A component (or the party's set-up, component None) failed with `exc`.

        The first failure decides the party's status: "canceled" when it is a cancellation
        (a peer failed, or the party was told to stop), "failed" otherwise."""
        if not isinstance(exc, ChaihuoError) and not isinstance(exc, KeyboardInterrupt):
            traceback.print_exception(exc)  # to worker.log, for the operator of this party
        text, code = describe_error(exc), error_code(exc)
        status: PartyStatus = "canceled" if code == _CANCELLED else "failed"
        with self._lock:
            if component is not None and role is not None:
                outcome_status: OutcomeStatus = "canceled" if status == "canceled" else "failed"
                previous = self.result.components.get(component, {}).get(role)
                if previous is not None and previous.status == "canceled":
                    return  # stopped already: keep why
                seconds = previous.seconds if previous else 0.0
                self._set(
                    component,
                    role,
                    RoleOutcome(status=outcome_status, error=text, code=code, seconds=seconds),
                )
                self.emit(
                    component=component, role=role.value, event=outcome_status, error=text,
                    code=code,
                )  # fmt: skip
            if self.result.status in ("running", "success"):
                self.result.status, self.result.error = status, text
                self.result.code, self.result.component = code, component
            self._flush()

    def stopped(self, reason: str) -> None:
        """The party was told to stop (a signal): mark it and every running component."""
        with self._lock:
            for per_role in self.result.components.values():
                for outcome in per_role.values():
                    if outcome.status == "running":
                        outcome.status, outcome.code = "canceled", _CANCELLED
                        outcome.error = reason
            if self.result.status in ("running", "success"):
                running = self._running_component()
                self.result.status, self.result.error = "canceled", reason
                self.result.code, self.result.component = _CANCELLED, running
                self.result.stopped_by = reason
            self._flush()

    def finish(self) -> PartyResult:
        """The final result: success unless a failure or a stop was recorded."""
        with self._lock:
            if self.result.status == "running":
                self.result.status = "success"
            self._flush()
            return self.result.model_copy(deep=True)

    def _running_component(self) -> str | None:
        for component, per_role in self.result.components.items():
            if any(o.status in ("running", "canceled") for o in per_role.values()):
                return component
        return None

    def _set(self, component: str, role: Role, outcome: RoleOutcome) -> None:
        with self._lock:
            self.result.components.setdefault(component, {})[role] = outcome
            self._flush()

    def _flush(self) -> None:
        target = self._dir / "result.json"
        staging = self._dir / f".result.{os.getpid()}.{threading.get_ident()}.tmp"
        staging.write_text(self.result.model_dump_json(indent=2), encoding="utf-8")
        os.replace(staging, target)
