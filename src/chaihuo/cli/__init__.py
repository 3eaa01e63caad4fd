"""The `chaihuo` command: Typer application and its entry point."""

from chaihuo.cli._app import app, main

__all__ = ["app", "main"]
