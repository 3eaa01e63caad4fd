"""REST routes of users and tokens: admin only, except the caller's own identity."""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at
# definition time, and they name the closure's `Auth` dependency.

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from chaihuo.flow.api._auth import AccountStore, Principal, require_admin
from chaihuo.flow.api._errors import ApiNotFoundError
from chaihuo.flow.api._schemas import (
    NAME_PATTERN,
    USER_PATTERN,
    Identity,
    TokenCreate,
    TokenCreated,
    TokenView,
    UserCreate,
    UserView,
)

__all__ = ["admin_router"]

UserName = Annotated[str, PathParam(pattern=USER_PATTERN)]
TokenId = Annotated[str, PathParam(pattern=NAME_PATTERN)]


def _token_view(store: AccountStore, token_id: str) -> TokenView:
    for token in store.list_tokens():
        if token.token_id == token_id:
            return TokenView.model_validate(token)
    # The store raised NOT_FOUND already for an unknown id; a vanished one is the same answer.
    raise ApiNotFoundError(f"no token {token_id!r}")


def admin_router(store: AccountStore, authenticate: Callable[..., Principal]) -> APIRouter:
    """The routes under /users, /tokens and /me."""
    router = APIRouter(tags=["users"])
    Auth = Annotated[Principal, Depends(authenticate)]

    def admin(principal: Auth) -> Principal:
        require_admin(principal)
        return principal

    Admin = Annotated[Principal, Depends(admin)]

    @router.get("/me")
    def who_am_i(principal: Auth) -> Identity:
        """The user the token belongs to."""
        return Identity(name=principal.name, admin=principal.admin)

    @router.post("/users", status_code=201)
    def create_user(body: UserCreate, principal: Admin) -> UserView:
        """Add a user to this node."""
        return UserView.model_validate(store.create_user(body.name, admin=body.admin))

    @router.get("/users")
    def list_users(principal: Admin) -> list[UserView]:
        """Every user of this node."""
        return [UserView.model_validate(user) for user in store.list_users()]

    @router.delete("/users/{name}", status_code=204)
    def delete_user(name: UserName, principal: Admin) -> None:
        """Remove a user and its tokens."""
        store.delete_user(name)

    @router.post("/users/{name}/tokens", status_code=201)
    def create_token(name: UserName, body: TokenCreate, principal: Admin) -> TokenCreated:
        """A new token for `name`; the secret is in this answer only (the store keeps a hash)."""
        record, secret = store.create_token(name, expires_in_s=body.expires_in_s, label=body.label)
        return TokenCreated(token=TokenView.model_validate(record), secret=secret)

    @router.get("/tokens")
    def list_tokens(
        principal: Admin, user: Annotated[str | None, Query(pattern=USER_PATTERN)] = None
    ) -> list[TokenView]:
        """Every token's record (never a secret), or those of one user."""
        return [TokenView.model_validate(token) for token in store.list_tokens(user)]

    @router.delete("/tokens/{token_id}")
    def revoke_token(token_id: TokenId, principal: Admin) -> TokenView:
        """Revoke a token now; calls with it are refused from then on."""
        store.revoke_token(token_id)
        return _token_view(store, token_id)

    return router
