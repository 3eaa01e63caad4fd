"""`chaihuo data`: upload a CSV or Parquet file to the node, list, show, download, delete tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TransferSpeedColumn,
)
from rich.table import Table

from chaihuo.cli._node_client import JsonOption, TokenOption, UrlOption, connect, print_json, when
from chaihuo.flow.api._schemas import TableFormat, TableView

__all__ = ["data_app", "split_table"]

data_app = typer.Typer(
    help="The node's data registry: tables by namespace/name.", no_args_is_help=True
)

TableArg = Annotated[str, typer.Argument(help="NAMESPACE/NAME", show_default=False)]


def split_table(table: str) -> tuple[str, str]:
    """`namespace/name` as a pair."""
    namespace, sep, name = table.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise typer.BadParameter(f"a table is NAMESPACE/NAME, got {table!r}")
    return namespace, name


def _format(value: str | None) -> TableFormat | None:
    if value is None:
        return None
    if value == "csv":
        return "csv"
    if value == "parquet":
        return "parquet"
    raise typer.BadParameter("--format is csv or parquet")


def _transfer(console: Console) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    )


def _show(table: TableView) -> None:
    console = Console()
    console.print(
        f"[bold]{table.namespace}/{table.name}[/bold]  {table.format}  {table.rows} rows"
        f"  {table.size_bytes} bytes  id {table.id_column or '-'}"
        f"  label {table.label_column or '-'}"
    )
    console.print(f"sha256 {table.sha256}  created {when(table.created_at)}")
    columns = Table("column", "type", title="schema")
    for column in table.columns:
        role = " (id)" if column.name == table.id_column else ""
        role = " (label)" if column.name == table.label_column else role
        columns.add_row(escape(column.name) + role, column.dtype)
    console.print(columns)


@data_app.command("upload")
def upload_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or Parquet.")],
    *,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="The table's namespace.")],
    name: Annotated[str, typer.Option("--name", help="The table's name.")],
    id_column: Annotated[str | None, typer.Option("--id", help="The sample id column.")] = None,
    label_column: Annotated[str | None, typer.Option("--label", help="The label column.")] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: by extension).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite an existing table.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stream a file to the node as NAMESPACE/NAME; the node detects its schema."""
    kind = _format(format)
    size = file.stat().st_size
    console = Console(stderr=True)
    with connect(url, token) as client, _transfer(console) as progress:
        task = progress.add_task(f"upload {file.name}", total=size)
        table = client.upload_table(
            namespace,
            name,
            file,
            id_column=id_column,
            label_column=label_column,
            format=kind,
            replace=replace,
            on_progress=lambda sent: progress.update(task, completed=sent),
        )
    if as_json:
        print_json(table)
    else:
        _show(table)


@data_app.command("list")
def list_command(
    namespace: Annotated[str | None, typer.Option("--namespace", "-n")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The node's tables, or one namespace's."""
    with connect(url, token) as client:
        tables = client.list_tables(namespace)
    if as_json:
        print_json(tables)
        return
    out = Table("table", "format", "rows", "columns", "id", "label", "created", title="tables")
    for table in tables:
        out.add_row(
            f"{table.namespace}/{table.name}",
            table.format,
            str(table.rows),
            str(len(table.columns)),
            escape(table.id_column or "-"),
            escape(table.label_column or "-"),
            when(table.created_at),
        )
    Console().print(out)


@data_app.command("show")
def show_command(
    table: TableArg, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """One table: schema, id and label columns, rows, size, sha256."""
    namespace, name = split_table(table)
    with connect(url, token) as client:
        view = client.get_table(namespace, name)
    if as_json:
        print_json(view)
    else:
        _show(view)


@data_app.command("download")
def download_command(
    table: TableArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default: NAMESPACE.NAME.FORMAT here.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Stream a table's file from the node (its sha256 checked)."""
    namespace, name = split_table(table)
    console = Console(stderr=True)
    with connect(url, token) as client:
        view = client.get_table(namespace, name)
        dest = output or Path(f"{namespace}.{name}.{view.format}")
        with _transfer(console) as progress:
            task = progress.add_task(f"download {namespace}/{name}", total=view.size_bytes)
            size = client.download_table(
                namespace,
                name,
                dest,
                on_progress=lambda got: progress.update(task, completed=got),
            )
    console.print(f"wrote {size} bytes to {dest}")


@data_app.command("delete")
def delete_command(
    table: TableArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Remove a table from the node."""
    namespace, name = split_table(table)
    if not yes:
        typer.confirm(f"delete table {namespace}/{name}?", abort=True)
    with connect(url, token) as client:
        view = client.delete_table(namespace, name)
    Console().print(f"deleted {view.namespace}/{view.name} ({view.rows} rows)")
