"""Store URLs to SQLAlchemy engines: SQLite pragmas and transaction mode, PostgreSQL, migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from chaihuo.flow.store._errors import StoreOpenError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "WRITE",
    "alembic_config",
    "create_store_engine",
    "is_sqlite",
    "migrate",
    "parse_store_url",
    "safe_url",
    "sqlite_path",
]

BUSY_TIMEOUT_MS: Final = 5000
WRITE: Final = "chaihuo_write"
"""Execution option: on SQLite, open the transaction with BEGIN IMMEDIATE."""

MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
_SQLITE_DRIVERS: Final = {"sqlite", "sqlite+pysqlite"}
_POSTGRES_DRIVERS: Final = {"postgresql", "postgresql+psycopg"}


def parse_store_url(url: str) -> URL:
    """The SQLAlchemy URL of a store: SQLite (file or memory) or PostgreSQL through psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreOpenError(f"cannot parse the store URL: {exc}") from exc
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed.set(drivername="sqlite+pysqlite")
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreOpenError(
        f"unsupported store URL scheme {parsed.drivername!r}: use sqlite:///PATH, sqlite:// "
        "(in memory) or postgresql+psycopg://USER@HOST/DB",
        url=safe_url(parsed),
    )


def safe_url(url: URL) -> str:
    """The URL with its password masked, for messages and logs."""
    return url.render_as_string(hide_password=True)


def is_sqlite(url: URL) -> bool:
    """Whether the store is SQLite (file or memory)."""
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite store; None in memory or for another backend."""
    if not is_sqlite(url) or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_store_engine(url: URL) -> Engine:
    """One engine for the store's lifetime (sessions per call share its pool)."""
    if not is_sqlite(url):
        try:
            return create_engine(url, pool_pre_ping=True)
        except (ImportError, SQLAlchemyError) as exc:
            raise StoreOpenError(
                f"cannot use {safe_url(url)}: {exc} (install chaihuo[postgres] for psycopg)"
            ) from exc
    path = sqlite_path(url)
    if path is None:
        # One shared connection, so every thread sees the same in-memory database; the
        # Store serialises transactions on it with a lock.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
    _install_sqlite_events(engine, wal=path is not None)
    return engine


def _install_sqlite_events(engine: Engine, *, wal: bool) -> None:
    """Pragmas on every new connection; chaihuo, not the driver, opens each transaction.

    The driver's own BEGIN is deferred: a transaction that reads, then writes, can fail at once
    with "database is locked" when another connection wrote meanwhile, whatever the busy
    timeout. Writers therefore start with BEGIN IMMEDIATE (they wait up to the busy timeout for
    the write lock), readers with a plain deferred BEGIN (under WAL they never wait)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config for the migrations shipped in this package (no alembic.ini needed).

    With `connection`, env.py migrates through it; without, env.py reads `sqlalchemy.url`
    (set it with `config.set_main_option`), e.g. to write a new revision while developing."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Apply every migration up to head, in one transaction; a no-op when already at head."""
    try:
        with engine.execution_options(**{WRITE: True}).begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    except SQLAlchemyError as exc:
        url = safe_url(engine.url)
        raise StoreOpenError(f"cannot migrate the store at {url}: {exc}", url=url) from exc
