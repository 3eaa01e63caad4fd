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
    "StorageError",
    "error_spec",
    "shared_reason",
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
    ("SERDE_INVALID", "INVALID_ARGUMENT", 400, 65, "payload could not be decoded"),
    ("SERDE_TOO_LARGE", "RESOURCE_EXHAUSTED", 413, 65, "payload exceeds a declared limit"),
    ("SERDE_UNSUPPORTED", "INVALID_ARGUMENT", 400, 65, "object type cannot cross a party boundary"),
    ("FEDERATION_ERROR", "INTERNAL", 500, 70, "federation failure"),
    ("FEDERATION_UNKNOWN_PARTY", "NOT_FOUND", 404, 68, "unknown party"),
    ("FEDERATION_UNREACHABLE", "UNAVAILABLE", 503, 69, "peer unreachable"),
    ("FEDERATION_TIMEOUT", "DEADLINE_EXCEEDED", 504, 69, "no message before the deadline"),
    ("FEDERATION_DUPLICATE_SEND", "ALREADY_EXISTS", 409, 70, "tag already sent to this peer"),
    ("FEDERATION_PROTOCOL", "FAILED_PRECONDITION", 409, 76, "protocol violation by a peer"),
    ("FEDERATION_PERMISSION", "PERMISSION_DENIED", 403, 77, "sender not authorised"),
    ("FEDERATION_TOO_LARGE", "RESOURCE_EXHAUSTED", 413, 65, "message exceeds the size limit"),
    ("FEDERATION_CANCELLED", "CANCELLED", 499, 75, "job cancelled"),
    ("COMPUTING_ERROR", "INTERNAL", 500, 70, "computing backend failure"),
    ("DATA_INVALID", "INVALID_ARGUMENT", 400, 65, "input data rejected"),
    ("JOB_INVALID", "INVALID_ARGUMENT", 400, 65, "job definition rejected"),
    ("JOB_FAILED", "ABORTED", 500, 70, "job failed"),
    ("NOT_FOUND", "NOT_FOUND", 404, 66, "no such record"),
    ("CONFLICT", "ALREADY_EXISTS", 409, 75, "record already exists"),
    ("UNAUTHENTICATED", "UNAUTHENTICATED", 401, 77, "authentication required"),
    ("FORBIDDEN", "PERMISSION_DENIED", 403, 77, "not permitted"),
    ("STORAGE", "RESOURCE_EXHAUSTED", 507, 74, "cannot write to storage"),
    ("TRAINING_DIVERGED", "FAILED_PRECONDITION", 422, 65, "training diverged"),
)


def error_spec(code: str) -> ErrorSpec:
    """The catalog entry for `code`; unknown codes surface as INTERNAL."""
    return CATALOG.get(code, CATALOG["INTERNAL"])


def spec_for_exception(exc: BaseException) -> ErrorSpec:
    """The catalog entry for any exception carrying a string `code` (chaihuo's and crypto's)."""
    code = getattr(exc, "code", None)
    return error_spec(code) if isinstance(code, str) else CATALOG["INTERNAL"]


class ChaihuoError(Exception):
    """Root of every error chaihuo raises on purpose; `code` selects the catalog entry.

    `message` (and `details`) are for this party's own operator and may quote its data: a
    cell, a path, a label value. What another party may read is `shared_reason(exc)`: the
    code and the public text, which the raiser vouches quotes no data (parameters all parties
    agreed on, a protocol step): `public=True` when the message itself is such a text,
    `public="..."` to give one; without it the peer reads the catalog's generic summary."""

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        public = details.pop("public", False)  # a keyword, kept out of the typed details
        self.message = message
        self.public: str | None = message if public is True else (public or None)
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


def shared_reason(exc: BaseException) -> str:
    """What a peer may read of `exc`: `CODE: public text` (or the catalog summary); never the
    message, which may quote this party's data (see ChaihuoError)."""
    spec = spec_for_exception(exc)
    public = getattr(exc, "public", None)
    return f"{spec.code}: {public if isinstance(public, str) and public else spec.summary}"


class InvalidInputError(ChaihuoError, ValueError):
    """Input that does not meet its contract: says what was wrong and where."""

    code = "INVALID_INPUT"


class ConfigError(ChaihuoError, ValueError):
    """A setting or configuration file that cannot be used."""

    code = "CONFIG"


class StorageError(ChaihuoError, OSError):
    """A file could not be written (disk full, quota, permissions); nothing half-written stays."""

    code = "STORAGE"
