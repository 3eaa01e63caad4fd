"""Typer application: top-level commands and the translation of errors into exit codes."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from chaihuo import __version__
from chaihuo.cli._cert import cert_app
from chaihuo.cli._component import component_app
from chaihuo.cli._data import data_app
from chaihuo.cli._demo import run_crypto_demo
from chaihuo.cli._job import job_app
from chaihuo.cli._model import model_app
from chaihuo.cli._node import node_app
from chaihuo.cli._run import run_command
from chaihuo.cli._user import user_app
from chaihuo.core import ChaihuoError, configure_logging, load_settings, spec_for_exception

__all__ = ["app", "main"]

app = typer.Typer(
    name="chaihuo",
    help="chaihuo: federated learning where every party's raw records stay with their owner.",
    no_args_is_help=True,
    add_completion=False,
)
demo_app = typer.Typer(help="Self-contained demonstrations.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect settings.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(config_app, name="config")
app.add_typer(cert_app, name="cert")
app.add_typer(component_app, name="component")
app.add_typer(job_app, name="job")
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
app.add_typer(user_app, name="user")
app.add_typer(node_app, name="node")
app.command("run")(run_command)


@app.command()
def version() -> None:
    """Print the chaihuo version."""
    Console().print(__version__)


@config_app.command("show")
def config_show() -> None:
    """Print every effective setting (defaults overridden by CHAIHUO_ variables)."""
    settings = load_settings()
    table = Table("setting", "value", title="chaihuo settings")
    for group, values in settings.model_dump(mode="json").items():
        if isinstance(values, dict):
            for name, value in values.items():
                table.add_row(f"{group}.{name}", str(value))
        else:
            table.add_row(group, str(values))
    Console().print(table)


@demo_app.command("crypto")
def demo_crypto(
    parties: int = typer.Option(3, min=2, max=16, help="Parties in the secure sum."),
    rows: int = typer.Option(1000, min=1, max=100_000, help="Values each party contributes."),
) -> None:
    """Yao's millionaires, a Paillier secure sum, a secret-shared product and an ECDH PSI."""
    settings = load_settings()
    configure_logging(settings.logging)
    run_crypto_demo(
        Console(), parties=parties, rows=rows, key_bits=settings.crypto.paillier_key_bits
    )


def main() -> None:
    """Entry point: chaihuo and crypto errors print one line and exit with their catalog code."""
    try:
        app()
    except Exception as exc:
        if not isinstance(exc, ChaihuoError) and not isinstance(getattr(exc, "code", None), str):
            raise
        spec = spec_for_exception(exc)
        Console(stderr=True, soft_wrap=True).print(f"[red]error[/red] [{spec.code}] {exc}")
        sys.exit(spec.exit_code)
