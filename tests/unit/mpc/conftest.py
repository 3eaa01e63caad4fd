"""In-memory channel hub for MPC tests: threads + queues, every object round-tripped by serde."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from chaihuo.crypto.paillier import PaillierKeyPair, generate_keypair
from chaihuo.crypto.psi import RSAPrivateKey, generate_rsa_key
from chaihuo.mpc import DealerTriples, PaillierTriples, Session, serve_triples
from chaihuo.serde import dumps, loads

Tag = tuple[str, ...]


class PeerFailed(Exception):
    """Raised in a party blocked on `get` after another party has failed."""


class DuplicateSend(Exception):
    """The same tag was sent twice to the same peer (the Channel contract forbids it)."""


class Hub:
    """Delivers payloads between named parties and records what each party receives."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._queues: dict[tuple[str, str, Tag], queue.Queue[bytes]] = {}
        self._sent: set[tuple[str, str, Tag]] = set()
        self._lock = threading.Lock()
        self.failed = threading.Event()
        self.received: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
        # (sender, name) -> function applied to the object before it is encoded.
        self.tamper: dict[tuple[str, str], Callable[[Any], Any]] = {}

    def _queue(self, key: tuple[str, str, Tag]) -> queue.Queue[bytes]:
        with self._lock:
            return self._queues.setdefault(key, queue.Queue())

    def channel(self, me: str, peer: str) -> MemoryChannel:
        return MemoryChannel(self, me, peer, ())

    def payloads(self, party: str) -> list[bytes]:
        return [payload for _, payload in self.received[party]]

    # -- running parties (each in its own thread) ------------------------------------------

    def run_collect(self, parties: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        """Run each party in its own thread; return each result or the exception it raised."""
        results: dict[str, Any] = {}

        def body(name: str, fn: Callable[[], Any]) -> None:
            try:
                results[name] = fn()
            except BaseException as exc:  # handed back to the test
                results[name] = exc
                self.failed.set()

        threads = [
            threading.Thread(target=body, args=item, daemon=True) for item in parties.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.timeout + 30)
        return results

    def run(self, parties: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        """Like `run_collect`, but re-raise the first real failure."""
        results = self.run_collect(parties)
        errors = [v for v in results.values() if isinstance(v, BaseException)]
        real = [e for e in errors if not isinstance(e, PeerFailed)]
        if errors:
            raise (real or errors)[0]
        return results

    def session(self, index: int, n: int, triples: Any = "dealer") -> Session:
        """Party `index` of n: channels to every peer, a dealer client when triples == "dealer"."""
        peers = {j: self.channel(party(index), party(j)) for j in range(n) if j != index}
        source: Any = triples
        if triples == "dealer":
            source = DealerTriples(self.channel(party(index), "dealer"))
        return Session(index, peers, triples=source)

    def spmd(
        self, n: int, program: Callable[[Session], Any], *, triples: Any = "dealer"
    ) -> list[Any]:
        """Run `program(session)` on n parties (plus a dealer thread when triples == "dealer").

        `triples` is "dealer", None, or a list with one triple source per party.
        """

        def member(i: int) -> Callable[[], Any]:
            def go() -> Any:
                source = triples[i] if isinstance(triples, list) else triples
                with self.session(i, n, source) as session:
                    return program(session)

            return go

        parties: dict[str, Callable[[], Any]] = {party(i): member(i) for i in range(n)}
        if triples == "dealer":
            channels = [self.channel("dealer", party(i)) for i in range(n)]
            parties["dealer"] = lambda: serve_triples(channels)
        results = self.run(parties)
        return [results[party(i)] for i in range(n)]


def party(i: int) -> str:
    return f"p{i}"


class MemoryChannel:
    """One party's channel to one peer in one namespace (implements chaihuo.mpc.Channel)."""

    def __init__(self, hub: Hub, me: str, peer: str, path: Tag) -> None:
        self.hub, self.me, self.peer, self.path = hub, me, peer, path

    def put(self, name: str, obj: object) -> None:
        key = (self.me, self.peer, (*self.path, name))
        with self.hub._lock:
            if key in self.hub._sent:
                raise DuplicateSend(f"{self.me} -> {self.peer}: {'.'.join(key[2])} sent twice")
            self.hub._sent.add(key)
        hook = self.hub.tamper.get((self.me, name))
        if hook is not None:
            obj = hook(obj)
        self.hub._queue(key).put(dumps(obj))

    def get(self, name: str) -> object:
        tag = (*self.path, name)
        box = self.hub._queue((self.peer, self.me, tag))
        deadline = time.monotonic() + self.hub.timeout
        while True:
            try:
                payload = box.get(timeout=0.05)
                break
            except queue.Empty:
                if self.hub.failed.is_set():
                    raise PeerFailed(f"{self.me} waiting for {'.'.join(tag)}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.me} waited too long for {'.'.join(tag)}") from None
        self.hub.received[self.me].append((".".join(tag), payload))
        return loads(payload)

    def sub(self, name: str) -> MemoryChannel:
        return MemoryChannel(self.hub, self.me, self.peer, (*self.path, name))


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture(scope="session")
def paillier_keys() -> PaillierKeyPair:
    return generate_keypair(2048)


@pytest.fixture(scope="session")
def rsa_key() -> RSAPrivateKey:
    return generate_rsa_key(2048)


@pytest.fixture
def paillier_sources(paillier_keys: PaillierKeyPair) -> list[Any]:
    """Fresh two-party Paillier triple sources (party 0 holds the shared test key)."""
    return [PaillierTriples(paillier_keys), PaillierTriples()]
