"""The store's tables as SQLAlchemy ORM classes: the metadata every migration must match."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "METADATA",
    "JobRow",
    "MetricRowORM",
    "ModelRow",
    "PartyTaskRow",
    "TableRow",
    "TaskRow",
    "TokenRow",
    "UserRow",
]

# Explicit names, so that versions/0001_initial.py can spell every constraint out.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
KEY = 128  # ids, names, party ids, components, namespaces
SHORT = 32  # states, codes, formats


class Base(DeclarativeBase):
    """Declarative base carrying the store's naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {float: Double()}


METADATA = Base.metadata


def _job_fk() -> ForeignKey:
    return ForeignKey("jobs.job_id", ondelete="CASCADE")


class JobRow(Base):
    """One job this node takes part in."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("initiator_party", "client_request_id"),
        Index("ix_jobs_created_at", "created_at"),
        Index("ix_jobs_user_name", "user_name"),
    )

    job_id: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    name: Mapped[str] = mapped_column(String(KEY))
    initiator_party: Mapped[str] = mapped_column(String(KEY))
    roles: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(SHORT))
    reason: Mapped[str | None] = mapped_column(Text)
    plan_json: Mapped[str] = mapped_column(Text)
    job_yaml: Mapped[str] = mapped_column(Text)
    client_request_id: Mapped[str | None] = mapped_column(String(KEY))
    user_name: Mapped[str | None] = mapped_column(String(KEY))
    attempt: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float]
    started_at: Mapped[float | None]
    ended_at: Mapped[float | None]


class TaskRow(Base):
    """One component of one job on this party."""

    __tablename__ = "tasks"

    job_id: Mapped[str] = mapped_column(String(KEY), _job_fk(), primary_key=True)
    component: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    state: Mapped[str] = mapped_column(String(SHORT))
    attempt: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(KEY))
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[float | None]
    ended_at: Mapped[float | None]
    outputs_json: Mapped[str] = mapped_column(Text)


class PartyTaskRow(Base):
    """A task state reported by another party of a job this node initiated."""

    __tablename__ = "party_tasks"

    job_id: Mapped[str] = mapped_column(String(KEY), _job_fk(), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    component: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    state: Mapped[str] = mapped_column(String(SHORT))
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[float]


class MetricRowORM(Base):
    """One metric value of one component of one job."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_job_id_component", "job_id", "component"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(KEY), _job_fk())
    component: Mapped[str] = mapped_column(String(KEY))
    namespace: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(KEY))
    value: Mapped[float | None]
    step: Mapped[int | None] = mapped_column(Integer)
    time: Mapped[float]


class UserRow(Base):
    """A user of the REST API."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    admin: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[float]


class TokenRow(Base):
    """An API token, kept as the SHA-256 hex digest of the plain token only."""

    __tablename__ = "tokens"
    __table_args__ = (
        UniqueConstraint("digest"),
        Index("ix_tokens_user_name", "user_name"),
    )

    token_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    user_name: Mapped[str] = mapped_column(
        String(KEY), ForeignKey("users.name", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float]
    expires_at: Mapped[float | None]
    revoked_at: Mapped[float | None]


class TableRow(Base):
    """A registered data table."""

    __tablename__ = "data_tables"

    namespace: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    name: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(SHORT))
    id_column: Mapped[str | None] = mapped_column(String(KEY))
    label_column: Mapped[str | None] = mapped_column(String(KEY))
    schema_json: Mapped[str] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float]


class ModelRow(Base):
    """The part of a trained model this party holds for one role."""

    __tablename__ = "models"

    job_id: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    component: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    role: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KEY))
    version: Mapped[str] = mapped_column(String(SHORT))
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float]
