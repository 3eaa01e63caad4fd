"""Node settings: one pydantic model of documented defaults, overridable by CHAIHUO_ variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chaihuo.core._errors import ConfigError

__all__ = ["CryptoSettings", "LoggingSettings", "Settings", "load_settings"]

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


class Settings(BaseSettings):
    """Every setting of a chaihuo node; override with CHAIHUO_<NAME> or CHAIHUO_<GROUP>__<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="CHAIHUO_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    profile: Literal["dev", "prod"] = Field(
        "prod", description="'prod' refuses insecure transports and test-only key sizes."
    )
    data_dir: Path = Field(Path(".chaihuo"), description="Where this party keeps its data.")
    crypto: CryptoSettings = CryptoSettings()
    logging: LoggingSettings = LoggingSettings()


def load_settings(**overrides: object) -> Settings:
    """Build settings from defaults, CHAIHUO_ environment variables and explicit overrides."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
