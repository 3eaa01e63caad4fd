"""A node's REST API on 127.0.0.1 (uvicorn in a thread) over the twin and a real in-memory store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from _twin import TwinNode
from fastapi import FastAPI

from chaihuo.client import ChaihuoClient
from chaihuo.flow.api import ApiLimits, NodeServices, create_app
from chaihuo.flow.store import Store

JOB_YAML = """\
name: twin-lr
parties: {guest: 9999, host: [10000], arbiter: 10000}
components:
  reader_0:
    component: reader
    by_role:
      guest: {path: breast/guest, id: id, label: y}
      host: {path: breast/host, id: id}
  psi_0: {component: psi, inputs: {data: reader_0.data}}
  lr_0: {component: hetero_lr, inputs: {train: psi_0.data}, params: {epochs: 2}}
"""


@dataclass
class Clock:
    """The store's clock: real time plus an offset a test may advance."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Node:
    """One served node: its URL, twin, store, clock, and an admin's and a user's token."""

    url: str
    twin: TwinNode
    store: Store
    clock: Clock
    admin_token: str
    user_token: str
    clients: list[ChaihuoClient] = field(default_factory=list)

    def client(self, token: str | None = None, *, admin: bool = True) -> ChaihuoClient:
        """A client over real HTTP; the admin's token unless told otherwise."""
        chosen = token if token is not None else (self.admin_token if admin else self.user_token)
        client = ChaihuoClient(self.url, chosen, timeout=30.0)
        self.clients.append(client)
        return client


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def running_node(data_dir: Path, *, limits: ApiLimits | None = None) -> Iterator[Node]:
    """A twin node behind the real API and a real `Store("sqlite://")`, with two users."""
    clock = Clock()
    store = Store.open("sqlite://", owner="tests", clock=clock)
    twin = TwinNode(data_dir)
    services: NodeServices = twin  # the twin must satisfy the Protocol (mypy checks this line)
    store.create_user("root", admin=True)
    store.create_user("alice")
    _, admin_token = store.create_token("root", label="tests")
    _, user_token = store.create_token("alice", label="tests")
    app = create_app(services, store, limits=limits)
    with serve(app) as url:
        node = Node(url, twin, store, clock, admin_token, user_token)
        try:
            yield node
        finally:
            for client in node.clients:
                client.close()
    store.close()
