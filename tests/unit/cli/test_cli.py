"""The `chaihuo` command: version, settings, the crypto demo and error exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from chaihuo import __version__
from chaihuo.cli import app

RUNNER = CliRunner()


def test_version() -> None:
    result = RUNNER.invoke(app, ["version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_config_show_lists_settings_with_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAIHUO_CRYPTO__PAILLIER_KEY_BITS", "3072")
    result = RUNNER.invoke(app, ["config", "show"])
    assert result.exit_code == 0
    assert "crypto.paillier_key_bits" in result.output and "3072" in result.output


def test_demo_crypto_prints_four_correct_results() -> None:
    result = RUNNER.invoke(app, ["demo", "crypto", "--parties", "2", "--rows", "20"])
    assert result.exit_code == 0, result.output
    for name in (
        "Yao's millionaires",
        "Paillier secure sum",
        "Secret-shared product",
        "ECDH set intersection",
    ):
        assert name in result.output
    assert result.output.count("[ok]") == 4 and "WRONG" not in result.output


def test_bad_settings_exit_with_the_catalog_code() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "from chaihuo.cli import main; main()", "config", "show"],
        env={"CHAIHUO_CRYPTO__PAILLIER_KEY_BITS": "1024", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 78, completed.stderr
    assert "CONFIG" in completed.stderr and "paillier_key_bits" in completed.stderr
