"""Initial schema: jobs, tasks, party task states, metrics, users, tokens, tables, models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KEY = 128
SHORT = 32


def _key(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(KEY), nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=nullable)


def _job_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["job_id"], ["jobs.job_id"], name=f"fk_{table}_job_id_jobs", ondelete="CASCADE"
    )


def _jobs_tables() -> None:
    op.create_table(
        "jobs",
        _key("job_id"),
        _key("name"),
        _key("initiator_party"),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(SHORT), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("job_yaml", sa.Text(), nullable=False),
        _key("client_request_id", nullable=True),
        _key("user_name", nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("started_at", nullable=True),
        _time("ended_at", nullable=True),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
        sa.UniqueConstraint(
            "initiator_party",
            "client_request_id",
            name="uq_jobs_initiator_party_client_request_id",
        ),
    )
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_index("ix_jobs_user_name", "jobs", ["user_name"])
    op.create_table(
        "tasks",
        _key("job_id"),
        _key("component"),
        sa.Column("state", sa.String(SHORT), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _key("code", nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        _time("started_at", nullable=True),
        _time("ended_at", nullable=True),
        sa.Column("outputs_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "component", name="pk_tasks"),
        _job_fk("tasks"),
    )
    op.create_table(
        "party_tasks",
        _key("job_id"),
        _key("party_id"),
        _key("component"),
        sa.Column("state", sa.String(SHORT), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("job_id", "party_id", "component", name="pk_party_tasks"),
        _job_fk("party_tasks"),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _key("job_id"),
        _key("component"),
        sa.Column("namespace", sa.String(255), nullable=False),
        _key("name"),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        _time("time"),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        _job_fk("metrics"),
    )
    op.create_index("ix_metrics_job_id_component", "metrics", ["job_id", "component"])


def _account_tables() -> None:
    op.create_table(
        "users",
        _key("name"),
        sa.Column("admin", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("name", name="pk_users"),
    )
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.String(SHORT), nullable=False),
        _key("user_name"),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        _time("created_at"),
        _time("expires_at", nullable=True),
        _time("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_tokens"),
        sa.ForeignKeyConstraint(
            ["user_name"], ["users.name"], name="fk_tokens_user_name_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("digest", name="uq_tokens_digest"),
    )
    op.create_index("ix_tokens_user_name", "tokens", ["user_name"])


def _registry_tables() -> None:
    op.create_table(
        "data_tables",
        _key("namespace"),
        _key("name"),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(SHORT), nullable=False),
        _key("id_column", nullable=True),
        _key("label_column", nullable=True),
        sa.Column("schema_json", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("namespace", "name", name="pk_data_tables"),
    )
    op.create_table(
        "models",
        _key("job_id"),
        _key("component"),
        sa.Column("role", sa.String(SHORT), nullable=False),
        _key("kind"),
        sa.Column("version", sa.String(SHORT), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("job_id", "component", "role", name="pk_models"),
    )


def upgrade() -> None:
    _jobs_tables()
    _account_tables()
    _registry_tables()


def downgrade() -> None:
    for table in ("models", "data_tables", "tokens", "users", "metrics", "party_tasks", "tasks"):
        op.drop_table(table)
    op.drop_table("jobs")
