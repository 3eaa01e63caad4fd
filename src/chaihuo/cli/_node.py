"""`chaihuo node init|start|status`: write a node's configuration, run it, ask how it is."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console

from chaihuo.cli._node_client import node_status_command
from chaihuo.core import ConfigError, configure_logging, load_settings
from chaihuo.flow.node import load_node_config, starter_config

__all__ = ["node_app"]

node_app = typer.Typer(help="Run this organisation's party as a service.", no_args_is_help=True)
node_app.command("status")(node_status_command)


@node_app.command("init")
def init_command(
    party: str = typer.Option(..., "--party", help="This organisation's party id."),
    out: Path = typer.Option(Path("node.yaml"), "--out", help="Where to write it."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
) -> None:
    """Write a commented node.yaml to start from."""
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} exists; use --overwrite to replace it")
    out.write_text(starter_config(party), encoding="utf-8")
    Console().print(f"wrote {out}: set its peers, certificates and permissions, then "
                    f"`chaihuo node start --conf {out}`")  # fmt: skip


@node_app.command("start")
def start_command(
    conf: Path = typer.Option(..., "--conf", exists=True, dir_okay=False, help="node.yaml"),
) -> None:
    """Run the node until SIGINT or SIGTERM (every task process is stopped first)."""
    from chaihuo.flow.node import Node  # noqa: PLC0415 - grpc, uvicorn: only here

    configure_logging(load_settings().logging)
    config = load_node_config(conf)
    node = Node(config).start()
    console = Console(stderr=True)
    console.print(f"node of party {config.party_id}: gRPC {node.grpc_address} (federation, "
                  f"control), REST {node.http_url}", highlight=False)  # fmt: skip
    if node.admin_token_file.exists():
        console.print(f"first admin's token: {node.admin_token_file}", highlight=False)
    done = threading.Event()

    def finish(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    done.wait()
    console.print("stopping: tasks first, then the servers", highlight=False)
    node.stop()
