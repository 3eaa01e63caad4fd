"""Three organisations, three node processes on loopback: jobs across them, data and models."""

# Checked here: the vertical pipeline on tables uploaded through the REST API; a predict job
# with a stored model; FATE's SecureAddExample (KubeFATE FateJob, one node playing guest and
# host) prints 2000; a submit is idempotent by request id; bad jobs are refused naming the
# cause; a partner's policy rejects with its reason; a stop ends every party's task
# processes; a task process killed mid-job fails the job on every party with the cause named.

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import NodeHandle, cluster

from chaihuo.cli._app import app
from chaihuo.client import ChaihuoApiError, ChaihuoClient
from chaihuo.ml import ModelArtifact

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "fate-examples"
FATE = ROOT / "tests" / "unit" / "flow" / "fate"
PARTIES = ["9999", "10000", "10001"]

LR_JOB = """
name: lr
parties: {guest: 9999, host: [10000], arbiter: 10001}
timeout_s: TIMEOUT
components:
  reader_0:
    component: reader
    by_role:
      guest: {table: breast/guest}
      host: {table: breast/host}
  psi_0: {component: psi, inputs: {data: reader_0.data}}
  lr_0:
    component: hetero_lr
    inputs: {train: psi_0.data}
    params: {epochs: EPOCHS, batch_size: -1, learning_rate: 0.5, optimizer: sgd, random_seed: 1}
  eval_0: {component: evaluation, inputs: {data: lr_0.predictions}}
"""


def lr_job(epochs: int = 3, timeout_s: int = 30) -> str:
    """The breast LR job; `timeout_s` is how long a party waits for a peer's message."""
    return LR_JOB.replace("EPOCHS", str(epochs)).replace("TIMEOUT", str(timeout_s))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeHandle]]:
    root = tmp_path_factory.mktemp("nodes")
    permissions = {"9999": {}, "10000": {"9999": ["*"]}, "10001": {"9999": ["*"]}}
    with cluster(root, PARTIES, permissions=permissions) as handles:
        handles["9999"].client().upload_table(
            "breast", "guest", DATA / "breast_hetero_guest.csv", id_column="id", label_column="y"
        )
        handles["10000"].client().upload_table(
            "breast", "host", DATA / "breast_hetero_host.csv", id_column="id"
        )
        yield handles


def _wait(client: ChaihuoClient, job_id: str, timeout_s: float = 180.0):  # type: ignore[no-untyped-def]
    return client.wait_for_job(job_id, lambda view: None, 0.2, timeout_s=timeout_s)


def _task_pids(handle: NodeHandle, job_id: str) -> list[int]:
    """Live task worker processes of a job on a node (their command names the job folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            mine = str(handle.folder) + os.sep in command and job_id in command
            if mine and "chaihuo.components" in command and state != "Z":
                pids.append(int(entry.name))
    return pids


PREDICT_JOB = """
name: lr-predict
parties: {guest: 9999, host: [10000], arbiter: 10001}
components:
  reader_0:
    component: reader
    by_role:
      guest: {table: breast/guest}
      host: {table: breast/host}
  psi_0: {component: psi, inputs: {data: reader_0.data}}
  lr_1:
    component: hetero_lr
    model: MODEL
    inputs: {test: psi_0.data}
    params: {predict_only: true}
"""


def _train_then_predict(guest: ChaihuoClient):  # type: ignore[no-untyped-def]
    """The training job and the predict job with its model; by request id, so a second call
    (another test on the same cluster) returns the same two jobs instead of running them again."""
    trained = _wait(guest, guest.submit_job(lr_job(), request_id="lr-train-1").job_id)
    assert trained.state == "success", (trained.reason, [
        (t.party_id, t.component, t.state, t.reason) for t in trained.tasks])  # fmt: skip
    predict = PREDICT_JOB.replace("MODEL", f"{trained.job_id}/lr_0")
    scored = _wait(guest, guest.submit_job(predict, request_id="lr-predict-1").job_id)
    assert scored.state == "success", scored.reason
    return trained, scored


def test_vertical_lr_on_uploaded_tables_then_a_predict_job_with_the_stored_model(
    nodes: dict[str, NodeHandle],
) -> None:
    guest = nodes["9999"].client()
    job, scored = _train_then_predict(guest)
    assert {(t.party_id, t.component) for t in job.tasks} >= {
        ("9999", "lr_0"),
        ("10000", "lr_0"),
        ("10001", "lr_0"),
        ("9999", "eval_0"),
    }
    assert all(t.state == "success" for t in job.tasks)
    auc = {m.name: m.value for m in guest.job_metrics(job.job_id) if m.component == "eval_0"}
    assert auc["auc"] > 0.98  # breast, 3 epochs of full-batch SGD
    # the same request id returns the same job, not a second one
    assert guest.submit_job(lr_job(), request_id="lr-train-1").job_id == job.job_id
    # every party registered its own part of the model; the guest's holds no host weights
    for party, role in (("9999", "guest"), ("10000", "host"), ("10001", "arbiter")):
        (model,) = [m for m in nodes[party].client().list_models() if m.job_id == job.job_id]
        assert model.roles == [role]
    trained = _predictions(nodes["9999"], job.job_id, "lr_0")
    again = _predictions(nodes["9999"], scored.job_id, "lr_1")
    assert np.allclose(trained, again, atol=1e-9)


def _predictions(node: NodeHandle, job_id: str, component: str) -> np.ndarray:
    path = node.folder / "data" / "jobs" / job_id / "9999" / "guest" / component
    rows = (path / "predictions.csv").read_text().splitlines()[1:]
    return np.array(sorted((int(r.split(",")[0]), float(r.split(",")[3])) for r in rows))


def test_the_seed_fatejob_runs_unchanged_on_one_node_playing_guest_and_host(
    nodes: dict[str, NodeHandle], tmp_path: Path
) -> None:
    handle = nodes["9999"]
    result = CliRunner().invoke(app, [
        "job", "submit", "--kubefate", str(FATE / "kubefate_fatejob.yaml"), "--wait",
        "--url", handle.url, "--token", handle.token,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    client = handle.client()
    (job,) = [j for j in client.list_jobs(limit=5) if j.name != "lr" and j.parties.get("host")
              == ["9999"]]  # fmt: skip
    metrics = {m.name: m.value for m in client.job_metrics(job.job_id)}
    assert metrics["secure_sum"] == pytest.approx(2000.0, abs=2000 * 2.0**-16)
    assert "2000" in result.output


@pytest.mark.parametrize(
    ("edit", "status", "cause"),
    [
        (lambda t: t.replace("arbiter: 10001", "arbiter: 10002"), 400, "does not know parties"),
        (
            lambda t: t.replace("table: breast/host", "table: breast/nope"),
            0,
            "no table breast/nope",
        ),
        (
            lambda t: t.replace("table: breast/guest", "table: breast/nope"),
            400,
            "no table breast/nope",
        ),
        (lambda t: t.replace("epochs: 3", "epochs: -3"), 400, "epochs"),
        (lambda t: t.replace("component: psi", "component: psy"), 400, "unknown component 'psy'"),
        (lambda t: t.replace("name: lr", "name: lr\ncolour: red"), 400, "colour"),
    ],
)
def test_bad_jobs_are_refused_naming_the_cause(
    nodes: dict[str, NodeHandle], edit: object, status: int, cause: str
) -> None:
    guest = nodes["9999"].client()
    text = edit(lr_job())  # type: ignore[operator]
    if status:
        with pytest.raises(ChaihuoApiError) as info:
            guest.submit_job(text)
        assert info.value.status_code == status and cause in str(info.value), str(info.value)
        return
    final = _wait(guest, guest.submit_job(text).job_id)  # a partner's own check: it rejects
    assert final.state == "failed" and "rejected by 10000" in (final.reason or "")
    assert cause in (final.reason or ""), final.reason


def test_a_partners_policy_rejects_a_component_it_does_not_allow(
    tmp_path: Path,
) -> None:
    policy = {"9999": {}, "10000": {"9999": ["secure_aggregate"]}}
    with cluster(tmp_path, ["9999", "10000"], permissions=policy) as handles:
        guest = handles["9999"].client()
        text = ("name: add\nparties: {guest: 9999, host: 10000}\ncomponents:\n"
                "  add_0: {component: secure_add, params: {seed: 1, values: ones}}\n")  # fmt: skip
        final = _wait(guest, guest.submit_job(text).job_id, 60)
        assert final.state == "failed"
        assert (
            "rejected by 10000" in final.reason
            and "does not let party 9999 start secure_add" in final.reason
        )
        assert handles["10000"].client().list_jobs() == []  # nothing was stored there
        with pytest.raises(ChaihuoApiError) as info:
            ChaihuoClient(handles["9999"].url, "chh_not-a-token").list_jobs()
        assert info.value.status_code == 401


def test_a_stop_ends_every_partys_task_processes(nodes: dict[str, NodeHandle]) -> None:
    guest = nodes["9999"].client()
    job = guest.submit_job(lr_job(epochs=2000))
    deadline = time.monotonic() + 60
    while not all(_task_pids(nodes[p], job.job_id) for p in PARTIES):
        assert time.monotonic() < deadline, "tasks never started on every party"
        time.sleep(0.2)
    stopped = guest.stop_job(job.job_id)
    assert stopped.state == "canceled"
    deadline = time.monotonic() + 15
    while any(_task_pids(nodes[p], job.job_id) for p in PARTIES):
        assert time.monotonic() < deadline, "task processes outlived the stop"
        time.sleep(0.2)
    for party in ("10000", "10001"):
        seen = _wait(nodes[party].client(), job.job_id, 30)
        assert seen.state == "canceled", (party, seen.reason)
    with pytest.raises(ChaihuoApiError) as info:
        guest.stop_job(job.job_id)
    assert info.value.status_code == 409


def test_a_task_killed_mid_job_fails_the_job_on_every_party(
    nodes: dict[str, NodeHandle],
) -> None:
    guest = nodes["9999"].client()
    job = guest.submit_job(lr_job(epochs=2000))
    deadline = time.monotonic() + 60
    while not (host_tasks := _task_pids(nodes["10000"], job.job_id)) or not any(
        "lr_0" in json.dumps(t.component) and t.state == "running"
        for t in guest.get_job(job.job_id).tasks if t.party_id == "10000"
    ):  # fmt: skip
        assert time.monotonic() < deadline, "the host's lr_0 never ran"
        time.sleep(0.2)
    for pid in _task_pids(nodes["10000"], job.job_id):
        os.kill(pid, signal.SIGKILL)
    for party in PARTIES:
        seen = _wait(nodes[party].client(), job.job_id, 60)
        assert seen.state == "failed", (party, seen.state, seen.reason)
        if party != "10000":
            assert "10000 failed" in (seen.reason or "") and "lr_0" in (seen.reason or ""), (
                party, seen.reason)  # fmt: skip
    assert host_tasks
    deadline = time.monotonic() + 15  # the others' task processes are stopped, not left
    while any(_task_pids(nodes[p], job.job_id) for p in PARTIES):
        assert time.monotonic() < deadline, "task processes outlived the failed job"
        time.sleep(0.2)


def test_model_archives_round_trip_and_models_are_never_pickled(
    nodes: dict[str, NodeHandle], tmp_path: Path
) -> None:
    guest, arbiter = nodes["9999"].client(), nodes["10001"].client()
    _, scored = _train_then_predict(guest)  # the guest's model of the predict job (lr_1):
    (model,) = [m for m in guest.list_models() if m.job_id == scored.job_id]  # not on 10001
    archive = tmp_path / "model.zip"
    guest.export_model(model.model_id, archive)
    with pytest.raises(ChaihuoApiError) as info:
        guest.import_model(archive)  # it is already registered here
    assert info.value.status_code == 409
    imported = arbiter.import_model(archive)
    assert imported.model_id == model.model_id and imported.roles == ["guest"]
    for json_file in (nodes["10001"].folder / "data" / "models").rglob("*.json"):
        ModelArtifact.load(json_file)  # header, content hash and no pickle, checked again
