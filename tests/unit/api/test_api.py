"""The node's REST API over real HTTP: tokens, policy, jobs, streamed data, models, errors."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _api_harness import JOB_YAML, Node, running_node, serve
from _twin import TwinNode
from sqlalchemy import inspect, text

from chaihuo.client import (
    ChaihuoClient,
    ConflictError,
    ContentMismatchError,
    ForbiddenError,
    InvalidRequestError,
    NodeUnreachableError,
    NotFoundError,
    ServerError,
    UnauthenticatedError,
)
from chaihuo.flow.api import ApiLimits, create_app
from chaihuo.flow.store import Store, StoreError


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with running_node(tmp_path_factory.mktemp("node")) as served:
        yield served


def _raw(node: Node, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=node.url, headers=headers, timeout=30)


# -- authentication ------------------------------------------------------------------------


def test_health_needs_no_token(node: Node) -> None:
    response = httpx.get(f"{node.url}/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("header", "reason"),
    [(None, "missing"), ("Bearer chh_garbage", "unknown"), ("Bearer nonsense", "unknown")],
)
def test_401_without_a_valid_token(node: Node, header: str | None, reason: str) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("/status", "/jobs", "/data", "/models", "/users", "/me"):
        response = httpx.get(f"{node.url}{path}", headers=headers)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = response.json()
        assert body["code"] == "UNAUTHENTICATED" and body["reason"] == reason


def test_expired_token_is_refused_with_its_reason(node: Node) -> None:
    _, plain = node.store.create_token("alice", expires_in_s=60)
    assert node.client(plain).me().name == "alice"
    node.clock.offset += 61
    try:
        with pytest.raises(UnauthenticatedError) as caught:
            node.client(plain).me()
    finally:
        node.clock.offset -= 61
    assert caught.value.reason == "expired" and caught.value.status_code == 401


def test_revoked_token_is_refused_and_the_secret_is_stored_hashed(node: Node) -> None:
    admin = node.client()
    created = admin.create_token("alice", label="ci", expires_in_s=3600)
    assert created.secret and node.client(created.secret).me().name == "alice"
    listed = _raw(node, node.admin_token).get("/tokens", params={"user": "alice"}).text
    assert created.token.token_id in listed and created.secret not in listed
    dump = _database_text(node.store)
    assert created.secret not in dump
    assert hashlib.sha256(created.secret.encode()).hexdigest() in dump
    revoked = admin.revoke_token(created.token.token_id)
    assert revoked.revoked_at is not None
    with pytest.raises(UnauthenticatedError) as caught:
        node.client(created.secret).me()
    assert caught.value.reason == "revoked"
    assert "revoked" in caught.value.message


def _database_text(store: Store) -> str:
    """Every row of every table of the store, as text."""
    names = inspect(store.engine).get_table_names()
    with store.engine.connect() as conn:
        rows = [conn.execute(text(f'SELECT * FROM "{name}"')).all() for name in names]
    return repr(rows)


ADMIN_ROUTES = [
    ("POST", "/users", {"name": "mallory"}),
    ("GET", "/users", None),
    ("DELETE", "/users/root", None),
    ("POST", "/users/alice/tokens", {"label": "x"}),
    ("GET", "/tokens", None),
    ("DELETE", "/tokens/abc", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_403_for_a_user_on_admin_routes(
    node: Node, method: str, path: str, body: dict[str, str] | None
) -> None:
    with _raw(node, node.user_token) as http:
        response = http.request(method, path, json=body)
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


def test_admin_manages_users_and_tokens(node: Node) -> None:
    admin = node.client()
    assert node.client(admin=False).me().admin is False
    user = admin.create_user("bob")
    assert user.name == "bob" and not user.admin
    assert {"root", "alice", "bob"} <= {u.name for u in admin.list_users()}
    with pytest.raises(ConflictError) as conflict:
        admin.create_user("bob")
    assert conflict.value.server_code == "CONFLICT"
    secret = admin.create_token("bob").secret
    assert node.client(secret).me().name == "bob"
    admin.delete_user("bob")
    with pytest.raises(UnauthenticatedError):
        node.client(secret).me()
    with pytest.raises(NotFoundError):
        admin.delete_user("bob")
    with pytest.raises(InvalidRequestError):
        admin.create_user("no spaces allowed")


# -- jobs ----------------------------------------------------------------------------------


def test_submit_is_idempotent_by_request_id(node: Node) -> None:
    client = node.client(admin=False)
    first = client.submit_job(JOB_YAML, request_id="req-1")
    again = client.submit_job(JOB_YAML, request_id="req-1")
    other = client.submit_job(JOB_YAML, request_id="req-2")
    assert first.job_id == again.job_id != other.job_id
    assert first.owner == "alice" and first.state == "running"
    assert {t.component for t in first.tasks} == {"reader_0", "psi_0", "lr_0"}
    assert {t.party_id for t in first.tasks} == {"9999", "10000"}
    listed = [j.job_id for j in client.list_jobs(limit=500)]
    assert listed.count(first.job_id) == 1


def test_stop_and_rerun_follow_the_policy(node: Node) -> None:
    alice = node.client(admin=False)
    job = alice.submit_job(JOB_YAML)
    node.store.create_user("carol")
    _, carol_token = node.store.create_token("carol")
    with pytest.raises(ForbiddenError):
        node.client(carol_token).stop_job(job.job_id)
    stopped = alice.stop_job(job.job_id)
    assert stopped.state == "canceled"
    with pytest.raises(ConflictError) as again:
        alice.stop_job(job.job_id)
    assert again.value.status_code == 409 and "already ended" in again.value.message
    with pytest.raises(ForbiddenError):
        node.client(carol_token).rerun_job(job.job_id)
    rerun = node.client().rerun_job(job.job_id)  # an admin may
    assert rerun.state == "running" and rerun.attempt == 2


def test_logs_metrics_dag_and_listing(node: Node) -> None:
    client = node.client(admin=False)
    job = client.submit_job(JOB_YAML)
    node.twin.finish(job.job_id, "success")
    chunk = client.job_logs(job.job_id, limit=10)
    assert chunk.more and chunk.next_offset == 10
    rest = client.job_logs(job.job_id, offset=chunk.next_offset, limit=100_000)
    assert not rest.more and "lr_0: success" in chunk.text + rest.text
    only = client.job_logs(job.job_id, component="psi_0")
    assert only.text and all(line.startswith("psi_0") for line in only.text.splitlines())
    assert {m.name for m in client.job_metrics(job.job_id)} == {"auc", "loss"}
    dag = client.job_dag(job.job_id)
    assert [n.component for n in dag.nodes] == ["reader_0", "psi_0", "lr_0"]
    assert {(e.source, e.target) for e in dag.edges} == {("reader_0", "psi_0"), ("psi_0", "lr_0")}
    assert dag.nodes[0].states == {"9999": "success", "10000": "success"}
    done = client.list_jobs(states=["success"])
    assert job.job_id in [j.job_id for j in done] and all(j.state == "success" for j in done)


def test_wait_for_job_reports_every_update(node: Node) -> None:
    client = node.client(admin=False)
    job = client.submit_job(JOB_YAML)
    timer = threading.Timer(0.3, node.twin.finish, args=(job.job_id, "failed", "JOB_FAILED: x"))
    timer.start()
    seen: list[str] = []
    final = client.wait_for_job(job.job_id, on_update=lambda j: seen.append(j.state), poll_s=0.05)
    timer.join()
    assert final.state == "failed" and final.reason == "JOB_FAILED: x"
    assert seen[0] == "running" and seen[-1] == "failed"


def test_error_bodies_and_statuses(node: Node) -> None:
    with _raw(node, node.user_token) as http:
        missing = http.get("/jobs/job9999")
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
        bad_id = http.get("/jobs/bad$id")
        assert bad_id.status_code == 400 and bad_id.json()["code"] == "INVALID_INPUT"
        bad_limit = http.get("/jobs", params={"limit": 0})
        assert bad_limit.status_code == 400 and "limit" in bad_limit.json()["message"]
        bad_state = http.get("/jobs", params={"state": "sleeping"})
        assert bad_state.status_code == 400
        bad_yaml = http.post("/jobs", json={"job": "name: [unclosed"})
        assert bad_yaml.status_code == 400 and bad_yaml.json()["code"] == "JOB_INVALID"
        unknown_key = http.post("/jobs", json={"job": JOB_YAML, "priority": 1})
        assert unknown_key.status_code == 400
        no_route = http.get("/nowhere")
        assert no_route.status_code == 404 and no_route.json()["code"] == "NOT_FOUND"
    with pytest.raises(NotFoundError) as caught:
        node.client().get_job("job9999")
    assert caught.value.server_code == "NOT_FOUND" and "job9999" in caught.value.message


def test_unexpected_errors_are_a_generic_500(node: Node, caplog: pytest.LogCaptureFixture) -> None:
    node.twin.explode = RuntimeError("secret detail /srv/data/patients.csv")
    with caplog.at_level(logging.ERROR, logger="chaihuo.flow.api"):
        response = _raw(node, node.user_token).get("/status")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "INTERNAL" and "secret detail" not in response.text
    assert "incident" in body["message"]
    assert "secret detail" in caplog.text and "Traceback" in caplog.text
    with pytest.raises(ServerError):
        node.twin.explode = RuntimeError("again")
        node.client().status()
    node.twin.explode = StoreError("store failure at sqlite:////srv/secret.db: SELECT token")
    store_failure = _raw(node, node.user_token).get("/status")
    assert store_failure.status_code == 500 and store_failure.json()["code"] == "INTERNAL"
    assert "secret.db" not in store_failure.text and "incident" in store_failure.text


def test_json_bodies_are_bounded(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"job": "'
        yield b'name: x"}'

    with (
        running_node(tmp_path, limits=ApiLimits(json_body=4096)) as small,
        _raw(small, small.user_token) as http,
    ):
        big = http.post("/jobs", json={"job": "x" * 10_000})
        assert big.status_code == 413 and big.json()["code"] == "SERDE_TOO_LARGE"
        chunked = http.post("/jobs", content=chunks())
        assert chunked.status_code == 411


def test_unreachable_node_is_a_typed_error() -> None:
    with pytest.raises(NodeUnreachableError) as caught:
        ChaihuoClient("http://127.0.0.1:9", "t", timeout=2).health()
    assert caught.value.status_code == 0


def test_auth_off_makes_every_caller_the_dev_admin(tmp_path: Path) -> None:
    store = Store.open("sqlite://", owner="tests")
    app = create_app(TwinNode(tmp_path), store, auth=False)
    with serve(app) as url, ChaihuoClient(url, None) as client:
        me = client.me()
        assert me.name == "dev" and me.admin
        assert client.status().party_id == "9999"
    store.close()


# -- data ----------------------------------------------------------------------------------


def _write_csv(path: Path, megabytes: int) -> None:
    line = b"".join(f"{i},{i * 0.5:.3f},{i % 2}\n".encode() for i in range(1000))
    with path.open("wb") as out:
        out.write(b"id,x0,y\n")
        while out.tell() < megabytes * 1024 * 1024:
            out.write(line)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for row in status:
            if row.startswith(field + ":"):
                return int(row.split()[1])
    raise LookupError(field)


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        return False
    return True


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_50_mb_upload_streams_through_and_downloads_back(node: Node, tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    _write_csv(source, 50)
    size = source.stat().st_size
    client = node.client(admin=False)
    node.twin.upload_reads.clear()
    peak_known = _reset_peak_rss()
    before = _rss_kib("VmRSS")
    table = client.upload_table("big", "t50", source, id_column="id", label_column="y")
    growth_mib = (_rss_kib("VmHWM") - before) / 1024
    assert table.size_bytes == size and table.format == "csv"
    assert table.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert [c.name for c in table.columns] == ["id", "x0", "y"]
    # The twin read a stream, a chunk at a time, never the whole body at once.
    assert node.twin.upload_source_types[-1] is io.BufferedReader
    assert len(node.twin.upload_reads) >= 40 and max(node.twin.upload_reads) <= 1 << 20
    if peak_known:  # client, server and twin share this process: none held the file
        assert growth_mib < 25, f"peak RSS grew {growth_mib:.0f} MiB for a 50 MiB upload"
    with pytest.raises(ConflictError):  # answered at once, however much is still coming
        client.upload_table("big", "t50", source)
    back = tmp_path / "back.csv"
    assert client.download_table("big", "t50", back) == size
    assert back.read_bytes() == source.read_bytes()
    sink = io.BytesIO()
    client.download_table("big", "t50", sink)
    assert hashlib.sha256(sink.getvalue()).hexdigest() == table.sha256
    assert client.delete_table("big", "t50").name == "t50"
    with pytest.raises(NotFoundError):
        client.get_table("big", "t50")


def test_upload_rules(node: Node, tmp_path: Path) -> None:
    client = node.client(admin=False)
    small = tmp_path / "small.csv"
    small.write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    table = client.upload_table("exp", "small", small, id_column="id")
    assert table.rows == 2 and table.id_column == "id"
    assert [t.name for t in client.list_tables("exp")] == ["small"]
    with pytest.raises(ConflictError):
        client.upload_table("exp", "small", small)
    assert client.upload_table("exp", "small", small, replace=True).rows == 2
    with pytest.raises(InvalidRequestError) as bad_column:
        client.upload_table("exp", "other", small, label_column="nope")
    assert bad_column.value.server_code == "DATA_INVALID"
    with pytest.raises(NotFoundError):
        client.get_table("exp", "other")
    with pytest.raises(InvalidRequestError):
        client.upload_table("bad ns!", "x", small)
    frame = pa.table({"id": [1, 2, 3], "f": [0.1, 0.2, 0.3]})
    pq.write_table(frame, tmp_path / "t.parquet")
    assert client.get_table("exp", "small").sha256 == table.sha256
    parquet = client.upload_table("exp", "pq", tmp_path / "t.parquet", id_column="id")
    assert parquet.format == "parquet" and parquet.rows == 3
    assert [(c.name, c.dtype) for c in parquet.columns] == [("id", "int64"), ("f", "double")]


def test_a_download_that_does_not_match_its_hash_is_refused(node: Node, tmp_path: Path) -> None:
    client = node.client(admin=False)
    source = tmp_path / "t.csv"
    source.write_text("id,x\n1,2\n")
    client.upload_table("tamper", "t", source)
    node.twin.table_path("tamper", "t").write_text("id,x\n1,3\n")  # same size, other bytes
    dest = tmp_path / "out.csv"
    with pytest.raises(ContentMismatchError):
        client.download_table("tamper", "t", dest)
    assert not dest.exists() and list(tmp_path.glob(".out.csv.*")) == []


def test_upload_size_limit(tmp_path: Path) -> None:
    with running_node(tmp_path, limits=ApiLimits(upload=100_000)) as small:
        client = small.client(admin=False)
        source = tmp_path / "over.csv"
        _write_csv(source, 1)
        with pytest.raises(InvalidRequestError) as declared:
            client.upload_table("ns", "declared", source)
        assert declared.value.status_code == 413
        with source.open("rb") as stream, pytest.raises(InvalidRequestError) as counted:
            client.upload_table("ns", "chunked", stream)  # no Content-Length: counted
        assert counted.value.status_code == 413
        assert client.list_tables() == []


# -- models --------------------------------------------------------------------------------


def test_model_export_import_round_trip(node: Node, tmp_path: Path) -> None:
    client = node.client(admin=False)
    job = client.submit_job(JOB_YAML)
    node.twin.finish(job.job_id, "success")
    model_id = f"{job.job_id}/lr_0"
    model = client.get_model(model_id)
    assert model_id in [m.model_id for m in client.list_models()]
    archive = tmp_path / "model.zip"
    client.export_model(model_id, archive)
    names = zipfile.ZipFile(archive).namelist()
    assert sorted(names) == ["model.json", "weights.npz"]
    with pytest.raises(ConflictError):
        client.import_model(archive)
    del node.twin.models[model_id]
    imported = client.import_model(archive)
    assert imported.model_id == model_id and imported.sha256 == model.sha256
    with pytest.raises(NotFoundError):
        client.get_model(f"{job.job_id}/nope")
    pickled = io.BytesIO()
    with zipfile.ZipFile(pickled, "w") as bad:
        bad.writestr("model.json", "{}")
        bad.writestr("model.pkl", b"\x80\x04.")
    with pytest.raises(InvalidRequestError):
        client.import_model(pickled.getvalue())


# -- OpenAPI -------------------------------------------------------------------------------

EVERY_ROUTE = {
    ("get", "/health"),
    ("get", "/status"),
    ("get", "/me"),
    ("post", "/jobs"),
    ("get", "/jobs"),
    ("get", "/jobs/{job_id}"),
    ("post", "/jobs/{job_id}/stop"),
    ("post", "/jobs/{job_id}/rerun"),
    ("get", "/jobs/{job_id}/logs"),
    ("get", "/jobs/{job_id}/metrics"),
    ("get", "/jobs/{job_id}/dag"),
    ("put", "/data/{namespace}/{name}"),
    ("get", "/data"),
    ("get", "/data/{namespace}/{name}"),
    ("get", "/data/{namespace}/{name}/download"),
    ("delete", "/data/{namespace}/{name}"),
    ("get", "/models"),
    ("get", "/models/{job_id}/{component}"),
    ("get", "/models/{job_id}/{component}/export"),
    ("post", "/models/import"),
    ("post", "/users"),
    ("get", "/users"),
    ("delete", "/users/{name}"),
    ("post", "/users/{name}/tokens"),
    ("get", "/tokens"),
    ("delete", "/tokens/{token_id}"),
}


def test_openapi_lists_every_route(node: Node) -> None:
    document = httpx.get(f"{node.url}/openapi.json").json()
    routes = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert routes == EVERY_ROUTE
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    upload = document["paths"]["/data/{namespace}/{name}"]["put"]
    assert "application/octet-stream" in upload["requestBody"]["content"]
    assert "JobView" in document["components"]["schemas"]
    docs = httpx.get(f"{node.url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_requests_are_answered_concurrently(node: Node) -> None:
    client = node.client(admin=False)
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            for _ in range(10):
                client.status()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and time.monotonic() - started < 30
