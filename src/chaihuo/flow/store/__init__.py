"""The node's store: SQLAlchemy on SQLite (the default) or PostgreSQL, migrated by alembic."""

from chaihuo.flow.store._errors import (
    ConflictError,
    NotFoundError,
    StoreError,
    StoreLockedError,
    StoreOpenError,
    UnauthenticatedError,
)
from chaihuo.flow.store._records import (
    JobRecord,
    MetricRow,
    ModelRecord,
    PartyTaskRecord,
    TableRecord,
    TaskRecord,
    TokenRecord,
    UserRecord,
)
from chaihuo.flow.store._store import DEFAULT_TOKEN_LIFETIME_S, Store

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_S",
    "ConflictError",
    "JobRecord",
    "MetricRow",
    "ModelRecord",
    "NotFoundError",
    "PartyTaskRecord",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreOpenError",
    "TableRecord",
    "TaskRecord",
    "TokenRecord",
    "UnauthenticatedError",
    "UserRecord",
]
