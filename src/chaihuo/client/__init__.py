"""Typed Python client of a chaihuo node's REST API (httpx), used by the CLI and by tests."""

from chaihuo.client._client import ChaihuoClient, Progress
from chaihuo.client._errors import (
    ChaihuoApiError,
    ConflictError,
    ContentMismatchError,
    ForbiddenError,
    InvalidRequestError,
    NodeUnreachableError,
    NotFoundError,
    ServerError,
    UnauthenticatedError,
)

__all__ = [
    "ChaihuoApiError",
    "ChaihuoClient",
    "ConflictError",
    "ContentMismatchError",
    "ForbiddenError",
    "InvalidRequestError",
    "NodeUnreachableError",
    "NotFoundError",
    "Progress",
    "ServerError",
    "UnauthenticatedError",
]
