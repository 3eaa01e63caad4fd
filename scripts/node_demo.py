"""`make demo`: three chaihuo nodes on loopback train vertical LR on breast through the REST API."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from chaihuo.cli._job import metrics_table, progress_table
from chaihuo.client import ChaihuoApiError, ChaihuoClient, NodeUnreachableError
from chaihuo.federation import make_local_pki
from chaihuo.flow.api._schemas import JobView, MetricView

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"
GUEST, HOST, ARBITER = "9999", "10000", "10001"
ROLES = {GUEST: "guest", HOST: "host", ARBITER: "arbiter"}
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
LOG_LINES = 40

JOB = """\
name: demo-hetero-lr
parties: {{guest: {guest}, host: [{host}], arbiter: {arbiter}}}
timeout_s: 600
components:
  reader_0:
    component: reader
    by_role:
      guest: {{table: breast/guest}}
      host: {{table: breast/host}}
  psi_0: {{component: psi, inputs: {{data: reader_0.data}}}}
  lr_0:
    component: hetero_lr
    inputs: {{train: psi_0.data}}
    params: {{epochs: {epochs}, batch_size: -1, learning_rate: {lr}, optimizer: adam,
              random_seed: 1}}
  eval_0: {{component: evaluation, inputs: {{data: lr_0.predictions}}}}
"""


class TerminatedError(Exception):
    """SIGTERM reached the demo: stop the nodes and leave."""


@dataclass
class Node:
    """One party's node: its folder, config, addresses, process and admin token."""

    party: str
    folder: Path
    grpc: str
    url: str
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    clients: list[ChaihuoClient] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.folder / "node.log"

    def client(self, token: str | None = None) -> ChaihuoClient:
        client = ChaihuoClient(self.url, token if token is not None else self.token, timeout=60)
        self.clients.append(client)
        return client

    def tail(self, lines: int = LOG_LINES) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_configs(root: Path) -> dict[str, Node]:
    """A CA and a certificate per party, and a node.yaml each (JSON, which is YAML).

    The initiator (the guest) may start every component on the host and the arbiter; nobody
    may start anything on the guest.
    """
    parties = list(ROLES)
    tls = make_local_pki(root / "pki", parties)
    grpc = {party: f"127.0.0.1:{_free_port()}" for party in parties}
    http = {party: f"127.0.0.1:{_free_port()}" for party in parties}
    nodes = {}
    for party in parties:
        folder = root / f"{ROLES[party]}-{party}"
        folder.mkdir()
        conf = {
            "party_id": party,
            "profile": "prod",
            "listen": {"grpc": grpc[party], "http": http[party]},
            "tls": {
                "ca": str(tls[party].ca_cert),
                "cert": str(tls[party].cert),
                "key": str(tls[party].key),
            },
            "peers": {p: {"address": grpc[p]} for p in parties if p != party},
            "data_dir": str(folder / "data"),
            "permissions": {} if party == GUEST else {GUEST: ["*"]},
        }
        (folder / "node.yaml").write_text(json.dumps(conf, indent=2), encoding="utf-8")
        nodes[party] = Node(party, folder, grpc[party], f"http://{http[party]}")
    return nodes


def start(node: Node) -> None:
    """`chaihuo node start` as its own process, its output in the node's folder."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GRPC_VERBOSITY": "ERROR"}
    with node.log.open("ab") as log:
        node.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "chaihuo.cli", "node", "start", "--conf",
             str(node.folder / "node.yaml")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops the nodes itself
            env=env,
        )  # fmt: skip


def await_ready(node: Node) -> None:
    """Wait until the node answers /health and has written its first admin's token."""
    token_file = node.folder / "data" / "admin-token"
    deadline = time.monotonic() + START_TIMEOUT_S
    with ChaihuoClient(node.url, None, timeout=2) as probe:
        while time.monotonic() < deadline:
            if node.process is not None and node.process.poll() is not None:
                raise RuntimeError(f"node {node.party} exited with code {node.process.returncode}")
            with contextlib.suppress(NodeUnreachableError):
                probe.health()
                if token_file.exists() and (token := token_file.read_text().strip()):
                    node.token = token
                    return
            time.sleep(0.2)
    raise RuntimeError(f"node {node.party} did not answer within {START_TIMEOUT_S:.0f} s")


def stop(node: Node) -> int | None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; the exit code."""
    for client in node.clients:
        client.close()
    process = node.process
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def follow(client: ChaihuoClient, job: JobView, console: Console, poll_s: float) -> JobView:
    """A live components × parties table on a terminal; one line per state change elsewhere."""
    if console.is_terminal:
        with Live(progress_table(job), console=console, refresh_per_second=4) as live:
            return client.wait_for_job(
                job.job_id, lambda view: live.update(progress_table(view)), poll_s
            )
    seen: dict[tuple[str, str], str] = {}
    began = time.monotonic()

    def report(view: JobView) -> None:
        for task in view.tasks:
            key = (task.component, task.party_id)
            if seen.get(key) != task.state:
                seen[key] = task.state
                where = f"{'/'.join(task.roles)} {task.party_id}"
                line = f"{time.monotonic() - began:6.1f} s  {task.component:<8} {where}"
                console.print(f"  {line}: {task.state}", highlight=False)

    job = client.wait_for_job(job.job_id, report, poll_s)
    console.print(progress_table(job))
    return job


def _summary(metrics: list[MetricView]) -> list[MetricView]:
    """Scalar metrics; of a per-step series (the loss), only the last step."""
    last: dict[tuple[str, str], MetricView] = {}
    for metric in metrics:
        if isinstance(metric.value, int | float) and not isinstance(metric.value, bool):
            key = (metric.component, metric.name)
            if key not in last or (metric.step or 0) >= (last[key].step or 0):
                last[key] = metric
    return list(last.values())


def models_table(nodes: dict[str, Node], job_id: str) -> Table:
    """The models this job registered, on each node's registry."""
    table = Table("model", "party", "type", "files", title="model registry")
    for node in nodes.values():
        for model in node.client().list_models():
            if model.job_id == job_id:
                size = sum(f.size_bytes for f in model.files)
                table.add_row(
                    model.model_id,
                    f"{'/'.join(model.roles)} {node.party}",
                    model.type,
                    f"{len(model.files)} files, {size:,} B",
                )
    return table


def run_demo(nodes: dict[str, Node], console: Console, epochs: int, lr: float) -> bool:
    """Users, uploads, the job, its progress, metrics and models; whether the job succeeded."""
    guest, host, arbiter = nodes[GUEST], nodes[HOST], nodes[ARBITER]
    admin = guest.client()
    admin.create_user("analyst")
    secret = admin.create_token("analyst", expires_in_s=86_400, label="make demo").secret
    analyst = guest.client(secret)
    console.print(
        f"guest admin created user [bold]{analyst.me().name}[/bold] and a token; "
        "the guest's steps below use it"
    )

    uploads = [
        (analyst, guest, "guest", {"id_column": "id", "label_column": "y"}),
        (host.client(), host, "host", {"id_column": "id"}),
    ]
    for client, node, name, options in uploads:
        table = client.upload_table("breast", name, DATA / f"breast_hetero_{name}.csv", **options)
        shape = f"{table.rows} rows, {len(table.columns)} columns"
        where = f"{ROLES[node.party]} {node.party}"
        console.print(f"uploaded breast/{name} to {where}: {shape}", highlight=False)
    with arbiter.client() as probe:
        console.print(f"arbiter {arbiter.party} holds no data: {len(probe.list_tables())} tables")

    began = time.monotonic()
    job = analyst.submit_job(
        JOB.format(guest=GUEST, host=HOST, arbiter=ARBITER, epochs=epochs, lr=lr)
    )
    console.print(
        f"submitted job [bold]{job.job_id}[/bold]: reader → psi → hetero_lr "
        f"({epochs} epochs) → evaluation"
    )
    job = follow(analyst, job, console, poll_s=0.5)
    console.print(
        f"job {job.job_id}: {job.state} in {time.monotonic() - began:.1f} s",
        style="green" if job.state == "success" else "red",
    )
    if job.state != "success":
        console.print(f"[red]{escape(job.reason or 'no reason given')}[/red]")
        for task in job.tasks:
            if task.reason:
                console.print(f"  {task.component} on {task.party_id}: {task.reason}", markup=False)
        with contextlib.suppress(ChaihuoApiError):
            console.print(analyst.job_logs(job.job_id, limit=8_192).text, markup=False)
        return False
    console.print(metrics_table(_summary(analyst.job_metrics(job.job_id))))
    console.print(models_table(nodes, job.job_id))
    return True


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise TerminatedError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10, help="hetero_lr epochs (10)")
    parser.add_argument("--learning-rate", type=float, default=0.03, help="adam's rate (0.03)")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' folders")
    args = parser.parse_args(argv)
    console = Console()
    signal.signal(signal.SIGTERM, _terminate)
    root = Path(tempfile.mkdtemp(prefix="chaihuo-demo-"))
    nodes: dict[str, Node] = {}
    code, began = 1, time.monotonic()
    try:
        nodes = write_configs(root)
        for node in nodes.values():
            start(node)
        for node in nodes.values():
            await_ready(node)
            console.print(
                f"node {ROLES[node.party]} {node.party}: REST {node.url}, gRPC {node.grpc} (mTLS)",
                highlight=False,
            )
        code = 0 if run_demo(nodes, console, args.epochs, args.learning_rate) else 1
    except KeyboardInterrupt:
        console.print("interrupted: stopping the nodes")
        code = 130
    except TerminatedError:
        console.print("terminated: stopping the nodes")
        code = 143
    except Exception as exc:  # any failure: say what, then show the nodes' logs
        console.print(f"[red]demo failed:[/red] {escape(f'{type(exc).__name__}: {exc}')}")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # finish stopping the nodes, whatever comes
            signal.signal(sig, signal.SIG_IGN)
        exits = {party: stop(node) for party, node in nodes.items()}
        if code == 1:
            for node in nodes.values():
                console.rule(f"last {LOG_LINES} lines of {node.log}")
                console.print(node.tail(), markup=False, highlight=False)
        stopped = ", ".join(f"{ROLES[p]} {rc}" for p, rc in exits.items())
        console.print(
            f"nodes stopped (exit codes: {stopped}) after {time.monotonic() - began:.1f} s",
            highlight=False,
        )
        if args.keep:
            console.print(f"node folders kept in {root}", highlight=False)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
