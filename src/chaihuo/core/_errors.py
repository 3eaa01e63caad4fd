"""The error root and the code catalog mapping every error code to gRPC, HTTP and CLI outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

__all__ = [
    "CATALOG",
    "ChaihuoError",
    "ConfigError",
    "ErrorSpec",
    "InvalidInputError",
    "error_spec",
    "spec_for_exception",
]


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """How one error code surfaces on each interface."""

    code: str
    grpc_status: str
    http_status: int
    exit_code: int
    summary: str


def _specs(*rows: tuple[str, str, int, int, str]) -> dict[str, ErrorSpec]:
    return {row[0]: ErrorSpec(*row) for row in rows}


# Exit codes follow BSD sysexits where one fits (64 usage, 65 data, 69 unavailable, 70 software,
# 77 permission, 78 config); gRPC names are grpc.StatusCode member names.
CATALOG: Final[dict[str, ErrorSpec]] = _specs(
    ("INTERNAL", "INTERNAL", 500, 70, "unexpected internal error"),
    ("INVALID_INPUT", "INVALID_ARGUMENT", 400, 65, "input rejected"),
    ("CONFIG", "FAILED_PRECONDITION", 400, 78, "configuration rejected"),
    ("CRYPTO_ERROR", "INTERNAL", 500, 70, "cryptographic operation failed"),
    ("CRYPTO_KEY_POLICY", "FAILED_PRECONDITION", 400, 78, "key refused by policy"),
    ("CRYPTO_INVALID_CIPHERTEXT", "INVALID_ARGUMENT", 400, 65, "malformed ciphertext"),
    ("CRYPTO_KEY_MISMATCH", "INVALID_ARGUMENT", 400, 65, "ciphertext under a foreign key"),
    ("CRYPTO_EXPONENT_MISMATCH", "INVALID_ARGUMENT", 400, 65, "fixed-point exponent mismatch"),
    ("CRYPTO_OVERFLOW", "OUT_OF_RANGE", 422, 65, "value outside the encodable range"),
    ("CRYPTO_INVALID_INPUT", "INVALID_ARGUMENT", 400, 65, "invalid cryptographic input"),
    ("CRYPTO_INVALID_POINT", "INVALID_ARGUMENT", 400, 65, "invalid group element"),
    ("CRYPTO_CIRCUIT", "INVALID_ARGUMENT", 400, 65, "invalid circuit or circuit input"),
)


def error_spec(code: str) -> ErrorSpec:
    """The catalog entry for `code`; unknown codes surface as INTERNAL."""
    return CATALOG.get(code, CATALOG["INTERNAL"])


def spec_for_exception(exc: BaseException) -> ErrorSpec:
    """The catalog entry for any exception carrying a string `code` (chaihuo's and crypto's)."""
    code = getattr(exc, "code", None)
    return error_spec(code) if isinstance(code, str) else CATALOG["INTERNAL"]


class ChaihuoError(Exception):
    """Root of every error chaihuo raises on purpose; `code` selects the catalog entry."""

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def spec(self) -> ErrorSpec:
        """The catalog entry of this error."""
        return error_spec(self.code)

    def __str__(self) -> str:
        if not self.details:
            return self.message
        extra = ", ".join(f"{key}={value!r}" for key, value in sorted(self.details.items()))
        return f"{self.message} ({extra})"


class InvalidInputError(ChaihuoError, ValueError):
    """Input that does not meet its contract: says what was wrong and where."""

    code = "INVALID_INPUT"


class ConfigError(ChaihuoError, ValueError):
    """A setting or configuration file that cannot be used."""

    code = "CONFIG"
