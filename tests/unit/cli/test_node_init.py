"""`chaihuo node init` writes a node.yaml whose certificate paths are where `chaihuo cert` puts
them, and node.yaml mistakes are refused naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaihuo.cli import app
from chaihuo.core import ConfigError
from chaihuo.flow.node._config import load_node_config

RUNNER = CliRunner()


def test_the_starter_file_points_at_the_certificates_cert_issue_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["cert", "init-ca"], ["cert", "issue", "--party", "9999"],
                 ["node", "init", "--party", "9999"]):  # fmt: skip
        result = RUNNER.invoke(app, args)
        assert result.exit_code == 0, result.output
    config = load_node_config(tmp_path / "node.yaml")
    assert config.party_id == "9999" and config.tls is not None
    for path in (config.tls.ca, config.tls.cert, config.tls.key):
        assert path is not None and path.is_file(), path
    again = RUNNER.invoke(app, ["node", "init", "--party", "9999"])
    assert isinstance(again.exception, ConfigError) and "--overwrite" in str(again.exception)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("party_id: '9999'\nlisten: {grpc: 0.0.0.0:9370}\nunknown_key: 1\n", "unknown_key"),
        ("party_id: '9999'\nmax_concurrent_tasks: zero\n", "max_concurrent_tasks"),
        ("party_id: '9999'\ninsecure: true\n", "prod profile refuses to start without TLS"),
        ("party_id: '9999'\nprofile: dev\ntls: null\n", "in the dev profile, insecure: true"),
        ("- a list\n", "a YAML mapping"),
        ("party_id: [\n", "not valid YAML"),
    ],
)
def test_a_mistake_in_node_yaml_is_refused_naming_it(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "node.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=named):
        load_node_config(path)
