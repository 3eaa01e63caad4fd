"""The summary of a local run: which party failed first, how and where, and what had finished."""

# Built from what each party wrote itself (its result.json, kept current by the worker, so
# it survives the party being killed), the events it emitted, and how its process ended.
# The party that failed first is the earliest one that failed of its own accord: its own
# error, a signal nobody in this run sent it, or a crash; parties that stopped because of it
# (its abort notice, or the launcher stopping them) are listed after it.

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from typing import Any, Literal

from chaihuo.components import PartyResult, RoleOutcome
from chaihuo.core import Role
from chaihuo.flow._supervise import PartyProcess

__all__ = ["JobSummary", "summarise"]


@dataclass
class JobSummary:
    """What `chaihuo run --json` prints last: job status and each component's outcome."""

    job: str
    status: str
    error: str | None
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)
    work_dir: str = ""
    signal: int | None = None

    def to_json(self) -> str:
        """The one JSON line of docs/architecture.md §6, plus how each party ended."""
        return json.dumps(
            {
                "job": self.job,
                "status": self.status,
                "error": self.error,
                "components": self.components,
                "parties": self.parties,
            }
        )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _how_it_ended(party: PartyProcess, result: PartyResult | None) -> str:
    code = party.process.returncode
    where = _where(party, result)
    if result is not None and result.status in ("failed", "canceled") and result.error:
        return f"{where}: {result.error}" if where else result.error
    if code is not None and code < 0:
        how = f"killed by {_signal_name(-code)}"
    elif code is not None and code > 128:
        how = f"stopped by {_signal_name(code - 128)}"
    else:
        how = f"exited with code {code}"
    during = f" during {where.removeprefix('in ')}" if where else ""
    return f"{how}{during} (see {party.directory / 'worker.log'})"


def _where(party: PartyProcess, result: PartyResult | None) -> str:
    if result is not None and result.component:
        return f"in {result.component}"
    open_components = {e["component"] for e in party.events if e.get("event") == "start"} - {
        e["component"] for e in party.events if e.get("event") in ("success", "failed")
    }
    return f"in {sorted(open_components)[0]}" if open_components else ""


def _origin_time(party: PartyProcess, result: PartyResult | None) -> float | None:
    """When this party failed of its own accord, or None if it did not."""
    code = party.process.returncode
    if result is not None and result.status == "failed":
        times = [e["time"] for e in party.events if e.get("event") == "failed"]
        return min(times, default=party.exited_at)
    if party.stopped or code in (0, 1, None):
        return None  # success, stopped by us, or canceled by a peer's failure
    return party.exited_at


ComponentStatus = Literal["success", "failed", "canceled", "not_run"]
"""A component of a `chaihuo run` summary: `not_run` when no party got to start it."""


def _outcome(party: PartyProcess, outcome: RoleOutcome | None, origin: bool) -> ComponentStatus:
    if outcome is None:
        return "not_run"
    if outcome.status == "running":  # the worker ended without finishing it
        return "failed" if origin and not party.stopped else "canceled"
    return outcome.status  # success, failed or canceled


def _components(
    order: list[str],
    parties: list[PartyProcess],
    results: dict[str, PartyResult | None],
    origins: set[str],
) -> dict[str, dict[str, Any]]:
    components: dict[str, dict[str, Any]] = {}
    for cid in order:
        statuses: list[ComponentStatus] = []
        view: RoleOutcome | None = None
        for party in parties:
            task = next((c for c in party.task.components if c.id == cid), None)
            if task is None:
                continue
            result = results[party.party_id]
            for role in task.params:
                got = result.components.get(cid, {}).get(role) if result else None
                statuses.append(_outcome(party, got, party.party_id in origins))
                if got is not None and (view is None or role is Role.GUEST):
                    view = got
        components[cid] = {
            "status": _combine(statuses),
            "metrics": view.metrics if view else {},
            "outputs": view.outputs if view else {},
        }
    return components


def _combine(statuses: list[ComponentStatus]) -> ComponentStatus:
    if statuses and all(s == "success" for s in statuses):
        return "success"
    for status in ("failed", "canceled"):
        if status in statuses:
            return status
    return "canceled" if "success" in statuses else "not_run"


def _error_text(
    parties: list[PartyProcess],
    results: dict[str, PartyResult | None],
    origins: dict[str, float],
    interrupted: int | None,
) -> str:
    lines: list[str] = []
    if interrupted is not None:
        lines.append(f"canceled by {_signal_name(interrupted)}; every party was stopped")
    ranked = sorted(parties, key=lambda p: origins.get(p.party_id, float("inf")))
    for rank, party in enumerate(ranked):
        result = results[party.party_id]
        if party.party_id in origins:
            first = "failed first" if rank == 0 and interrupted is None else "failed"
            lines.append(f"{party.label} {first}: {_how_it_ended(party, result)}")
        elif result is not None and result.status == "canceled" and not result.stopped_by:
            lines.append(f"{party.label} stopped: {result.error}")  # a peer's notice
        elif party.stopped and (result is None or result.status != "success"):
            lines.append(f"{party.label} was stopped by the launcher")
    return "; ".join(lines) or "a component did not finish"


def summarise(
    job: str,
    order: list[str],
    parties: list[PartyProcess],
    *,
    work_dir: str,
    interrupted: int | None,
) -> JobSummary:
    """The run's summary (see module comment)."""
    results = {party.party_id: party.result() for party in parties}
    origins: dict[str, float] = {}
    for party in parties:
        moment = _origin_time(party, results[party.party_id])
        if moment is not None:
            origins[party.party_id] = moment
    components = _components(order, parties, results, set(origins))
    ok = (
        interrupted is None
        and all(r is not None and r.status == "success" for r in results.values())
        and all(c["status"] == "success" for c in components.values())
    )
    status = "success" if ok else ("canceled" if interrupted is not None else "failed")
    return JobSummary(
        job=job,
        status=status,
        error=None if ok else _error_text(parties, results, origins, interrupted),
        components=components,
        parties={p.party_id: _party_view(p, results[p.party_id]) for p in parties},
        work_dir=work_dir,
        signal=interrupted,
    )


def _party_view(party: PartyProcess, result: PartyResult | None) -> dict[str, Any]:
    status = result.status if result is not None else "not_started"
    if status == "running":
        status = "failed" if not party.stopped else "canceled"
    return {
        "roles": party.roles,
        "status": status,
        "exit_code": party.process.returncode,
        "stopped_by_launcher": party.stopped,
        "component": result.component if result else None,
        "error": result.error if result else None,
    }
