"""Bearer-token authentication of REST calls against the store, and the admin check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chaihuo.core import ChaihuoError
from chaihuo.flow.api._errors import ApiForbiddenError, ApiUnauthenticatedError

__all__ = ["AccountStore", "Principal", "make_authenticator", "require_admin"]


class UserRecordLike(Protocol):
    """The store's user record, as the API reads it (times in seconds since the epoch)."""

    @property
    def name(self) -> str: ...
    @property
    def admin(self) -> bool: ...
    @property
    def created_at(self) -> float: ...


class TokenRecordLike(Protocol):
    """The store's token record (never the secret: the store keeps only its hash)."""

    @property
    def token_id(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def expires_at(self) -> float | None: ...
    @property
    def revoked_at(self) -> float | None: ...


class AccountStore(Protocol):
    """The part of `chaihuo.flow.store.Store` the API uses: users and tokens."""

    def verify_token(self, plain: str) -> UserRecordLike: ...
    def create_user(self, name: str, *, admin: bool = False) -> UserRecordLike: ...
    def list_users(self) -> Sequence[UserRecordLike]: ...
    def delete_user(self, name: str) -> object: ...
    def create_token(
        self, user: str, *, expires_in_s: float | None = ..., label: str = ""
    ) -> tuple[TokenRecordLike, str]: ...
    def revoke_token(self, token_id: str) -> object: ...
    def list_tokens(self, user: str | None = None) -> Sequence[TokenRecordLike]: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    name: str
    admin: bool


DEV_PRINCIPAL = Principal(name="dev", admin=True)
_BEARER = HTTPBearer(auto_error=False, description="A token from `chaihuo user token create`.")
_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


def _refusal(exc: ChaihuoError) -> str:
    """Why the store refused a token: its `reason` detail, else the word its message uses."""
    explicit = exc.details.get("reason")
    if explicit:
        return str(explicit)
    words = exc.message.lower()
    return next((r for r in ("expired", "revoked") if r in words), "unknown")


def make_authenticator(store: AccountStore, *, enabled: bool) -> Callable[..., Principal]:
    """A FastAPI dependency: the caller's Principal, or 401 with the reason.

    With `enabled=False` (the dev profile only) every caller is an admin named "dev".
    """

    def authenticate(credentials: _Credentials) -> Principal:
        if not enabled:
            return DEV_PRINCIPAL
        if credentials is None or not credentials.credentials:
            raise ApiUnauthenticatedError(
                "this call needs 'Authorization: Bearer <token>'", reason="missing"
            )
        try:
            user = store.verify_token(credentials.credentials)
        except ChaihuoError as exc:
            if exc.code not in ("UNAUTHENTICATED", "NOT_FOUND"):  # NOT_FOUND: user gone
                raise
            reason = _refusal(exc)
            raise ApiUnauthenticatedError(f"token refused: {reason}", reason=reason) from exc
        return Principal(name=user.name, admin=user.admin)

    return authenticate


def require_admin(principal: Principal) -> None:
    """403 unless the caller is an admin of this node."""
    if not principal.admin:
        raise ApiForbiddenError(f"user {principal.name!r} is not an admin of this node")
