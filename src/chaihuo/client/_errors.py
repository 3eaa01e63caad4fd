"""Typed errors of the client, rebuilt from the node's JSON error body and HTTP status."""

from __future__ import annotations

from typing import Any, Final

import httpx
from pydantic import ValidationError

from chaihuo.core import CATALOG, ChaihuoError, ErrorSpec
from chaihuo.flow.api._schemas import ErrorBody

__all__ = [
    "ChaihuoApiError",
    "ConflictError",
    "ContentMismatchError",
    "ForbiddenError",
    "InvalidRequestError",
    "NodeUnreachableError",
    "NotFoundError",
    "ServerError",
    "UnauthenticatedError",
    "error_from_response",
]

_TEXT_SHOWN: Final = 300  # a non-JSON answer (a proxy's page) is quoted this far


class ChaihuoApiError(ChaihuoError):
    """The node refused or failed a call: `status_code`, the node's `server_code`, its message.

    `code` (the class's) is the closest catalog entry on this side, which picks the CLI's exit
    code; `server_code` is the node's own, which may be more precise (JOB_INVALID for a 400).
    """

    code = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        server_code: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.server_code = server_code or self.code
        self.reason = reason
        self.details = dict(details or {})

    @property
    def spec(self) -> ErrorSpec:
        """The catalog entry of the node's code when this side knows it, else the class's."""
        return CATALOG.get(self.server_code) or super().spec


class UnauthenticatedError(ChaihuoApiError):
    """401: no token, or one the node refused; `reason` is unknown, expired, revoked, missing."""

    code = "UNAUTHENTICATED"


class ForbiddenError(ChaihuoApiError):
    """403: the token is valid but the node's policy does not allow the call."""

    code = "FORBIDDEN"


class NotFoundError(ChaihuoApiError):
    """404: no such job, table, model, user or token."""

    code = "NOT_FOUND"


class ConflictError(ChaihuoApiError):
    """409: the call does not fit the current state (a table exists, a job already ended)."""

    code = "CONFLICT"


class InvalidRequestError(ChaihuoApiError):
    """4xx other than the above: the node rejected the input (the message says where)."""

    code = "INVALID_INPUT"


class ServerError(ChaihuoApiError):
    """5xx: the node failed; its log has the details."""

    code = "INTERNAL"


class NodeUnreachableError(ChaihuoApiError):
    """No answer from the node: connection refused, name not resolved, timed out."""

    code = "FEDERATION_UNREACHABLE"


class ContentMismatchError(ChaihuoApiError):
    """A download whose bytes do not hash to what the node announced."""

    code = "DATA_INVALID"


_BY_STATUS: Final[dict[int, type[ChaihuoApiError]]] = {
    401: UnauthenticatedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
}


def error_from_response(response: httpx.Response) -> ChaihuoApiError:
    """The typed error for a non-2xx answer (read the body first when streaming)."""
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else InvalidRequestError)
    try:
        body = ErrorBody.model_validate_json(response.content)
    except ValidationError:
        text = response.text[:_TEXT_SHOWN].strip() or response.reason_phrase
        return cls(f"HTTP {status}: {text}", status_code=status)
    return cls(
        body.message,
        status_code=status,
        server_code=body.code,
        reason=body.reason,
        details=dict(body.details),
    )
