"""Nodes for tests: a PKI, one node.yaml per party with fixed loopback ports, and the nodes
started as real processes (`chaihuo node start`) or in this process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from chaihuo.client import ChaihuoClient
from chaihuo.federation import make_local_pki


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class NodeHandle:
    """One running node: its party, folder, URLs and admin token."""

    party: str
    folder: Path
    conf: Path
    grpc: str
    url: str
    process: subprocess.Popen[bytes] | None = None
    inproc: object | None = None
    token: str = ""
    clients: list[ChaihuoClient] = field(default_factory=list)

    def client(self) -> ChaihuoClient:
        client = ChaihuoClient(self.url, self.token, timeout=60.0)
        self.clients.append(client)
        return client

    def log(self) -> str:
        path = self.folder / "node.log"
        return path.read_text(errors="replace") if path.exists() else ""


def write_configs(
    root: Path,
    parties: list[str],
    permissions: dict[str, dict[str, list[str]]] | None = None,
    *,
    timeout_s: float = 3600.0,
    max_tasks: int = 4,
) -> dict[str, NodeHandle]:
    """A PKI and a node.yaml per party; every party trusts every other by default."""
    tls = make_local_pki(root / "pki", parties)
    ports = {p: (free_port(), free_port()) for p in parties}
    handles = {}
    for party in parties:
        folder = root / party
        folder.mkdir(parents=True)
        allowed = (permissions or {}).get(
            party, {other: ["*"] for other in parties if other != party}
        )
        conf = {
            "party_id": party,
            "profile": "prod",
            "listen": {"grpc": f"127.0.0.1:{ports[party][0]}",
                       "http": f"127.0.0.1:{ports[party][1]}"},
            "tls": {"ca": str(tls[party].ca_cert), "cert": str(tls[party].cert),
                    "key": str(tls[party].key)},
            "peers": {p: {"address": f"127.0.0.1:{ports[p][0]}"} for p in parties if p != party},
            "data_dir": str(folder / "data"),
            "permissions": allowed,
            "max_concurrent_tasks": max_tasks,
            "job_timeout_s": timeout_s,
        }  # fmt: skip
        path = folder / "node.yaml"
        path.write_text(yaml.safe_dump(conf), encoding="utf-8")
        handles[party] = NodeHandle(party, folder, path, f"127.0.0.1:{ports[party][0]}",
                                    f"http://127.0.0.1:{ports[party][1]}")  # fmt: skip
    return handles


def start_process(handle: NodeHandle) -> None:
    """`chaihuo node start` as a real process; waits until it answers."""
    log = (handle.folder / "node.log").open("ab")
    handle.process = subprocess.Popen(
        [sys.executable, "-m", "chaihuo.cli", "node", "start", "--conf", str(handle.conf)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    _await(handle)


def _await(handle: NodeHandle, timeout_s: float = 60.0) -> None:
    token_file = handle.folder / "data" / "admin-token"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if handle.process is not None and handle.process.poll() is not None:
            raise AssertionError(f"node {handle.party} exited: {handle.log()}")
        try:
            if httpx.get(f"{handle.url}/health", timeout=1.0).status_code == 200:
                handle.token = token_file.read_text().strip()
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"node {handle.party} did not start: {handle.log()}")


def stop_process(handle: NodeHandle, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
    assert handle.process is not None
    handle.process.send_signal(sig)
    try:
        return handle.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(handle.process.pid, signal.SIGKILL)
        return handle.process.wait()


@contextmanager
def cluster(root: Path, parties: list[str], **options: object) -> Iterator[dict[str, NodeHandle]]:
    """Start a node process per party; stop them all at the end."""
    handles = write_configs(root, parties, **options)  # type: ignore[arg-type]
    try:
        for handle in handles.values():
            start_process(handle)
        yield handles
    finally:
        for handle in handles.values():
            for client in handle.clients:
                client.close()
            if handle.process is not None and handle.process.poll() is None:
                stop_process(handle)
