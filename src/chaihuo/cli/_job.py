"""`chaihuo job`: submit (chaihuo, FATE DSL or KubeFATE files), list, show, stop, rerun, logs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from chaihuo.cli._node_client import (
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    print_json,
    when,
)
from chaihuo.client import ChaihuoClient
from chaihuo.flow.api._schemas import JobView, MetricView

__all__ = ["job_app"]

job_app = typer.Typer(help="Submit and follow jobs on a node.", no_args_is_help=True)

STATE_STYLE: Final = {
    "waiting": "dim",
    "running": "cyan",
    "success": "green",
    "failed": "red",
    "canceled": "yellow",
    "timeout": "magenta",
}
INTERRUPTED: Final = 130
JobId = Annotated[str, typer.Argument(help="The job's id.", show_default=False)]
PollOption = Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between polls.")]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="Show every party's progress until the job ends.")
]


def _state(state: str, progress: float | None = None) -> str:
    shown = f"{state} {progress:.0%}" if progress is not None and state == "running" else state
    return f"[{STATE_STYLE.get(state, 'white')}]{shown}[/]"


def progress_table(job: JobView) -> Table:
    """Components × parties, each cell the task's state (and progress while running)."""
    parties: dict[str, str] = {}
    cells: dict[str, dict[str, str]] = {}
    for task in job.tasks:
        parties.setdefault(task.party_id, f"{'/'.join(task.roles)} {task.party_id}")
        cells.setdefault(task.component, {})[task.party_id] = _state(task.state, task.progress)
    table = Table(
        "component",
        *parties.values(),
        title=f"job {job.job_id} ({escape(job.name)}): {_state(job.state)}",
    )
    for component, states in cells.items():
        table.add_row(component, *(states.get(party, "-") for party in parties))
    return table


def metrics_table(metrics: list[MetricView]) -> Table:
    """One row per metric: component, name, step, value."""
    table = Table("component", "metric", "step", "value", title="metrics")
    for metric in metrics:
        value = metric.value
        text = f"{value:.6g}" if isinstance(value, float) else json.dumps(value)
        table.add_row(
            metric.component, metric.name, "-" if metric.step is None else str(metric.step), text
        )
    return table


def _job_source(
    file: Path | None, fate_dsl: Path | None, fate_conf: Path | None, kubefate: Path | None
) -> str:
    """The job file text to submit; FATE inputs are translated here, on the client."""
    given = [file is not None, fate_dsl is not None or fate_conf is not None, kubefate is not None]
    if sum(given) != 1:
        raise typer.BadParameter("give one of: FILE, --fate-dsl with --fate-conf, --kubefate")
    if file is not None:
        return file.read_text(encoding="utf-8")
    from chaihuo.flow._fate import (  # noqa: PLC0415 (loaded only for FATE inputs)
        load_kubefate,
        read_fate_files,
        translate_fate,
    )

    if kubefate is not None:
        dsl, conf = load_kubefate(kubefate.read_text(encoding="utf-8"))
    elif fate_dsl is None or fate_conf is None:
        raise typer.BadParameter("--fate-dsl and --fate-conf go together")
    else:
        dsl, conf = read_fate_files(fate_dsl, fate_conf)
    translation = translate_fate(dsl, conf)
    console = Console(stderr=True)
    for item in translation.unmapped:
        console.print(f"[yellow]not translated[/yellow] {escape(str(item))}")
    return translation.yaml


def _wait(client: ChaihuoClient, job: JobView, poll: float) -> JobView:
    """A live table until the job ends, then its metrics; Ctrl-C stops waiting only."""
    console = Console()
    try:
        if console.is_terminal:
            with Live(progress_table(job), console=console, refresh_per_second=4) as live:
                job = client.wait_for_job(
                    job.job_id,
                    on_update=lambda view: live.update(progress_table(view)),
                    poll_s=poll,
                )
        else:  # a pipe or a log: the final table only
            job = client.wait_for_job(job.job_id, poll_s=poll)
            console.print(progress_table(job))
    except KeyboardInterrupt:
        console.print(
            f"stopped waiting; job {job.job_id} goes on (stop it with "
            f"`chaihuo job stop {job.job_id}`)"
        )
        raise typer.Exit(INTERRUPTED) from None
    if job.reason:
        console.print(f"[red]{escape(job.reason)}[/red]")
    metrics = client.job_metrics(job.job_id)
    if metrics:
        console.print(metrics_table(metrics))
    return job


def _finish(job: JobView) -> None:
    if job.done and job.state != "success":
        raise typer.Exit(1)


@job_app.command("submit")
def submit_command(
    file: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, help="A chaihuo job file (YAML)."),
    ] = None,
    *,
    fate_dsl: Annotated[
        Path | None, typer.Option("--fate-dsl", exists=True, dir_okay=False, help="FATE DSL JSON.")
    ] = None,
    fate_conf: Annotated[
        Path | None,
        typer.Option("--fate-conf", exists=True, dir_okay=False, help="FATE runtime conf JSON."),
    ] = None,
    kubefate: Annotated[
        Path | None,
        typer.Option("--kubefate", exists=True, dir_okay=False, help="A KubeFATE FateJob YAML."),
    ] = None,
    wait: WaitOption = False,
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Resubmitting with it returns that job.")
    ] = None,
    poll: PollOption = 1.0,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a job to the node; with --wait, follow it (exit 0 on success, 1 otherwise)."""
    text = _job_source(file, fate_dsl, fate_conf, kubefate)
    with connect(url, token) as client:
        job = client.submit_job(text, request_id=request_id)
        if not wait:
            if as_json:
                print_json(job)
            else:
                typer.echo(f"submitted job {job.job_id} ({job.name}): {job.state}")
            return
        job = _wait(client, job, poll)
    if as_json:
        print_json(job)
    _finish(job)


@job_app.command("list")
def list_command(
    *,
    state: Annotated[
        list[str] | None, typer.Option("--state", help="Only jobs in this state (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The node's jobs, newest first."""
    with connect(url, token) as client:
        jobs = client.list_jobs(limit=limit, offset=offset, states=state)
    if as_json:
        print_json(jobs)
        return
    table = Table("job", "name", "state", "initiator", "owner", "created", "ended", title="jobs")
    for job in jobs:
        table.add_row(
            job.job_id,
            escape(job.name),
            _state(job.state),
            job.initiator,
            job.owner or "-",
            when(job.created_at),
            when(job.ended_at),
        )
    Console().print(table)


@job_app.command("show")
def show_command(
    job_id: JobId, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """One job: its state, parties and every party's tasks."""
    with connect(url, token) as client:
        job = client.get_job(job_id)
    if as_json:
        print_json(job)
        return
    parties = ", ".join(f"{role}: {' '.join(ids)}" for role, ids in job.parties.items())
    lines = [
        f"state {_state(job.state)}  attempt {job.attempt}  initiator {job.initiator}"
        f"  owner {job.owner or '-'}",
        f"parties {parties}",
        f"created {when(job.created_at)}  started {when(job.started_at)}"
        f"  ended {when(job.ended_at)}",
    ]
    if job.reason:
        lines.append(f"[red]{escape(job.reason)}[/red]")
    Console().print(Group(*lines, progress_table(job)))


@job_app.command("stop")
def stop_command(job_id: JobId, url: UrlOption = None, token: TokenOption = None) -> None:
    """Stop a job on every party."""
    with connect(url, token) as client:
        job = client.stop_job(job_id)
    Console().print(f"job {job.job_id}: {_state(job.state)}")


@job_app.command("rerun")
def rerun_command(
    job_id: JobId,
    *,
    wait: WaitOption = False,
    poll: PollOption = 1.0,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Rerun a failed or canceled job from its unfinished components."""
    with connect(url, token) as client:
        job = client.rerun_job(job_id)
        Console().print(f"job {job.job_id} attempt {job.attempt}: {_state(job.state)}")
        if wait:
            _finish(_wait(client, job, poll))


@job_app.command("logs")
def logs_command(
    job_id: JobId,
    *,
    component: Annotated[
        str | None, typer.Option("--component", "-c", help="Only this component's logs.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
    poll: PollOption = 1.0,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """This party's task logs of a job."""
    with connect(url, token) as client:
        offset, ended = 0, False
        while True:
            chunk = client.job_logs(job_id, component=component, offset=offset)
            typer.echo(chunk.text, nl=False)
            offset = chunk.next_offset
            if chunk.more:
                continue
            if not follow or ended:
                return
            # Read once more after the job ends: its last lines may land after the last poll.
            ended = client.get_job(job_id).done
            if not ended:
                time.sleep(poll)


@job_app.command("metrics")
def metrics_command(
    job_id: JobId, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """The metrics this party's tasks of a job logged."""
    with connect(url, token) as client:
        metrics = client.job_metrics(job_id)
    if as_json:
        print_json(metrics)
    else:
        Console().print(metrics_table(metrics))


@job_app.command("dag")
def dag_command(
    job_id: JobId, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """A job's components, their wiring, and each one's state per party."""
    with connect(url, token) as client:
        dag = client.job_dag(job_id)
    if as_json:
        print_json(dag)
        return
    table = Table("component", "type", "inputs", "states", title=f"job {dag.job_id}")
    for node in dag.nodes:
        inputs = [
            f"{e.input} ← {e.source}.{e.output}" for e in dag.edges if e.target == node.component
        ]
        states = " ".join(f"{party}:{_state(state)}" for party, state in node.states.items())
        table.add_row(node.component, node.type, "\n".join(inputs) or "-", states or "-")
    Console().print(table)
