"""The store's errors: one class per catalog code, raised by every Store method."""

from __future__ import annotations

from chaihuo.core import ChaihuoError

__all__ = [
    "ConflictError",
    "NotFoundError",
    "StoreError",
    "StoreLockedError",
    "StoreOpenError",
    "UnauthenticatedError",
]


class StoreError(ChaihuoError):
    """Root of the store's errors; as itself, a database failure while serving (INTERNAL)."""

    code = "INTERNAL"


class StoreOpenError(StoreError):
    """The store cannot be opened: a bad URL, an unreachable database, a failed migration."""

    code = "CONFIG"


class StoreLockedError(StoreOpenError):
    """Another node process holds this store's lock; `details["holder"]` names it."""

    code = "CONFIG"


class NotFoundError(StoreError, LookupError):
    """No job, task, user, token, table or model under the given key."""

    code = "NOT_FOUND"


class ConflictError(StoreError):
    """A record whose key already exists (a user, a job id, a table, a model part)."""

    code = "CONFLICT"


class UnauthenticatedError(StoreError):
    """A token that is unknown, expired or revoked; the message says which."""

    code = "UNAUTHENTICATED"
