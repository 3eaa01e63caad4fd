"""The node's store: jobs, tasks, metrics, users, tokens, tables and models in one database."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from chaihuo.flow.store import _accounts, _jobs, _registry
from chaihuo.flow.store._engine import (
    WRITE,
    create_store_engine,
    migrate,
    parse_store_url,
    safe_url,
    sqlite_path,
)
from chaihuo.flow.store._errors import ConflictError, StoreError
from chaihuo.flow.store._lock import NodeLock, lock_postgres, lock_sqlite_file
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

__all__ = ["DEFAULT_TOKEN_LIFETIME_S", "Store"]

DEFAULT_TOKEN_LIFETIME_S = 30 * 86400.0


class Store:
    """One node's persistent state behind a SQLAlchemy engine; safe to share between threads.

    `Store.open(url, owner=...)` is the way in: it takes the node lock (StoreLockedError names
    the process holding it) and migrates the schema to head. URLs: `sqlite:///PATH` (the
    embedded default: WAL, 5 s busy timeout, foreign keys on), `sqlite://` (in memory, one
    connection shared by every thread), `postgresql+psycopg://USER:PASSWORD@HOST/DB`.

    Every method runs in its own transaction and returns frozen records (never ORM rows);
    unknown keys raise NotFoundError, taken keys ConflictError, bad fields InvalidInputError,
    and database failures StoreError. Times are seconds since the epoch, from `clock`."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self._url = parse_store_url(url)
        self._engine = create_store_engine(self._url)
        self._writer = self._engine.execution_options(**{WRITE: True})
        self._memory = self._url.get_backend_name() == "sqlite" and sqlite_path(self._url) is None
        self._serial = threading.RLock()
        self._lock: NodeLock | None = None
        self._clock = clock
        self._closed = False

    @classmethod
    def open(cls, url: str, *, owner: str, clock: Callable[[], float] = time.time) -> Store:
        """Connect, take the node lock for `owner` and apply every migration up to head."""
        store = cls(url, clock=clock)
        try:
            path = sqlite_path(store._url)
            if path is not None:
                store._lock = lock_sqlite_file(path, owner)
            elif not store._memory:
                store._lock = lock_postgres(store._url, owner)
            migrate(store._engine)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Close every connection, then release the node lock; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._engine.dispose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The store's URL, password masked."""
        return safe_url(self._url)

    @property
    def engine(self) -> Engine:
        """The engine, for diagnostics and tests; callers go through the methods."""
        return self._engine

    @contextlib.contextmanager
    def _tx(self, *, write: bool) -> Iterator[Session]:
        """One transaction; SQLite writers take the write lock first (see _engine)."""
        if self._closed:
            raise StoreError(f"the store at {self.url} is closed")
        serial = self._serial if self._memory else contextlib.nullcontext()
        try:
            bind = self._writer if write else self._engine
            with serial, Session(bind) as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise ConflictError(f"the change conflicts with stored data: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc  # the driver's words, without the SQL
            raise StoreError(f"store failure at {self.url}: {cause}") from exc

    # -- jobs, tasks, party task states, metrics ----------------------------------------------

    def create_job(self, job: JobRecord) -> tuple[JobRecord, bool]:
        """Insert `job` and return (it, True); a repeated submit, the same initiator and
        `client_request_id`, returns (the job stored first, False). ConflictError if the job id
        is taken by another submit."""
        try:
            with self._tx(write=True) as session:
                return _jobs.create_job(session, job)
        except ConflictError:
            if job.client_request_id is None:
                raise
            # Two racing submits of one request: the loser reads the winner's job.
            with self._tx(write=False) as session:
                found = _jobs.find_by_request(session, job.initiator_party, job.client_request_id)
            if found is None:
                raise
            return found, False

    def get_job(self, job_id: str) -> JobRecord:
        """One job, or NotFoundError."""
        with self._tx(write=False) as session:
            return _jobs.get_job(session, job_id)

    def list_jobs(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        states: Sequence[str] | None = None,
        user: str | None = None,
    ) -> list[JobRecord]:
        """Jobs, newest first, optionally only those in `states` or submitted by `user`."""
        with self._tx(write=False) as session:
            return _jobs.list_jobs(session, limit, offset, states, user)

    def update_job(
        self,
        job_id: str,
        *,
        state: str | None = None,
        reason: str | None = None,
        attempt: int | None = None,
        started_at: float | None = None,
        ended_at: float | None = None,
        clear: Collection[str] = (),
    ) -> JobRecord:
        """Change a job: None leaves a field as it is; `clear` names fields to set back to None
        ("reason", "started_at", "ended_at", e.g. on a rerun). Returns the job as stored."""
        changes = {
            "state": state,
            "reason": reason,
            "attempt": attempt,
            "started_at": started_at,
            "ended_at": ended_at,
        }
        with self._tx(write=True) as session:
            return _jobs.update_job(session, job_id, changes, clear)

    def upsert_task(self, task: TaskRecord) -> TaskRecord:
        """Insert or overwrite this party's task (job, component); NotFoundError for no job."""
        with self._tx(write=True) as session:
            return _jobs.upsert_task(session, task)

    def list_tasks(self, job_id: str) -> list[TaskRecord]:
        """This party's tasks of one job, by component."""
        with self._tx(write=False) as session:
            return _jobs.list_tasks(session, job_id)

    def get_task(self, job_id: str, component: str) -> TaskRecord:
        """One task, or NotFoundError."""
        with self._tx(write=False) as session:
            return _jobs.get_task(session, job_id, component)

    def upsert_party_task(  # noqa: PLR0917 - the signature the scheduler calls
        self,
        job_id: str,
        party_id: str,
        component: str,
        state: str,
        reason: str | None,
        updated_at: float,
    ) -> None:
        """Record a task state another party reported; a report older than the stored one
        (smaller `updated_at`) is ignored, so reordered reports cannot move a state back."""
        record = PartyTaskRecord(
            job_id=job_id,
            party_id=party_id,
            component=component,
            state=state,
            reason=reason,
            updated_at=updated_at,
        )
        with self._tx(write=True) as session:
            _jobs.upsert_party_task(session, record)

    def list_party_tasks(self, job_id: str) -> list[PartyTaskRecord]:
        """Every party's reported task states of one job, by party then component."""
        with self._tx(write=False) as session:
            return _jobs.list_party_tasks(session, job_id)

    def add_metrics(self, job_id: str, component: str, records: Sequence[MetricRow]) -> None:
        """Append metric values of one component of one job."""
        with self._tx(write=True) as session:
            _jobs.add_metrics(session, job_id, component, records)

    def list_metrics(self, job_id: str, component: str | None = None) -> list[MetricRow]:
        """Metric values (each naming its component), in the order they were added."""
        with self._tx(write=False) as session:
            return _jobs.list_metrics(session, job_id, component)

    # -- users and tokens ----------------------------------------------------------------------

    def create_user(self, name: str, *, admin: bool = False) -> UserRecord:
        """A new user; ConflictError if the name is taken."""
        with self._tx(write=True) as session:
            return _accounts.create_user(session, name, admin, self._clock())

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        with self._tx(write=False) as session:
            return _accounts.list_users(session)

    def delete_user(self, name: str) -> None:
        """Remove a user and every token of theirs; NotFoundError if unknown."""
        with self._tx(write=True) as session:
            _accounts.delete_user(session, name)

    def create_token(
        self,
        user: str,
        *,
        expires_in_s: float | None = DEFAULT_TOKEN_LIFETIME_S,
        label: str = "",
    ) -> tuple[TokenRecord, str]:
        """A new token: its record and the plain token (`chh_...`), returned this once only;
        the store keeps its SHA-256 digest. `expires_in_s=None`: it never expires."""
        with self._tx(write=True) as session:
            return _accounts.create_token(session, user, expires_in_s, label, self._clock())

    def verify_token(self, plain: str) -> UserRecord:
        """The user of a live token; UnauthenticatedError: unknown, revoked or expired token."""
        with self._tx(write=False) as session:
            return _accounts.verify_token(session, plain, self._clock())

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token at once; NotFoundError if unknown."""
        with self._tx(write=True) as session:
            _accounts.revoke_token(session, token_id, self._clock())

    def list_tokens(self, user: str | None = None) -> list[TokenRecord]:
        """Token records, oldest first (never the plain tokens)."""
        with self._tx(write=False) as session:
            return _accounts.list_tokens(session, user)

    # -- data tables and models ------------------------------------------------------------------

    def register_table(self, table: TableRecord, *, replace: bool = False) -> TableRecord:
        """Register a data table; ConflictError if `namespace/name` exists, unless `replace`."""
        with self._tx(write=True) as session:
            return _registry.register_table(session, table, replace)

    def get_table(self, namespace: str, name: str) -> TableRecord:
        """One table, or NotFoundError."""
        with self._tx(write=False) as session:
            return _registry.get_table(session, namespace, name)

    def list_tables(self, namespace: str | None = None) -> list[TableRecord]:
        """Tables by namespace and name, optionally of one namespace."""
        with self._tx(write=False) as session:
            return _registry.list_tables(session, namespace)

    def delete_table(self, namespace: str, name: str) -> TableRecord:
        """Unregister a table and return its record (removing its file is the caller's job)."""
        with self._tx(write=True) as session:
            return _registry.delete_table(session, namespace, name)

    def register_model(self, model: ModelRecord, *, replace: bool = False) -> ModelRecord:
        """Register this party's part of a model for one role; ConflictError if (job_id,
        component, role) is registered, unless `replace`."""
        with self._tx(write=True) as session:
            return _registry.register_model(session, model, replace)

    def get_model(self, job_id: str, component: str, role: str) -> ModelRecord:
        """One part of model `job_id/component`: the one for `role`, or NotFoundError.
        `list_models(job_id=..., component=...)` gives every part of a model."""
        with self._tx(write=False) as session:
            return _registry.get_model(session, job_id, component, role)

    def list_models(
        self,
        *,
        job_id: str | None = None,
        component: str | None = None,
        role: str | None = None,
    ) -> list[ModelRecord]:
        """Model parts by job, component and role, optionally filtered on each."""
        with self._tx(write=False) as session:
            return _registry.list_models(session, job_id, component, role)

    def delete_model(
        self, job_id: str, component: str, role: str | None = None
    ) -> list[ModelRecord]:
        """Unregister one part (or, with role None, every part) of model `job_id/component`;
        returns what was removed; NotFoundError if nothing matched."""
        with self._tx(write=True) as session:
            return _registry.delete_model(session, job_id, component, role)
