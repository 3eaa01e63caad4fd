"""CHAIHUO_ environment variables: every one names a setting or is a listed non-setting."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from chaihuo.core import ConfigError, load_settings
from chaihuo.core._settings import NON_SETTING_VARIABLES
from chaihuo.core._settings import _check_environment as check_environment

ROOT = Path(__file__).resolve().parents[3]
_MENTION = re.compile(r"\bCHAIHUO_[A-Z][A-Z0-9_]*")


def test_unknown_top_level_variable_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAIHUO_PROFLE", "dev")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "CHAIHUO_PROFLE" in message and "did you mean CHAIHUO_PROFILE" in message
    for name in ("PROFILE", "DATA_DIR", "CRYPTO", "LOGGING"):
        assert name in message
    assert info.value.spec.exit_code == 78


def test_names_are_case_insensitive_as_pydantic_settings_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("chaihuo_profile", "dev")
    assert load_settings().profile == "dev"
    monkeypatch.setenv("chaihuo_colour", "blue")
    with pytest.raises(ConfigError, match="chaihuo_colour"):
        load_settings()


def test_known_settings_and_listed_non_settings_pass_an_unknown_one_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHAIHUO_PROFILE", "dev")
    monkeypatch.setenv("CHAIHUO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHAIHUO_CRYPTO__PAILLIER_KEY_BITS", "3072")
    monkeypatch.setenv("CHAIHUO_LOGGING__LEVEL", "DEBUG")
    for name in NON_SETTING_VARIABLES:
        monkeypatch.setenv(name, "anything")
    settings = load_settings()
    assert (settings.profile, settings.data_dir) == ("dev", tmp_path)
    assert settings.crypto.paillier_key_bits == 3072 and settings.logging.level == "DEBUG"
    monkeypatch.setenv("CHAIHUO_DATADIR", str(tmp_path))
    with pytest.raises(ConfigError, match="CHAIHUO_DATADIR"):
        load_settings()


def test_unknown_nested_variable_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAIHUO_CRYPTO__PAILIER_KEY_BITS", "3072")
    with pytest.raises(ConfigError, match="CHAIHUO_CRYPTO__PAILIER_KEY_BITS"):
        load_settings()
    monkeypatch.delenv("CHAIHUO_CRYPTO__PAILIER_KEY_BITS")
    monkeypatch.setenv("CHAIHUO_LOGGING__LEVEL__DEEPER", "1")
    with pytest.raises(ConfigError, match="CHAIHUO_LOGGING__LEVEL__DEEPER"):
        load_settings()


def test_every_variable_the_project_mentions_is_accepted() -> None:
    places = ["src", "scripts", "benchmarks", "examples", ".ci", "Makefile", "README.md"]
    files = [
        path
        for place in places
        for path in ([ROOT / place] if (ROOT / place).is_file() else (ROOT / place).rglob("*"))
        if path.is_file() and path.suffix not in {".pyc", ".csv", ".npy"}
    ]
    mentioned = {
        name
        for path in files
        for name in _MENTION.findall(path.read_text(encoding="utf-8", errors="replace"))
    }
    assert "CHAIHUO_SHARED_DATA" in mentioned and "CHAIHUO_PROFILE" in mentioned
    check_environment(dict.fromkeys(mentioned, ""))  # names only: values are not checked here


def test_the_cli_reports_an_unknown_variable_with_the_config_exit_code() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "from chaihuo.cli import main; main()", "config", "show"],
        env={"CHAIHUO_PROFLE": "dev", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 78, completed.stderr
    assert "CONFIG" in completed.stderr and "CHAIHUO_PROFLE" in completed.stderr
    assert "Traceback" not in completed.stderr
