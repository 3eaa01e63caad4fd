"""Store conformance: one suite over SQLite in memory, SQLite on disk and PostgreSQL."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, select, table, text
from sqlalchemy.pool import NullPool

from chaihuo.core import CATALOG, InvalidInputError
from chaihuo.flow.store import (
    ConflictError,
    JobRecord,
    MetricRow,
    ModelRecord,
    NotFoundError,
    Store,
    StoreError,
    StoreLockedError,
    StoreOpenError,
    TableRecord,
    TaskRecord,
    UnauthenticatedError,
)
from chaihuo.flow.store._schema import METADATA

PG_URL = os.environ.get("PG_TEST_URL")
BACKENDS = [
    pytest.param("sqlite-memory"),
    pytest.param("sqlite-file"),
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not PG_URL, reason="PG_TEST_URL is not set (make test-postgres)"),
        ],
    ),
]


class Clock:
    """A settable clock for token expiry."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """A fresh, empty database on one backend; `open` opens a store on it."""

    name: str
    url: str
    path: Path | None
    clock: Clock

    @property
    def persistent(self) -> bool:
        return self.name != "sqlite-memory"

    def open(self, owner: str = "9999") -> Store:
        return Store.open(self.url, owner=owner, clock=self.clock)


def _postgres_database() -> Iterator[str]:
    assert PG_URL is not None
    name = f"chaihuo_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite-memory":
        yield Backend("sqlite-memory", "sqlite://", None, Clock())
    elif request.param == "sqlite-file":
        path = tmp_path / "node" / "node.db"
        yield Backend("sqlite-file", f"sqlite:///{path}", path, Clock())
    else:
        yield from (Backend("postgres", url, None, Clock()) for url in _postgres_database())


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open()
    yield opened
    opened.close()


def job(job_id: str = "j1", **fields: object) -> JobRecord:
    values: dict[str, object] = {
        "name": "demo",
        "initiator_party": "9999",
        "roles": ("guest",),
        "plan_json": '{"dag": ["reader", "lr"]}',
        "job_yaml": "dag: []\n",
        "created_at": 100.0,
    }
    values.update(fields)
    return JobRecord(job_id=job_id, **values)  # type: ignore[arg-type]


def schema_diffs(store: Store) -> list[object]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, METADATA))


def versions(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


# -- schema and opening ----------------------------------------------------------------------


def test_migrated_schema_matches_the_orm_metadata(store: Store) -> None:
    assert schema_diffs(store) == []
    assert versions(store) == ["0001"]


def test_sqlite_file_uses_wal_busy_timeout_and_foreign_keys(backend: Backend) -> None:
    if backend.name != "sqlite-file":
        pytest.skip("SQLite file pragmas")
    with backend.open() as opened, opened.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_bad_urls_are_refused_with_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError, match="unsupported store URL scheme") as info:
        Store.open("mysql://x@y/z", owner="9999")
    assert info.value.spec.exit_code == 78
    with pytest.raises(StoreOpenError, match="cannot parse"):
        Store.open("not a url", owner="9999")


def test_a_closed_store_refuses_calls(backend: Backend) -> None:
    opened = backend.open()
    opened.close()
    opened.close()
    with pytest.raises(StoreError, match="closed"):
        opened.list_jobs()


def test_error_codes_map_to_the_catalog() -> None:
    assert CATALOG[NotFoundError.code].http_status == 404
    assert CATALOG[ConflictError.code].grpc_status == "ALREADY_EXISTS"
    assert CATALOG[UnauthenticatedError.code].http_status == 401
    assert CATALOG[StoreLockedError.code].exit_code == 78


# -- jobs --------------------------------------------------------------------------------------


def test_jobs_round_trip_list_and_update(store: Store) -> None:
    first, created = store.create_job(job("j1", user="alice", created_at=1.0))
    assert created
    assert first == job("j1", user="alice", created_at=1.0)
    assert store.get_job("j1") == first
    store.create_job(job("j2", user="bob", created_at=2.0))
    store.create_job(job("j3", user="alice", created_at=3.0, state="running"))
    assert [j.job_id for j in store.list_jobs()] == ["j3", "j2", "j1"]
    assert [j.job_id for j in store.list_jobs(limit=1, offset=1)] == ["j2"]
    assert [j.job_id for j in store.list_jobs(states=["running"])] == ["j3"]
    assert [j.job_id for j in store.list_jobs(user="alice")] == ["j3", "j1"]
    assert store.list_jobs(states=[]) == []
    updated = store.update_job("j1", state="failed", reason="boom", attempt=2, ended_at=9.0)
    assert (updated.state, updated.reason, updated.attempt, updated.ended_at) == (
        "failed",
        "boom",
        2,
        9.0,
    )
    assert store.get_job("j1") == updated
    cleared = store.update_job("j1", state="running", started_at=10.0, clear=["reason", "ended_at"])
    assert (cleared.reason, cleared.ended_at, cleared.started_at) == (None, None, 10.0)
    with pytest.raises(InvalidInputError):
        store.update_job("j1", clear=["job_id"])
    with pytest.raises(NotFoundError, match="nope"):
        store.get_job("nope")
    with pytest.raises(NotFoundError):
        store.update_job("nope", state="running")
    with pytest.raises(InvalidInputError):
        store.list_jobs(limit=-1)


def test_job_submit_is_idempotent_on_initiator_and_request_id(store: Store) -> None:
    first, created = store.create_job(job("j1", client_request_id="req-1"))
    again, created_again = store.create_job(job("j2", client_request_id="req-1"))
    assert created and not created_again
    assert again == first
    other, created_other = store.create_job(
        job("j3", client_request_id="req-1", initiator_party="10000")
    )
    assert created_other and other.job_id == "j3"
    with pytest.raises(ConflictError, match="j1"):
        store.create_job(job("j1"))
    with pytest.raises(InvalidInputError, match="plan_json"):
        store.create_job(job("j9", plan_json="{not json"))
    assert len(store.list_jobs()) == 2


def test_racing_duplicate_submits_create_one_job(store: Store) -> None:
    results = run_threads(8, lambda i: store.create_job(job(f"race-{i}", client_request_id="same")))
    assert sum(created for _, created in results) == 1
    assert len({record.job_id for record, _ in results}) == 1


# -- tasks, party task states, metrics ---------------------------------------------------------


def test_tasks_upsert_list_and_get(store: Store) -> None:
    store.create_job(job())
    task = TaskRecord(job_id="j1", component="reader", state="running", pid=42, started_at=5.0)
    assert store.upsert_task(task) == task
    store.upsert_task(TaskRecord(job_id="j1", component="lr"))
    done = TaskRecord(
        job_id="j1",
        component="reader",
        state="failed",
        attempt=2,
        reason="bad row",
        code="DATA_INVALID",
        pid=43,
        started_at=5.0,
        ended_at=6.0,
        outputs_json='{"data": "out/reader/data"}',
    )
    store.upsert_task(done)
    assert store.get_task("j1", "reader") == done
    assert [t.component for t in store.list_tasks("j1")] == ["lr", "reader"]
    with pytest.raises(NotFoundError):
        store.get_task("j1", "missing")
    with pytest.raises(NotFoundError):
        store.upsert_task(TaskRecord(job_id="nope", component="x"))
    with pytest.raises(InvalidInputError):
        store.upsert_task(TaskRecord(job_id="j1", component="x", outputs_json="["))


def test_party_task_states_keep_the_newest_report(store: Store) -> None:
    store.create_job(job())
    store.upsert_party_task("j1", "10000", "lr", "running", None, 10.0)
    store.upsert_party_task("j1", "10000", "lr", "failed", "DATA_INVALID: input", 12.0)
    store.upsert_party_task("j1", "10000", "lr", "running", None, 11.0)  # late, ignored
    store.upsert_party_task("j1", "9999", "reader", "success", None, 3.0)
    states = store.list_party_tasks("j1")
    assert [(p.party_id, p.component, p.state) for p in states] == [
        ("10000", "lr", "failed"),
        ("9999", "reader", "success"),
    ]
    assert states[0].reason == "DATA_INVALID: input" and states[0].updated_at == 12.0
    with pytest.raises(NotFoundError):
        store.upsert_party_task("nope", "1", "c", "running", None, 1.0)


def test_metrics_append_and_filter(store: Store) -> None:
    store.create_job(job())
    loss = [
        MetricRow(namespace="train", name="loss", value=1.0 / (k + 1), step=k, time=k)
        for k in range(3)
    ]
    store.add_metrics("j1", "lr", loss)
    store.add_metrics("j1", "eval", [MetricRow(namespace="eval", name="auc", value=0.9, time=9.0)])
    store.add_metrics(
        "j1", "lr", [MetricRow(namespace="train", name="x", value=math.nan, time=1.0)]
    )
    store.add_metrics(
        "j1", "lr", [MetricRow(namespace="train", name="y", value=math.inf, time=1.0)]
    )
    store.add_metrics("j1", "lr", [])
    lr = store.list_metrics("j1", "lr")
    assert [m.name for m in lr] == ["loss", "loss", "loss", "x", "y"]
    assert all(m.component == "lr" for m in lr)
    assert [m.value for m in lr[:3]] == [1.0, 0.5, 1.0 / 3] and lr[0].step == 0
    assert math.isnan(lr[3].value) and lr[4].value == math.inf
    assert lr[3].same_as(
        MetricRow(namespace="train", name="x", value=math.nan, time=1.0, component="lr")
    )
    assert [m.component for m in store.list_metrics("j1")] == ["lr"] * 3 + ["eval", "lr", "lr"]
    with pytest.raises(InvalidInputError):
        store.add_metrics("j1", "lr", [MetricRow(namespace="a", name="b", value=1, component="x")])
    with pytest.raises(NotFoundError):
        store.add_metrics("nope", "lr", loss)


def run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(0..count-1) at once on threads; re-raise the first failure."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_ten_threads_write_at_once_without_lock_errors(store: Store) -> None:
    store.create_job(job())
    rounds = 15

    def work(i: int) -> None:
        for k in range(rounds):
            store.upsert_task(
                TaskRecord(job_id="j1", component=f"c{i}", state="running", attempt=k + 1)
            )
            store.add_metrics(
                "j1", f"c{i}", [MetricRow(namespace="t", name="loss", value=k, step=k, time=k)]
            )
            store.upsert_party_task("j1", f"p{i}", "c", "running", None, float(k))
            store.update_job("j1", attempt=k + 1)
            assert len(store.list_tasks("j1")) >= 1

    run_threads(10, work)
    tasks = store.list_tasks("j1")
    assert len(tasks) == 10 and {t.attempt for t in tasks} == {rounds}
    assert len(store.list_metrics("j1")) == 10 * rounds
    assert {p.updated_at for p in store.list_party_tasks("j1")} == {float(rounds - 1)}


# -- users and tokens --------------------------------------------------------------------------


def test_users_create_list_delete(store: Store, backend: Backend) -> None:
    alice = store.create_user("alice", admin=True)
    assert (alice.name, alice.admin, alice.created_at) == ("alice", True, backend.clock.now)
    store.create_user("bob")
    assert [u.name for u in store.list_users()] == ["alice", "bob"]
    with pytest.raises(ConflictError):
        store.create_user("alice")
    with pytest.raises(InvalidInputError):
        store.create_user("bad name")
    store.delete_user("bob")
    assert [u.name for u in store.list_users()] == ["alice"]
    with pytest.raises(NotFoundError):
        store.delete_user("bob")


def test_tokens_verify_expire_and_revoke(store: Store, backend: Backend) -> None:
    clock = backend.clock
    store.create_user("alice")
    record, plain = store.create_token("alice", expires_in_s=60, label="laptop")
    assert plain.startswith("chh_") and len(plain) > 40
    assert (record.user, record.label, record.created_at) == ("alice", "laptop", clock.now)
    assert record.expires_at == clock.now + 60 and record.revoked_at is None
    assert store.verify_token(plain).name == "alice"
    assert store.list_tokens() == [record] == store.list_tokens("alice")
    assert store.list_tokens("bob") == []
    clock.now += 60
    with pytest.raises(UnauthenticatedError, match="expired"):
        store.verify_token(plain)
    forever, plain2 = store.create_token("alice", expires_in_s=None)
    clock.now += 10**9
    assert store.verify_token(plain2).name == "alice" and forever.expires_at is None
    store.revoke_token(forever.token_id)
    store.revoke_token(forever.token_id)
    with pytest.raises(UnauthenticatedError, match="revoked") as info:
        store.verify_token(plain2)
    assert info.value.spec.http_status == 401
    for wrong in ("chh_" + "A" * 43, "", plain2[4:], plain2 + "x"):
        with pytest.raises(UnauthenticatedError, match="unknown"):
            store.verify_token(wrong)
    with pytest.raises(NotFoundError):
        store.revoke_token("nope")
    with pytest.raises(NotFoundError):
        store.create_token("nobody")
    with pytest.raises(InvalidInputError):
        store.create_token("alice", expires_in_s=0)
    _, plain3 = store.create_token("alice")
    store.delete_user("alice")
    assert store.list_tokens() == []
    with pytest.raises(UnauthenticatedError, match="unknown"):
        store.verify_token(plain3)


def test_plain_tokens_never_reach_the_database(store: Store, backend: Backend) -> None:
    store.create_user("alice")
    plains = [store.create_token("alice", label=f"t{k}")[1] for k in range(3)]
    store.revoke_token(store.list_tokens()[0].token_id)
    secrets = [p.removeprefix("chh_") for p in plains]
    with store.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        dump = repr(
            [list(conn.execute(select(text("*")).select_from(table(name)))) for name in names]
        )
    assert "tokens" in names
    assert not any(secret in dump for secret in secrets)
    if backend.path is not None:
        raw = b"".join(p.read_bytes() for p in backend.path.parent.glob("node.db*"))
        assert not any(secret.encode() in raw for secret in secrets)


# -- tables and models -------------------------------------------------------------------------


def a_table(namespace: str = "bank", name: str = "loans", **fields: object) -> TableRecord:
    values: dict[str, object] = {
        "path": f"/data/{namespace}/{name}.csv",
        "id_column": "id",
        "label_column": "y",
        "schema_json": '{"columns": [["id", "str"], ["x0", "float"]]}',
        "rows": 569,
        "sha256": "ab" * 32,
        "created_at": 7.0,
    }
    values.update(fields)
    return TableRecord(namespace=namespace, name=name, **values)  # type: ignore[arg-type]


def test_tables_register_replace_list_delete(store: Store) -> None:
    loans = a_table()
    assert store.register_table(loans) == loans
    store.register_table(a_table("bank", "cards", label_column=None, rows=None))
    store.register_table(a_table("aaa", "z"))
    with pytest.raises(ConflictError, match="bank/loans"):
        store.register_table(a_table(rows=1))
    replaced = store.register_table(a_table(rows=1, path="/new.csv"), replace=True)
    assert store.get_table("bank", "loans") == replaced and replaced.rows == 1
    assert [(t.namespace, t.name) for t in store.list_tables()] == [
        ("aaa", "z"),
        ("bank", "cards"),
        ("bank", "loans"),
    ]
    assert [t.name for t in store.list_tables("bank")] == ["cards", "loans"]
    assert store.delete_table("bank", "loans") == replaced
    with pytest.raises(NotFoundError):
        store.get_table("bank", "loans")
    with pytest.raises(NotFoundError):
        store.delete_table("bank", "loans")
    with pytest.raises(InvalidInputError):
        store.register_table(a_table(schema_json="nope"))


def a_model(role: str = "guest", component: str = "lr", **fields: object) -> ModelRecord:
    values: dict[str, object] = {
        "kind": "HeteroLR",
        "version": "1",
        "sha256": "cd" * 32,
        "path": f"/models/j1/{component}/{role}",
        "created_at": 8.0,
    }
    values.update(fields)
    return ModelRecord(job_id="j1", component=component, role=role, **values)  # type: ignore[arg-type]


def test_models_register_get_list_delete(store: Store) -> None:
    guest = store.register_model(a_model("guest"))
    assert guest == a_model("guest") and guest.model_id == "j1/lr"
    store.register_model(a_model("host"))
    store.register_model(a_model("guest", component="binning"))
    with pytest.raises(ConflictError):
        store.register_model(a_model("guest"))
    newer = store.register_model(a_model("guest", version="2"), replace=True)
    assert store.get_model("j1", "lr", "guest") == newer
    assert [(m.component, m.role) for m in store.list_models()] == [
        ("binning", "guest"),
        ("lr", "guest"),
        ("lr", "host"),
    ]
    assert [m.role for m in store.list_models(job_id="j1", component="lr")] == ["guest", "host"]
    assert [m.component for m in store.list_models(role="guest")] == ["binning", "lr"]
    assert store.delete_model("j1", "lr", "host") == [a_model("host")]
    assert store.delete_model("j1", "binning") == [a_model("guest", component="binning")]
    with pytest.raises(NotFoundError):
        store.get_model("j1", "lr", "host")
    with pytest.raises(NotFoundError):
        store.delete_model("j1", "binning")
    assert store.list_models() == [newer]


# -- lock, restart, migrations -----------------------------------------------------------------

_SECOND_OPEN = """
import sys
from chaihuo.flow.store import Store, StoreLockedError
try:
    Store.open(sys.argv[1], owner="second").close()
except StoreLockedError as exc:
    print(exc.details["holder"])
    sys.exit(3)
print("opened")
"""


def test_a_second_process_is_refused_naming_the_holder(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("an in-memory store belongs to one process and needs no lock")
    first = backend.open(owner="first-node")
    refused = subprocess.run(
        [sys.executable, "-c", _SECOND_OPEN, backend.url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "first-node" in refused.stdout and f"pid {os.getpid()}" in refused.stdout
    with pytest.raises(StoreLockedError, match="first-node") as info:
        backend.open(owner="again")
    assert info.value.spec.exit_code == 78
    first.close()
    opened = subprocess.run(
        [sys.executable, "-c", _SECOND_OPEN, backend.url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert opened.returncode == 0 and "opened" in opened.stdout, opened.stderr


def test_rows_survive_a_restart_and_migrations_rerun_cleanly(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("an in-memory store does not outlive its process")
    with backend.open() as first:
        first.create_job(job(client_request_id="r"))
        first.upsert_task(TaskRecord(job_id="j1", component="lr", state="success"))
        first.create_user("alice")
        _, plain = first.create_token("alice")
        first.register_table(a_table())
        first.register_model(a_model())
    for _ in range(2):
        with backend.open() as again:
            assert again.get_job("j1") == job(client_request_id="r")
            assert again.get_task("j1", "lr").state == "success"
            assert again.verify_token(plain).name == "alice"
            assert again.get_table("bank", "loans") == a_table()
            assert again.list_models() == [a_model()]
            assert again.create_job(job("j2", client_request_id="r"))[1] is False
            assert versions(again) == ["0001"]
            assert schema_diffs(again) == []
