"""Shared kernel: the error root and catalog, party and role types, settings and logging."""

from chaihuo.core._errors import (
    CATALOG,
    ChaihuoError,
    ConfigError,
    ErrorSpec,
    InvalidInputError,
    StorageError,
    error_spec,
    shared_reason,
    spec_for_exception,
)
from chaihuo.core._files import write_atomic
from chaihuo.core._logging import JsonLineFormatter, configure_logging
from chaihuo.core._settings import CryptoSettings, LoggingSettings, Settings, load_settings
from chaihuo.core._types import PartyId, Role, parse_party_id

__all__ = [
    "CATALOG",
    "ChaihuoError",
    "ConfigError",
    "CryptoSettings",
    "ErrorSpec",
    "InvalidInputError",
    "JsonLineFormatter",
    "LoggingSettings",
    "PartyId",
    "Role",
    "Settings",
    "StorageError",
    "configure_logging",
    "error_spec",
    "load_settings",
    "parse_party_id",
    "shared_reason",
    "spec_for_exception",
    "write_atomic",
]
