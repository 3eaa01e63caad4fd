"""Node settings: one pydantic model of documented defaults, overridable by CHAIHUO_ variables."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chaihuo.core._errors import ConfigError

__all__ = [
    "NON_SETTING_VARIABLES",
    "ClientSettings",
    "CryptoSettings",
    "LoggingSettings",
    "Settings",
    "load_settings",
]

ENV_PREFIX: Final = "CHAIHUO_"
# The only CHAIHUO_ variables that are not settings: the project's own tooling reads them.
# Every other CHAIHUO_ variable must name a setting, so a typo (PROFLE for PROFILE) is an
# error instead of being ignored. Add a name here only with the place that reads it.
NON_SETTING_VARIABLES: Final = frozenset(
    {
        "CHAIHUO_SHARED_DATA",  # scripts/link_shared_data.sh: where the shared datasets are
    }
)

_PAILLIER_SIZES = frozenset({2048, 3072, 4096})


class CryptoSettings(BaseModel):
    """Crypto policy a node applies to every job it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paillier_key_bits: int = Field(
        2048, description="Paillier modulus size: 2048, 3072 or 4096 (smaller is refused)."
    )
    fixed_point_exponent: int = Field(
        24, ge=0, le=64, description="Fractional bits of the protocol-wide fixed-point encoding."
    )
    workers: int = Field(
        0, ge=0, le=512, description="Processes for vectorised crypto; 0 means one per core."
    )

    @field_validator("paillier_key_bits")
    @classmethod
    def _supported_key_size(cls, bits: int) -> int:
        if bits not in _PAILLIER_SIZES:
            raise ValueError(f"must be one of {sorted(_PAILLIER_SIZES)} (at least 2048)")
        return bits


class LoggingSettings(BaseModel):
    """Where and how a node logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = Field(False, description="Emit one JSON object per log record.")


class ClientSettings(BaseModel):
    """How the CLI reaches a node's REST API (`--url` and `--token` override these)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(None, description="The node's REST base URL, e.g. http://host:9380.")
    token: SecretStr | None = Field(None, description="An API token of a user of that node.")


class Settings(BaseSettings):
    """Every setting of a chaihuo node; override with CHAIHUO_<NAME> or CHAIHUO_<GROUP>__<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    profile: Literal["dev", "prod"] = Field(
        "prod", description="'prod' refuses insecure transports and test-only key sizes."
    )
    data_dir: Path = Field(Path(".chaihuo"), description="Where this party keeps its data.")
    crypto: CryptoSettings = CryptoSettings()
    logging: LoggingSettings = LoggingSettings()
    client: ClientSettings = ClientSettings()


def _variables(model: type[BaseModel], prefix: str) -> set[str]:
    """Every environment variable naming a field of `model` or of its nested models."""
    names = set()
    for name, field in model.model_fields.items():
        variable = f"{prefix}{name}".upper()
        names.add(variable)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            names |= _variables(field.annotation, f"{variable}__")
    return names


def _with_suggestion(name: str, known: set[str]) -> str:
    # Compare what follows the prefix: the shared prefix would make every name look close.
    rest = {variable.removeprefix(ENV_PREFIX): variable for variable in known}
    close = difflib.get_close_matches(name.upper().removeprefix(ENV_PREFIX), sorted(rest), 1, 0.75)
    return f"{name} (did you mean {rest[close[0]]}?)" if close else name


def _check_environment(environ: Mapping[str, str]) -> None:
    """Refuse CHAIHUO_ variables that name no setting (pydantic-settings ignores them).

    Names compare case-insensitively, as pydantic-settings reads them.
    """
    known = _variables(Settings, ENV_PREFIX)
    unknown = sorted(
        name
        for name in environ
        if name.upper().startswith(ENV_PREFIX)
        and name.upper() not in known
        and name.upper() not in NON_SETTING_VARIABLES
    )
    if not unknown:
        return
    hints = [_with_suggestion(name, known) for name in unknown]
    top = ", ".join(name.upper() for name in Settings.model_fields)
    raise ConfigError(
        f"unknown setting{'s' if len(unknown) > 1 else ''} in the environment: "
        f"{', '.join(hints)}; settings are {ENV_PREFIX}<NAME> or {ENV_PREFIX}<GROUP>__<NAME> "
        f"with top-level names {top} (`chaihuo config show` lists them all)"
    )


def load_settings(**overrides: object) -> Settings:
    """Build settings from defaults, CHAIHUO_ environment variables and explicit overrides.

    A CHAIHUO_ variable that names no setting (nor one of NON_SETTING_VARIABLES) is a
    ConfigError, as is an invalid value.
    """
    _check_environment(os.environ)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
