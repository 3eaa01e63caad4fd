"""`chaihuo model`: list, show, export and import a node's models (portable archives)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaihuo.cli._node_client import JsonOption, TokenOption, UrlOption, connect, print_json, when
from chaihuo.flow.api._schemas import ModelView

__all__ = ["model_app"]

model_app = typer.Typer(help="The node's model registry.", no_args_is_help=True)

ModelArg = Annotated[str, typer.Argument(help="JOB_ID/COMPONENT", show_default=False)]


def _show(model: ModelView) -> None:
    console = Console()
    console.print(
        f"[bold]{model.model_id}[/bold]  {model.type}  party {model.party_id}"
        f"  roles {', '.join(model.roles) or '-'}  created {when(model.created_at)}"
    )
    console.print(f"sha256 {model.sha256}")
    files = Table("file", "bytes", "sha256", title="artifact")
    for item in model.files:
        files.add_row(escape(item.name), str(item.size_bytes), item.sha256)
    console.print(files)


@model_app.command("list")
def list_command(
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Every model of the node."""
    with connect(url, token) as client:
        models = client.list_models()
    if as_json:
        print_json(models)
        return
    table = Table("model", "type", "party", "roles", "created", title="models")
    for model in models:
        table.add_row(
            model.model_id,
            model.type,
            model.party_id,
            ", ".join(model.roles),
            when(model.created_at),
        )
    Console().print(table)


@model_app.command("show")
def show_command(
    model_id: ModelArg,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One model: what made it and its files."""
    with connect(url, token) as client:
        model = client.get_model(model_id)
    if as_json:
        print_json(model)
    else:
        _show(model)


@model_app.command("export")
def export_command(
    model_id: ModelArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default: JOB_ID.COMPONENT.zip here.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Write the model's portable archive (zip of JSON and .npz files; no pickle)."""
    dest = output or Path(model_id.replace("/", ".") + ".zip")
    with connect(url, token) as client:
        size = client.export_model(model_id, dest)
    Console(stderr=True).print(f"wrote {size} bytes to {dest}")


@model_app.command("import")
def import_command(
    archive: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An exported zip.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a model from an archive made by `chaihuo model export`."""
    with connect(url, token) as client:
        model = client.import_model(archive)
    if as_json:
        print_json(model)
    else:
        _show(model)
