"""`chaihuo component list / show`: every component's parameters from the registry, and the page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from typer.testing import CliRunner

from chaihuo.cli._app import app
from chaihuo.components._reference import describe_type, render_markdown
from chaihuo.components.builtin import default_registry

RUNNER = CliRunner()
PAGE = Path(__file__).resolve().parents[3] / "docs" / "components.md"


def test_list_names_every_registered_component() -> None:
    result = RUNNER.invoke(app, ["component", "list"])
    assert result.exit_code == 0, result.output
    for name in default_registry().names():
        assert name in result.output


def test_show_prints_parameters_types_defaults_roles_inputs_outputs() -> None:
    result = RUNNER.invoke(app, ["component", "show", "psi"], terminal_width=200)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "guest (required), host (required)" in out
    assert "inputs:  data" in out and "outputs: data" in out
    assert "protocol" in out and '"ecdh" | "rsa"' in out
    assert "min_intersection" in out and "int ≥ 0" in out and "100" in out


def test_show_json_is_the_structured_description() -> None:
    result = RUNNER.invoke(app, ["component", "show", "hetero_lr", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["name"] == "hetero_lr" and info["roles"] == ["guest", "host", "arbiter"]
    assert info["required_roles"] == ["guest", "host", "arbiter"]
    assert info["inputs"] == [] and info["optional_inputs"] == [
        "train",
        "validate",
        "test",
        "model",
    ]
    assert info["outputs"] == ["model", "predictions"]
    params = {p["name"]: p for p in info["params"]}
    assert params["epochs"]["aliases"] == ["max_iter"]
    assert params["epochs"]["type"] == "0 ≤ int ≤ 100000" and params["epochs"]["default"] == "10"
    assert params["optimizer"]["type"] == '"sgd" | "adam" | "rmsprop" | "adagrad"'
    assert params["random_seed"]["type"] == "int ≥ 0 | None"
    assert params["learning_rate"]["constraints"] == ["> 0", "≤ 100"]
    assert params["learning_rate"]["description"] == ""
    assert not params["alpha"]["required"]
    secure_add = json.loads(
        RUNNER.invoke(app, ["component", "show", "secure_add", "--json"]).output
    )
    seed = next(p for p in secure_add["params"] if p["name"] == "seed")
    assert seed["required"] and seed["default"] == "required"


def test_show_of_an_unknown_component_lists_the_names_and_a_guess() -> None:
    result = RUNNER.invoke(app, ["component", "show", "hetero_l"])
    assert result.exit_code == 65
    assert "did you mean 'hetero_lr'?" in result.output and "secure_add" in result.output


def test_types_read_like_the_job_file() -> None:
    assert describe_type(Literal["ecdh", "rsa"]) == '"ecdh" | "rsa"'
    assert describe_type(float | None) == "float | None"
    assert describe_type(list[str]) == "list[str]"


def test_the_reference_page_is_current() -> None:
    fresh = render_markdown(default_registry())
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    assert current == fresh, "docs/components.md is stale: run `python scripts/component_docs.py`"
    for name in default_registry().names():
        assert f"## `{name}`" in current
