"""`chaihuo run JOB.yaml`: every party of a job on this machine, with progress and a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from chaihuo.components import ComputingPlan
from chaihuo.components.builtin import default_registry
from chaihuo.core import ConfigError, load_settings, parse_party_id
from chaihuo.flow import JobSummary, run_job_locally

__all__ = ["run_command"]


_COLOURS = {"start": "cyan", "success": "green", "failed": "red", "canceled": "yellow"}


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _progress(event: dict[str, Any]) -> str:
    done, total = int(event.get("done", 0)), event.get("total")
    text = f"{event.get('stage', '')} {done:,}"
    if total:
        text += f"/{int(total):,} ({100 * done / max(int(total), 1):.0f}%)"
    if event.get("rate"):
        text += f", {float(event['rate']):,.3g}/s"
    if event.get("eta") is not None and total and done < int(total):
        text += f", ~{_duration(float(event['eta']))} left"
    if event.get("loss") is not None:
        text += f", loss {float(event['loss']):.4g}"
    return text


class _ProgressFilter:
    """Shows a stage's progress once it has run for SHOW_AFTER_S, then every EVERY_S and at
    its end: quick stages stay silent, long ones (a PSI of millions of ids) report steadily."""

    SHOW_AFTER_S = 3.0
    EVERY_S = 10.0

    def __init__(self) -> None:
        self._began: dict[tuple[str, str, str], float] = {}
        self._last: dict[tuple[str, str, str], int] = {}
        self._shown: dict[tuple[str, str, str], float] = {}

    def wanted(self, event: dict[str, Any]) -> bool:
        """Whether to print this progress event."""
        key = (str(event["party"]), str(event.get("component")), str(event.get("stage")))
        moment, done = float(event.get("time", time.time())), int(event.get("done", 0))
        if done <= self._last.get(key, -1) or key not in self._began:  # a new run of the stage
            self._began[key] = moment
            self._shown.pop(key, None)
        self._last[key] = done
        final = event.get("total") is not None and done == event.get("total")
        if final:
            return key in self._shown  # close a stage only if its progress was shown
        if moment - self._began[key] < self.SHOW_AFTER_S:
            return False
        if (
            moment - self._shown.get(key, self._began[key]) >= self.EVERY_S
            or key not in self._shown
        ):
            self._shown[key] = moment
            return True
        return False


def _printer(console: Console, started: float) -> Any:
    progress = _ProgressFilter()

    def show(event: dict[str, Any]) -> None:
        moment = event.get("time", time.time()) - started
        what = str(event.get("event"))
        if what == "progress" and not progress.wanted(event):
            return
        party = f"{event['role']}:{event['party']}" if event.get("role") else event["party"]
        who = escape(f"{party} {event.get('component', '')}")
        line = f"[dim]{moment:7.2f}s[/dim] {who}"
        if what == "progress":
            line += f" [dim]{escape(_progress(event))}[/dim]"
        else:
            colour = _COLOURS.get(what, "white")
            line += f" [{colour}]{escape(what)}[/{colour}]"
        if event.get("error"):
            line += f"  {escape(str(event['error']))}"
        console.print(line, highlight=False)

    return show


def _print_summary(console: Console, summary: JobSummary) -> None:
    colour = {"success": "green", "canceled": "yellow"}.get(summary.status, "red")
    console.print(f"\njob [bold]{summary.job}[/bold]: [{colour}]{summary.status}[/{colour}]")
    if summary.error:
        console.print(f"[red]error:[/red] {escape(summary.error)}", highlight=False)
    for component, outcome in summary.components.items():
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in outcome["metrics"].items())
        console.print(f"  {component}: {outcome['status']}  {metrics}")
        for name, path in outcome["outputs"].items():
            console.print(f"    {name}: {path}")
    console.print(f"[dim]work directory: {summary.work_dir}[/dim]")


def parse_computing(options: list[str]) -> dict[str, ComputingPlan]:
    """`PARTY=BACKEND` options to each party's computing plan; a malformed one is a
    ConfigError naming it."""
    plans: dict[str, ComputingPlan] = {}
    for option in options:
        party, sep, backend = option.partition("=")
        if not sep or not party.strip() or not backend.strip():
            raise ConfigError(
                f"--computing {option!r}: expected PARTY=BACKEND, e.g. 10000=local[2]"
            )
        try:
            plans[str(parse_party_id(party.strip()))] = ComputingPlan(backend=backend.strip())
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ConfigError(f"--computing {option!r}: {reason}") from exc
    return plans


def run_command(
    job: Path = typer.Argument(..., exists=True, dir_okay=False, help="The job file (YAML)."),
    json_output: bool = typer.Option(False, "--json", help="End with one JSON summary line."),
    work_dir: Path | None = typer.Option(None, help="Where runs go (default: next to the job)."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Plaintext gRPC between parties (development profile only)."
    ),
    computing: list[str] = typer.Option(
        [],
        "--computing",
        help="PARTY=BACKEND: that party computes on BACKEND instead of the local process "
        "pool, e.g. 10000=local[2] (Spark in the party's process) or 10000=spark://host:7077. "
        "Repeat for several parties.",
    ),
) -> None:
    """Run every party of JOB locally: one process per party, gRPC over mutual TLS.

    Exit codes: 0 success; 1 the job failed; 130 (SIGINT, Ctrl-C) or 143 (SIGTERM): the run
    was interrupted, every party stopped, the summary says "canceled"; a refused job file or
    setting exits with its catalog code (65 job invalid, 78 configuration)."""
    settings = load_settings()
    console = Console(stderr=json_output, soft_wrap=True)
    if insecure:
        console.print("[yellow]warning: --insecure: parties talk plaintext gRPC[/yellow]")
    summary = run_job_locally(
        job,
        default_registry(),
        work_root=work_dir,
        insecure=insecure,
        profile=settings.profile,
        on_event=_printer(console, time.time()),
        computing=parse_computing(computing),
    )
    _print_summary(console, summary)
    if json_output:
        print(summary.to_json())
    if summary.signal is not None:
        raise typer.Exit(code=128 + summary.signal)
    if summary.status != "success":
        raise typer.Exit(code=1)
