"""`chaihuo cert`: an existing key or CA is never replaced without --overwrite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from chaihuo.cli import app
from chaihuo.core import ConfigError

RUNNER = CliRunner()


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    directory = tmp_path / "pki" / "ca"
    result = RUNNER.invoke(app, ["cert", "init-ca", "--directory", str(directory)])
    assert result.exit_code == 0, result.output
    return directory


def _issue(ca: Path, *extra: str) -> Result:
    return RUNNER.invoke(app, ["cert", "issue", "--party", "9999", "--ca", str(ca), *extra])


def test_issuing_twice_refuses_and_keeps_the_key(ca: Path) -> None:
    assert _issue(ca).exit_code == 0
    key, cert = ca.parent / "9999" / "9999-key.pem", ca.parent / "9999" / "9999.pem"
    before = key.read_bytes(), cert.read_bytes()
    result = _issue(ca)
    error = result.exception
    assert isinstance(error, ConfigError), result.output
    assert "--overwrite" in str(error)
    assert str(key) in str(error) and str(cert) in str(error)
    assert (key.read_bytes(), cert.read_bytes()) == before


def test_overwrite_replaces_the_key(ca: Path) -> None:
    assert _issue(ca).exit_code == 0
    key = ca.parent / "9999" / "9999-key.pem"
    before = key.read_bytes()
    result = _issue(ca, "--overwrite")
    assert result.exit_code == 0, result.output
    assert key.read_bytes() != before


def test_a_copy_of_another_ca_is_not_replaced_silently(ca: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-ca"
    assert RUNNER.invoke(app, ["cert", "init-ca", "--directory", str(other)]).exit_code == 0
    out = tmp_path / "shared"
    result = RUNNER.invoke(
        app, ["cert", "issue", "--party", "10000", "--ca", str(other), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    result = _issue(ca, "--out", str(out))  # another party, but out/ca.pem is the other CA's
    assert isinstance(result.exception, ConfigError)
    assert str(out / "ca.pem") in str(result.exception)


def test_init_ca_refusal_names_the_flag(ca: Path) -> None:
    before = (ca / "ca-key.pem").read_bytes()
    result = RUNNER.invoke(app, ["cert", "init-ca", "--directory", str(ca)])
    assert isinstance(result.exception, ConfigError)
    assert "--overwrite" in str(result.exception) and "overwrite=True" in str(result.exception)
    assert (ca / "ca-key.pem").read_bytes() == before
    result = RUNNER.invoke(app, ["cert", "init-ca", "--directory", str(ca), "--overwrite"])
    assert result.exit_code == 0 and (ca / "ca-key.pem").read_bytes() != before


def test_the_command_exits_with_the_config_code(ca: Path) -> None:
    assert _issue(ca).exit_code == 0
    completed = subprocess.run(
        [sys.executable, "-m", "chaihuo.cli", "cert", "issue", "--party", "9999", "--ca", str(ca)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 78, completed.stderr
    assert "--overwrite" in completed.stderr and "Traceback" not in completed.stderr
