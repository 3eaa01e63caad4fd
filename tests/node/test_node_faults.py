"""A node that dies mid-job, a partner that is not running, a store held by another node."""

# Checked here: a node killed mid-job (kill -9) makes the others end the job within the
# federation deadline, naming it; when it comes back it marks the job failed as "the node
# restarted"; `rerun` then completes from the failed component and the model equals an
# uninterrupted run's within 1e-6. A partner that is not running rejects the job with that
# cause. A second node on the same store is refused with the holder named.

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import cluster, start_process, stop_process
from test_node_jobs import DATA, PARTIES, _task_pids, _wait, lr_job

from chaihuo.ml import ModelArtifact


def _weights(folder: Path, job_id: str) -> np.ndarray:
    model = ModelArtifact.load(folder / "data" / "jobs" / job_id / "9999" / "guest" / "lr_0" /
                               "model.json")  # fmt: skip
    return np.concatenate([np.ravel(v) for _, v in sorted(model.arrays.items())])


def test_a_killed_node_fails_the_job_everywhere_and_a_rerun_reproduces_the_model(
    tmp_path: Path,
) -> None:
    with cluster(tmp_path, PARTIES) as nodes:
        guest = nodes["9999"].client()
        guest.upload_table("breast", "guest", DATA / "breast_hetero_guest.csv",
                           id_column="id", label_column="y")  # fmt: skip
        nodes["10000"].client().upload_table(
            "breast", "host", DATA / "breast_hetero_host.csv", id_column="id"
        )
        reference = guest.submit_job(lr_job(epochs=30, timeout_s=15))
        assert _wait(guest, reference.job_id).state == "success"

        job = guest.submit_job(lr_job(epochs=30, timeout_s=15))
        deadline = time.monotonic() + 60
        while not any(t.component == "lr_0" and t.state == "running" and t.party_id == "10000"
                      for t in guest.get_job(job.job_id).tasks):  # fmt: skip
            assert time.monotonic() < deadline, "the host never ran lr_0"
            time.sleep(0.1)
        host = nodes["10000"]
        stop_process(host, signal.SIGKILL)  # the whole node, mid-training
        ended = _wait(guest, job.job_id, 90)  # the job's federation deadline is 15 s
        assert ended.state == "failed", ended.reason
        deadline = time.monotonic() + 15
        while _task_pids(host, job.job_id):  # the host's tasks follow their node
            assert time.monotonic() < deadline, "the dead node's tasks kept running"
            time.sleep(0.2)

        start_process(host)  # it comes back and says what happened to the job
        again = host.client().get_job(job.job_id)
        assert again.state == "failed" and "the node restarted" in (again.reason or "")
        rerun = guest.rerun_job(job.job_id)
        assert rerun.attempt == 2
        final = _wait(guest, job.job_id)
        assert final.state == "success", final.reason
        reader = [t for t in final.tasks if t.component == "reader_0" and t.party_id == "9999"]
        assert reader[0].started_at is not None and reader[0].started_at < ended.ended_at  # reused
        assert np.allclose(_weights(nodes["9999"].folder, job.job_id),
                           _weights(nodes["9999"].folder, reference.job_id), atol=1e-6)  # fmt: skip


def test_a_partner_that_is_not_running_rejects_the_job(tmp_path: Path) -> None:
    with cluster(tmp_path, ["9999", "10000"]) as nodes:
        stop_process(nodes["10000"])
        guest = nodes["9999"].client()
        text = ("name: add\nparties: {guest: 9999, host: 10000}\ncomponents:\n"
                "  add_0: {component: secure_add, params: {seed: 1, values: ones}}\n")  # fmt: skip
        final = _wait(guest, guest.submit_job(text).job_id, 60)
        assert final.state == "failed"
        assert "rejected by 10000" in final.reason and "did not answer" in final.reason


def test_a_store_held_by_a_running_node_is_refused(tmp_path: Path) -> None:
    with cluster(tmp_path, ["9999"]) as nodes:
        second = subprocess.run(
            [sys.executable, "-m", "chaihuo.cli", "node", "start", "--conf",
             str(nodes["9999"].conf)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 78, second.stderr
        held = nodes["9999"].process
        assert held is not None
        assert f"pid {held.pid}" in second.stderr or str(held.pid) in second.stderr, second.stderr
