"""`chaihuo run JOB.yaml`: every party of a job on this machine, with progress and a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from chaihuo.components.builtin import default_registry
from chaihuo.core import load_settings
from chaihuo.flow import JobSummary, run_job_locally

__all__ = ["run_command"]


def _printer(console: Console, started: float) -> Any:
    def show(event: dict[str, Any]) -> None:
        moment = event.get("time", time.time()) - started
        what = event.get("event")
        colour = {"start": "cyan", "success": "green", "failed": "red"}.get(str(what), "white")
        line = f"[dim]{moment:7.2f}s[/dim] {event['role']}:{event['party']} {event['component']}"
        line += f" [{colour}]{what}[/{colour}]"
        if event.get("error"):
            line += f"  {event['error']}"
        console.print(line)

    return show


def _print_summary(console: Console, summary: JobSummary) -> None:
    colour = "green" if summary.status == "success" else "red"
    console.print(f"\njob [bold]{summary.job}[/bold]: [{colour}]{summary.status}[/{colour}]")
    if summary.error:
        console.print(f"[red]error:[/red] {summary.error}")
    for component, outcome in summary.components.items():
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in outcome["metrics"].items())
        console.print(f"  {component}: {outcome['status']}  {metrics}")
        for name, path in outcome["outputs"].items():
            console.print(f"    {name}: {path}")
    console.print(f"[dim]work directory: {summary.work_dir}[/dim]")


def run_command(
    job: Path = typer.Argument(..., exists=True, dir_okay=False, help="The job file (YAML)."),
    json_output: bool = typer.Option(False, "--json", help="End with one JSON summary line."),
    work_dir: Path | None = typer.Option(None, help="Where runs go (default: next to the job)."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Plaintext gRPC between parties (development profile only)."
    ),
) -> None:
    """Run every party of JOB locally: one process per party, gRPC over mutual TLS."""
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
    )
    _print_summary(console, summary)
    if json_output:
        print(summary.to_json())
    if summary.status != "success":
        raise typer.Exit(code=1)
