"""How the REST API answers failures: one JSON error body for every error, with catalog statuses."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chaihuo.core import ChaihuoError, error_spec
from chaihuo.flow.api._schemas import ErrorBody

__all__ = [
    "ApiConflictError",
    "ApiForbiddenError",
    "ApiNotFoundError",
    "ApiUnauthenticatedError",
    "BodyLimitMiddleware",
    "InternalErrorMiddleware",
    "PayloadTooLargeError",
    "error_response",
    "install_error_handlers",
]

LOGGER: Final = logging.getLogger("chaihuo.flow.api")
_CODE_BY_STATUS: Final = {
    400: "INVALID_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    411: "INVALID_INPUT",
    413: "SERDE_TOO_LARGE",
}


class ApiUnauthenticatedError(ChaihuoError):
    """No token, or a token the store refused; `reason` says which (missing, unknown, ...)."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, public=True)
        self.reason = reason


class ApiForbiddenError(ChaihuoError):
    """An authenticated user asked for something the node's policy does not allow it."""

    code = "FORBIDDEN"


class ApiNotFoundError(ChaihuoError):
    """Something the request names does not exist."""

    code = "NOT_FOUND"


class ApiConflictError(ChaihuoError):
    """The request does not fit the current state (a table that exists, without replace)."""

    code = "CONFLICT"


class PayloadTooLargeError(ChaihuoError):
    """A request body over the node's limit for that route."""

    code = "SERDE_TOO_LARGE"


def _status(code: str) -> int:
    spec = error_spec(code)
    return spec.http_status if spec.code == code else 500


def _reason(exc: ChaihuoError) -> str | None:
    reason = getattr(exc, "reason", None) or exc.details.get("reason")
    return str(reason) if reason is not None else None


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """The one error body; a 401 says how to authenticate (RFC 6750)."""
    shown = {k: str(v) for k, v in (details or {}).items() if k != "reason"}
    body = ErrorBody(code=code, message=message, reason=reason, details=shown)
    headers = {}
    if status == 401:
        challenge = 'Bearer realm="chaihuo"'
        if reason not in (None, "missing"):
            challenge += f', error="invalid_token", error_description="{reason}"'
        headers["WWW-Authenticate"] = challenge
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


async def _chaihuo_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChaihuoError)
    status = _status(exc.code)
    if status >= 500:
        # A failure of the node, not of the request: its text (a store URL, a SQL statement)
        # stays in the log; the caller gets the public text or the catalog's summary.
        incident = secrets.token_hex(6)
        LOGGER.error(
            "%s %s -> %d %s (incident %s)",
            request.method,
            request.url.path,
            status,
            exc.code,
            incident,
            exc_info=exc,
        )
        shown = exc.public or error_spec(exc.code).summary
        return error_response(status, exc.code, f"{shown} (incident {incident})")
    LOGGER.info("%s %s -> %d %s: %s", request.method, request.url.path, status, exc.code, exc)
    if status == 401:
        logging.getLogger("chaihuo.security").warning(
            "refused REST request from %s: %s",
            request.client.host if request.client else "?",
            _reason(exc),
        )
    return error_response(status, exc.code, exc.message, reason=_reason(exc), details=exc.details)


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{_location(err['loc'])}: {err['msg']}" for err in exc.errors())
    return error_response(400, "INVALID_INPUT", f"request rejected: {problems}")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_BY_STATUS.get(exc.status_code, "INTERNAL" if exc.status_code >= 500 else "")
    return error_response(exc.status_code, code or "INVALID_INPUT", str(exc.detail))


def install_error_handlers(app: FastAPI) -> None:
    """Map chaihuo errors, validation errors and HTTP errors to the JSON error body."""
    app.add_exception_handler(ChaihuoError, _chaihuo_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


class InternalErrorMiddleware:
    """Any unexpected exception: a generic 500 body, the traceback only in the node's log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = secrets.token_hex(6)
            LOGGER.exception("internal error %s in %s %s", incident, scope["method"], scope["path"])
            if started:
                raise
            message = f"internal error; the node's log has the details (incident {incident})"
            await error_response(500, "INTERNAL", message)(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes before anyone reads them.

    Streaming routes (matched by `streaming`: method and path pattern) enforce their own larger
    limits as they read; every other body must declare its Content-Length (411 otherwise).
    """

    def __init__(
        self, app: ASGIApp, *, limit: int, streaming: Sequence[tuple[str, re.Pattern[str]]]
    ) -> None:
        self.app = app
        self.limit = limit
        self.streaming = streaming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if any(method == m and pattern.search(path) for m, pattern in self.streaming):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        length = headers.get(b"content-length")
        if length is None and headers.get(b"transfer-encoding"):
            response = error_response(411, "INVALID_INPUT", "the request needs a Content-Length")
        elif length is not None and (not length.isdigit() or int(length) > self.limit):
            response = error_response(
                413, "SERDE_TOO_LARGE", f"request body over the limit of {self.limit} bytes"
            )
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
