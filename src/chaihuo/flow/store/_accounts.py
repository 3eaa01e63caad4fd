"""Store operations on users and their API tokens (kept as SHA-256 digests only)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chaihuo.core import InvalidInputError
from chaihuo.flow.store._errors import ConflictError, NotFoundError, UnauthenticatedError
from chaihuo.flow.store._records import TokenRecord, UserRecord
from chaihuo.flow.store._schema import TokenRow, UserRow

__all__ = [
    "TOKEN_PREFIX",
    "create_token",
    "create_user",
    "delete_user",
    "list_tokens",
    "list_users",
    "revoke_token",
    "token_digest",
    "verify_token",
]

TOKEN_PREFIX = "chh_"  # noqa: S105 - a public prefix, not a secret
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_LABEL_MAX = 255


def token_digest(plain: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def _user(row: UserRow) -> UserRecord:
    return UserRecord(name=row.name, admin=row.admin, created_at=row.created_at)


def _token(row: TokenRow) -> TokenRecord:
    return TokenRecord(
        token_id=row.token_id,
        user=row.user_name,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _user_row(session: Session, name: str) -> UserRow:
    row = session.get(UserRow, name)
    if row is None:
        raise NotFoundError(f"no user {name!r}", user=name)
    return row


def create_user(session: Session, name: str, admin: bool, now: float) -> UserRecord:
    """A new user; ConflictError if the name is taken."""
    if not isinstance(name, str) or not _USER.match(name):
        raise InvalidInputError(
            "a user name is 1-64 ASCII letters, digits, '_', '.', '@' or '-', starting with a "
            "letter or digit",
            user=name,
        )
    if session.get(UserRow, name) is not None:
        raise ConflictError(f"user {name!r} already exists", user=name)
    row = UserRow(name=name, admin=admin, created_at=now)
    session.add(row)
    session.flush()
    return _user(row)


def list_users(session: Session) -> list[UserRecord]:
    """Every user, by name."""
    return [_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.name))]


def delete_user(session: Session, name: str) -> None:
    """Remove a user and (by cascade) every token of theirs."""
    row = _user_row(session, name)
    session.execute(delete(TokenRow).where(TokenRow.user_name == name))
    session.delete(row)


def create_token(
    session: Session, user: str, expires_in_s: float | None, label: str, now: float
) -> tuple[TokenRecord, str]:
    """A new token for `user`: its record and the plain token, which is never stored."""
    _user_row(session, user)
    if expires_in_s is not None and not expires_in_s > 0:
        raise InvalidInputError("a token's lifetime must be > 0 seconds (or None)")
    if len(label) > _LABEL_MAX:
        raise InvalidInputError(f"a token label is at most {_LABEL_MAX} characters")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(
        token_id=secrets.token_hex(8),
        user_name=user,
        label=label,
        digest=token_digest(plain),
        created_at=now,
        expires_at=None if expires_in_s is None else now + expires_in_s,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return _token(row), plain


def verify_token(session: Session, plain: str, now: float) -> UserRecord:
    """The user a live token belongs to; UnauthenticatedError says unknown, revoked or expired.

    The lookup is by digest, so the database never sees the plain token and its index timing
    depends only on a SHA-256 output; the final check compares digests in constant time."""
    digest = token_digest(plain) if isinstance(plain, str) else ""
    row = None
    if digest and plain.startswith(TOKEN_PREFIX):
        row = session.scalars(select(TokenRow).where(TokenRow.digest == digest)).first()
    if row is None or not hmac.compare_digest(row.digest, digest):
        raise UnauthenticatedError("unknown token", public=True)
    if row.revoked_at is not None:
        raise UnauthenticatedError("token revoked", public=True, token_id=row.token_id)
    if row.expires_at is not None and now >= row.expires_at:
        raise UnauthenticatedError("token expired", public=True, token_id=row.token_id)
    return _user(_user_row(session, row.user_name))


def revoke_token(session: Session, token_id: str, now: float) -> None:
    """Revoke a token (revoking it again keeps the first time); NotFoundError if unknown."""
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFoundError(f"no token {token_id!r}", token_id=token_id)
    if row.revoked_at is None:
        row.revoked_at = now


def list_tokens(session: Session, user: str | None) -> list[TokenRecord]:
    """Token records (never the plain value), oldest first, optionally of one user."""
    query = select(TokenRow)
    if user is not None:
        query = query.where(TokenRow.user_name == user)
    query = query.order_by(TokenRow.created_at, TokenRow.token_id)
    return [_token(row) for row in session.scalars(query)]
