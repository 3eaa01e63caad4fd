"""The node lock: one process per store, a file lock for SQLite, an advisory lock for PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from chaihuo.flow.store._errors import StoreLockedError, StoreOpenError

__all__ = ["NodeLock", "holder_text", "lock_postgres", "lock_sqlite_file"]

_PG_NAME_MAX = 63  # NAMEDATALEN - 1: application_name is cut there


class NodeLock(Protocol):
    """A held lock; `release` is idempotent."""

    def release(self) -> None:
        """Give the lock up."""


def holder_text(owner: str) -> str:
    """Who holds a lock, as other processes will read it: owner, pid and host."""
    return f"{owner} (pid {os.getpid()} on {socket.gethostname()})"


def _locked(store: str, holder: str) -> StoreLockedError:
    return StoreLockedError(
        f"store {store} is locked by {holder}: another node process is using it; stop that "
        "process or give this node another store",
        holder=holder,
        store=store,
    )


class _FileLock:
    """An exclusive flock on `<db>.lock`, whose text names the holder."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_sqlite_file(db_path: Path, owner: str) -> NodeLock:
    """Lock a SQLite store for this process, or raise StoreLockedError naming the holder.

    flock locks belong to the open file, so the kernel drops them when the holder dies: a
    crashed node never leaves a stale lock behind. The file itself stays (removing it would
    let two processes lock two different files of the same name)."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        os.close(fd)
        raise _locked(str(db_path), holder or "another process (not yet recorded)") from None
    except OSError as exc:
        os.close(fd)
        raise StoreOpenError(f"cannot lock {lock_path}: {exc}") from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, holder_text(owner).encode(), 0)
    return _FileLock(fd)


class _AdvisoryLock:
    """A session-level pg advisory lock held by its own connection."""

    def __init__(self, engine: Engine, connection: Connection, key: int) -> None:
        self._engine = engine
        self._connection: Connection | None = connection
        self._key = key

    def release(self) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        with contextlib.suppress(SQLAlchemyError):
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
        connection.close()
        self._engine.dispose()


def advisory_key(database: str) -> int:
    """The signed 64-bit advisory-lock key of one database: the first 8 bytes of a SHA-256."""
    digest = hashlib.sha256(f"chaihuo-store:{database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_postgres(url: URL, owner: str) -> NodeLock:
    """Lock a PostgreSQL store (its database) for this process, or raise StoreLockedError.

    The lock lives as long as one dedicated connection, whose application_name names the
    holder; the server drops it when that connection ends, so a dead node frees its store."""
    name = f"chaihuo-node {holder_text(owner)}"[:_PG_NAME_MAX]
    engine = create_engine(url, poolclass=NullPool, connect_args={"application_name": name})
    try:
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreOpenError(f"cannot connect to the store: {exc}") from exc
    try:
        database = str(connection.execute(text("SELECT current_database()")).scalar_one())
        key = advisory_key(database)
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if not got:
            holder = _pg_holder(connection, key)
            raise _locked(f"postgresql database {database!r}", holder)
    except BaseException:
        connection.close()
        engine.dispose()
        raise
    return _AdvisoryLock(engine, connection, key)


def _pg_holder(connection: Connection, key: int) -> str:
    """Who holds advisory lock `key` in this database, from pg_locks and pg_stat_activity."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    row = connection.execute(
        text(
            "SELECT a.application_name, a.pid, host(a.client_addr) FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
    ).first()
    if row is None:
        return "another session (it could not be identified)"
    app, pid, addr = row
    where = f"from {addr}" if addr else "over a local socket"
    return f"{app or 'an unnamed client'} [server backend pid {pid}, {where}]"
