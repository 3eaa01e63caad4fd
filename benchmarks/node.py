"""Node benchmark: job latency across three node processes, REST rate, node path vs chaihuo run."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # before grpc is imported
import contextlib
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from _harness import Report
from chaihuo.client import ChaihuoClient, NodeUnreachableError
from chaihuo.components.builtin import default_registry
from chaihuo.federation import make_local_pki
from chaihuo.flow import run_job_locally
from chaihuo.flow.api._schemas import JobView

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"  # shipped with the repository
GUEST, HOST, ARBITER = "9999", "10000", "10001"
POLL_S = 0.02

SECURE_ADD = f"""\
name: secure-add
parties: {{guest: {GUEST}, host: {HOST}}}
components:
  secure_add_0:
    component: secure_add
    params: {{data_num: 1000, values: ones, seed: 1}}
"""

LR = f"""\
name: lr
parties: {{guest: {GUEST}, host: [{HOST}], arbiter: {ARBITER}}}
components:
  reader_0:
    component: reader
    by_role:
      guest: GUEST_READER
      host: HOST_READER
  psi_0: {{component: psi, inputs: {{data: reader_0.data}}}}
  lr_0:
    component: hetero_lr
    inputs: {{train: psi_0.data}}
    params: {{epochs: 3, batch_size: -1, learning_rate: 0.5, optimizer: sgd, random_seed: 1}}
  eval_0: {{component: evaluation, inputs: {{data: lr_0.predictions}}}}
"""


def lr_job(guest_reader: str, host_reader: str) -> str:
    return LR.replace("GUEST_READER", guest_reader).replace("HOST_READER", host_reader)


@dataclass
class NodeProcess:
    """One `chaihuo node start` process and how to reach it."""

    party: str
    folder: Path
    url: str
    process: subprocess.Popen[bytes]
    token: str = ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(root: Path, parties: list[str]) -> dict[str, NodeProcess]:
    tls = make_local_pki(root / "pki", parties)
    grpc = {p: f"127.0.0.1:{_free_port()}" for p in parties}
    http = {p: f"127.0.0.1:{_free_port()}" for p in parties}
    nodes = {}
    for party in parties:
        folder = root / party
        folder.mkdir()
        conf = {
            "party_id": party,
            "listen": {"grpc": grpc[party], "http": http[party]},
            "tls": {"ca": str(tls[party].ca_cert), "cert": str(tls[party].cert),
                    "key": str(tls[party].key)},
            "peers": {p: {"address": grpc[p]} for p in parties if p != party},
            "data_dir": str(folder / "data"),
            "permissions": {} if party == GUEST else {GUEST: ["*"]},
        }  # fmt: skip
        (folder / "node.yaml").write_text(json.dumps(conf), encoding="utf-8")
        with (folder / "node.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "chaihuo.cli", "node", "start", "--conf",
                 str(folder / "node.yaml")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        nodes[party] = NodeProcess(party, folder, f"http://{http[party]}", process)
    for node in nodes.values():
        _await(node)
    return nodes


def _await(node: NodeProcess, timeout_s: float = 90.0) -> None:
    token_file = node.folder / "data" / "admin-token"
    deadline = time.monotonic() + timeout_s
    with ChaihuoClient(node.url, None, timeout=2) as probe:
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                log = (node.folder / "node.log").read_text(errors="replace")
                raise RuntimeError(f"node {node.party} exited:\n{log[-4000:]}")
            with contextlib.suppress(NodeUnreachableError):
                probe.health()
                if token_file.exists() and (token := token_file.read_text().strip()):
                    node.token = token
                    return
            time.sleep(0.1)
    raise RuntimeError(f"node {node.party} did not start within {timeout_s:.0f} s")


@contextlib.contextmanager
def cluster(root: Path) -> Iterator[dict[str, NodeProcess]]:
    """Guest, host and arbiter nodes; the guest may start anything on the other two."""
    nodes: dict[str, NodeProcess] = {}
    try:
        nodes = _start(root, [GUEST, HOST, ARBITER])
        yield nodes
    finally:
        for node in nodes.values():
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in nodes.values():
            try:
                node.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait()


@dataclass
class Timing:
    """One job through the node: client-side wall seconds and when the first task started."""

    job_id: str
    total_s: float
    first_task_s: float  # client side: from the submit call to the first poll showing a task on
    first_task_server_s: float | None  # node side: first task's started_at - job created_at


def timed_job(client: ChaihuoClient, text: str) -> Timing:
    """Submit, poll every POLL_S until the job ends; raise if it did not succeed."""
    began = time.perf_counter()
    job = client.submit_job(text)
    first: float | None = None
    while True:
        if first is None and any(t.state != "waiting" for t in job.tasks):
            first = time.perf_counter() - began
        if job.done:
            break
        time.sleep(POLL_S)
        job = client.get_job(job.job_id)
    total = time.perf_counter() - began
    if job.state != "success":
        raise RuntimeError(f"job {job.job_id} ended {job.state}: {job.reason}")
    return Timing(job.job_id, total, first if first is not None else total, _server_first_task(job))


def _server_first_task(job: JobView) -> float | None:
    starts = [t.started_at for t in job.tasks if t.started_at is not None]
    return (min(starts) - job.created_at).total_seconds() if starts else None


def run_locally(text: str, scratch: Path) -> float:
    """Wall seconds of the job through `chaihuo run`'s launcher (one process per party)."""
    path = scratch / f"job-{time.monotonic_ns()}.yaml"
    path.write_text(text, encoding="utf-8")
    began = time.perf_counter()
    summary = run_job_locally(path, default_registry(), work_root=scratch / "runs")
    elapsed = time.perf_counter() - began
    if summary.status != "success":
        raise RuntimeError(f"chaihuo run of {path.name}: {summary.status}: {summary.error}")
    return elapsed


def bare_rest_rate(view: JobView, queries: int) -> float:
    """Requests/s of a bare FastAPI route on uvicorn returning the same job JSON, parsed the same
    way by one httpx client: what the node's REST stack could reach without its own work."""
    app = FastAPI()
    body = view.model_dump(mode="json")

    @app.get("/jobs/{job_id}")
    def get_job(job_id: str) -> dict[str, object]:
        return body

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           access_log=False))  # fmt: skip
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        host, port = sock.getsockname()
        with httpx.Client(base_url=f"http://{host}:{port}") as client:
            client.get(f"/jobs/{view.job_id}")
            began = time.perf_counter()
            for _ in range(queries):
                JobView.model_validate_json(client.get(f"/jobs/{view.job_id}").content)
            return queries / (time.perf_counter() - began)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def node_sections(report: Report, quick: bool) -> None:
    """Every metric of this script, on one three-node cluster and chaihuo run beside it."""
    repeats, lr_repeats, queries = (3, 1, 200) if quick else (10, 3, 1000)
    with tempfile.TemporaryDirectory(prefix="chaihuo-bench-node-") as tmp:
        scratch = Path(tmp)
        with cluster(scratch / "nodes") as nodes:
            guest = ChaihuoClient(nodes[GUEST].url, nodes[GUEST].token, timeout=60)
            with ChaihuoClient(nodes[HOST].url, nodes[HOST].token, timeout=60) as host:
                host.upload_table("breast", "host", DATA / "breast_hetero_host.csv", id_column="id")
            with guest:
                guest.upload_table("breast", "guest", DATA / "breast_hetero_guest.csv",
                                   id_column="id", label_column="y")  # fmt: skip
                timed_job(guest, SECURE_ADD)  # warm-up: first task processes, connections
                runs = [timed_job(guest, SECURE_ADD) for _ in range(repeats)]
                view = guest.get_job(runs[-1].job_id)
                began = time.perf_counter()
                for _ in range(queries):
                    guest.get_job(view.job_id)
                rest_rate = queries / (time.perf_counter() - began)
                node_lr = [
                    timed_job(guest, lr_job("{table: breast/guest}", "{table: breast/host}"))
                    for _ in range(lr_repeats)
                ]
        bare_rate = bare_rest_rate(view, queries)
        local_add = [run_locally(SECURE_ADD, scratch) for _ in range(max(1, repeats // 3))]
        guest_path = (
            f"{{path: {json.dumps(str(DATA / 'breast_hetero_guest.csv'))}, id: id, label: y}}"
        )
        host_path = f"{{path: {json.dumps(str(DATA / 'breast_hetero_host.csv'))}, id: id}}"
        local_lr = [run_locally(lr_job(guest_path, host_path), scratch) for _ in range(lr_repeats)]

    totals = [run.total_s for run in runs]
    run_ref = "chaihuo run, same job (median)"
    report.add("node_secure_add_s_median", statistics.median(totals),
               statistics.median(local_add), run_ref)  # fmt: skip
    report.add("node_secure_add_s_min", min(totals), min(local_add), "chaihuo run (min)")
    report.add("node_submit_to_first_task_s", statistics.median(r.first_task_s for r in runs),
               None, f"client polls every {POLL_S} s")  # fmt: skip
    server = [r.first_task_server_s for r in runs if r.first_task_server_s is not None]
    if server:
        report.add("node_submit_to_first_task_server_s", statistics.median(server), None,
                   "job created_at -> first task started_at")  # fmt: skip
    report.add("node_rest_get_job_per_s", rest_rate, bare_rate,
               "bare FastAPI route, same JSON", digits=1)  # fmt: skip
    report.add("node_hetero_lr_breast_s", statistics.median(r.total_s for r in node_lr),
               statistics.median(local_lr), "chaihuo run, same job (median)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about a minute)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    args = parser.parse_args(argv)
    report = Report("node")
    report.header()
    node_sections(report, args.quick)
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
