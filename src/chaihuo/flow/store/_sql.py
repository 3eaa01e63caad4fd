"""SQL helpers shared by the store's operations: the per-dialect upsert and key checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from chaihuo.core import InvalidInputError

__all__ = ["check_key", "upsert"]

_KEY_MAX = 128

Where = Callable[[Any], ColumnElement[bool]]
"""Builds the upsert's update condition from the statement's `excluded` row."""


def upsert(
    session: Session,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    where: Where | None = None,
) -> None:
    """INSERT, or UPDATE the row with the same `keys` (only where `where` holds), atomically."""
    updated = [name for name in values if name not in keys]
    if session.get_bind().dialect.name == "sqlite":
        lite = sqlite_insert(table).values(dict(values))
        session.execute(
            lite.on_conflict_do_update(
                index_elements=list(keys),
                set_={name: lite.excluded[name] for name in updated},
                where=None if where is None else where(lite.excluded),
            )
        )
        return
    pg = pg_insert(table).values(dict(values))
    session.execute(
        pg.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: pg.excluded[name] for name in updated},
            where=None if where is None else where(pg.excluded),
        )
    )


def check_key(value: str, what: str, *, limit: int = _KEY_MAX) -> str:
    """`value` if it is a non-empty string of at most `limit` characters."""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInputError(f"{what} must be a 1-{limit} character string", **{what: value})
    return value
