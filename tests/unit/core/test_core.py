"""Core kernel: the error catalog, party ids, settings overrides and explicit logging set-up."""

from __future__ import annotations

import io
import json
import logging

import pytest

from chaihuo.core import (
    CATALOG,
    ChaihuoError,
    ConfigError,
    InvalidInputError,
    LoggingSettings,
    Role,
    configure_logging,
    load_settings,
    parse_party_id,
    spec_for_exception,
)
from chaihuo.crypto import (
    CircuitError,
    CryptoError,
    EncodingOverflowError,
    ExponentMismatchError,
    InvalidCiphertextError,
    InvalidCryptoInputError,
    InvalidPointError,
    KeyMismatchError,
    KeyPolicyError,
)


def test_every_catalog_entry_maps_to_grpc_http_and_exit_code() -> None:
    for code, spec in CATALOG.items():
        assert spec.code == code
        assert spec.grpc_status.isupper()
        assert 400 <= spec.http_status < 600
        assert 1 <= spec.exit_code < 128


@pytest.mark.parametrize(
    "error",
    [
        CryptoError,
        KeyPolicyError,
        InvalidCiphertextError,
        KeyMismatchError,
        ExponentMismatchError,
        EncodingOverflowError,
        InvalidCryptoInputError,
        InvalidPointError,
        CircuitError,
    ],
)
def test_every_crypto_error_code_is_in_the_catalog(error: type[CryptoError]) -> None:
    assert error.code in CATALOG
    assert spec_for_exception(error("x")).code == error.code


def test_chaihuo_error_carries_details_and_spec() -> None:
    err = InvalidInputError("bad row", file="a.csv", line=3)
    assert str(err) == "bad row (file='a.csv', line=3)"
    assert err.spec.http_status == 400 and isinstance(err, ValueError)
    assert spec_for_exception(RuntimeError("boom")).code == "INTERNAL"
    assert ChaihuoError("x").spec.exit_code == 70


@pytest.mark.parametrize("raw", ["9999", 10000, "party-a.b_c"])
def test_valid_party_ids(raw: object) -> None:
    assert parse_party_id(raw) == str(raw)


@pytest.mark.parametrize("raw", ["", "a b", "x" * 65, None, True, "../etc", "é"])
def test_invalid_party_ids_are_refused(raw: object) -> None:
    with pytest.raises(InvalidInputError):
        parse_party_id(raw)


def test_roles_are_strings() -> None:
    assert Role("guest") is Role.GUEST and Role.HOST == "host"


def test_settings_defaults_and_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.crypto.paillier_key_bits == 2048 and settings.profile == "prod"
    monkeypatch.setenv("CHAIHUO_CRYPTO__PAILLIER_KEY_BITS", "3072")
    monkeypatch.setenv("CHAIHUO_PROFILE", "dev")
    settings = load_settings()
    assert settings.crypto.paillier_key_bits == 3072 and settings.profile == "dev"


def test_unknown_or_unsafe_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"(?i)extra"):
        load_settings(colour="blue")
    monkeypatch.setenv("CHAIHUO_CRYPTO__PAILLIER_KEY_BITS", "1024")
    with pytest.raises(ConfigError, match="paillier_key_bits"):
        load_settings()


def test_logging_is_configured_only_when_asked() -> None:
    logger = logging.getLogger("chaihuo")
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", json_lines=True), stream)
    configure_logging(LoggingSettings(level="INFO", json_lines=True), stream)
    logger.info("hello", extra={"job": "j1"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["message"] == "hello" and record["job"] == "j1" and record["level"] == "INFO"
