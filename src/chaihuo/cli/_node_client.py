"""Reaching a node from the CLI: --url/--token options, the client, error exits; `node status`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaihuo.client import ChaihuoApiError, ChaihuoClient
from chaihuo.core import ConfigError, load_settings

__all__ = [
    "JsonOption",
    "TokenOption",
    "UrlOption",
    "connect",
    "node_status_command",
    "print_json",
    "when",
]

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The node's REST URL (default: CHAIHUO_CLIENT__URL).",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="An API token (default: CHAIHUO_CLIENT__TOKEN).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextlib.contextmanager
def connect(
    url: str | None, token: str | None, *, timeout: float = 60.0
) -> Iterator[ChaihuoClient]:
    """A client for the node named by the options or the settings.

    A refusal by the node prints its code, message and status, and exits with the catalog's
    exit code for the node's error code.
    """
    settings = load_settings().client
    url = url or settings.url
    if not url:
        raise ConfigError("no node URL: pass --url or set CHAIHUO_CLIENT__URL")
    if token is None and settings.token is not None:
        token = settings.token.get_secret_value()
    try:
        with ChaihuoClient(url, token, timeout=timeout) as client:
            yield client
    except ChaihuoApiError as exc:
        reason = f" ({exc.reason})" if exc.reason and exc.reason not in exc.message else ""
        status = f" HTTP {exc.status_code}" if exc.status_code else ""
        Console(stderr=True, soft_wrap=True).print(
            f"[red]error[/red] {escape(f'[{exc.server_code}]{status}: {exc.message}{reason}')}"
        )
        raise typer.Exit(exc.spec.exit_code) from exc


def print_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    """One JSON document on stdout, for scripts."""
    if isinstance(value, BaseModel):
        data: Any = value.model_dump(mode="json")
    elif isinstance(value, dict):
        data = value
    else:
        data = [item.model_dump(mode="json") for item in value]
    typer.echo(json.dumps(data, indent=2, sort_keys=False))


def when(moment: datetime | None) -> str:
    """A time for a table cell: local, to the second; '-' for none."""
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def node_status_command(
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Show the node: party id, version, uptime, peers and the work it runs."""
    with connect(url, token) as client:
        status = client.status()
    if as_json:
        print_json(status)
        return
    console = Console()
    hours, rest = divmod(int(status.uptime_s), 3600)
    console.print(
        f"party [bold]{status.party_id}[/bold]  chaihuo {status.version}  profile {status.profile}"
        f"  store {status.store}  up {hours}h{rest // 60:02d}m (since {when(status.started_at)})"
    )
    console.print(
        f"jobs running {status.running_jobs}  tasks running {status.running_tasks}"
        f"  tasks queued {status.queued_tasks}"
    )
    peers = Table("peer", "address", "reachable", title="peers")
    for peer in status.peers:
        seen = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "?"}[peer.reachable]
        peers.add_row(peer.party_id, peer.address, seen)
    console.print(peers)
