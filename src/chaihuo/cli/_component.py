"""`chaihuo component`: list the registered components, show one's parameters, roles and data."""

from __future__ import annotations

import difflib
import json

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaihuo.components._reference import ComponentInfo, describe_component
from chaihuo.components.builtin import default_registry
from chaihuo.core import ChaihuoError, spec_for_exception

__all__ = ["component_app"]

component_app = typer.Typer(
    help="The components a job file can use, and their parameters.", no_args_is_help=True
)


@component_app.command("list")
def list_command() -> None:
    """Every registered component: name, version, roles and what it does."""
    registry = default_registry()
    table = Table(title="chaihuo components")
    table.add_column("component", no_wrap=True)
    for column in ("version", "roles", "description"):
        table.add_column(column)
    for name in registry.names():
        info = describe_component(registry.get(name))
        table.add_row(info.name, info.version, ", ".join(info.roles), escape(info.description))
    Console().print(table)


def _info(name: str) -> ComponentInfo:
    registry = default_registry()
    try:
        return describe_component(registry.get(name))
    except ChaihuoError as exc:
        close = difflib.get_close_matches(name, registry.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        Console(stderr=True, soft_wrap=True).print(f"[red]error[/red] {escape(str(exc))}{hint}")
        raise typer.Exit(spec_for_exception(exc).exit_code) from exc


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "-"


@component_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Component name, e.g. hetero_lr."),
    as_json: bool = typer.Option(False, "--json", help="Print the description as JSON."),
) -> None:
    """A component's parameters (type, default, description), roles, inputs and outputs."""
    info = _info(name)
    if as_json:
        typer.echo(json.dumps(info.to_dict(), ensure_ascii=False, indent=2))
        return
    console = Console()
    roles = ", ".join(f"{r} (required)" if r in info.required_roles else r for r in info.roles)
    outputs = _names(info.outputs) + (f" ({info.outputs_note})" if info.outputs_note else "")
    console.print(f"[bold]{info.name}[/bold] {info.version}: {escape(info.description)}")
    console.print(f"roles:   {roles}")
    console.print(f"inputs:  {_names(info.inputs)}; optional: {_names(info.optional_inputs)}")
    console.print(f"outputs: {escape(outputs)}")
    table = Table(title=f"{info.name} parameters")
    table.add_column("parameter", no_wrap=True)
    for column in ("type", "default", "description"):
        table.add_column(column)
    for param in info.params:
        label = param.name + "".join(f"\n(or {alias})" for alias in param.aliases)
        default = "[bold]required[/bold]" if param.required else escape(param.default)
        table.add_row(label, escape(param.type), default, escape(param.description))
    console.print(table)
