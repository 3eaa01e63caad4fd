"""Fixtures for the federation reliability checks: a session PKI, nodes, and a raw gRPC client."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import grpc
import numpy as np
import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    FaultPlan,
    Federation,
    FederationSettings,
    GrpcNode,
    MemoryHub,
    NodeConfig,
    Party,
    ReceiveStats,
    TlsConfig,
    local_grpc_nodes,
    make_local_pki,
    party_server_name,
)

SEND_METHOD = "/chaihuo.federation.v1.FederationNode/Send"
NodeFactory = Callable[..., GrpcNode]
RawSend = Callable[..., bytes]


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("federation-pki")


@pytest.fixture(scope="session")
def pki(pki_dir: Path) -> dict[PartyId, TlsConfig]:
    """CA in pki_dir/ca; parties 9999, 10000, 10001; shared denylist pki_dir/denylist.txt."""
    return make_local_pki(pki_dir, ["9999", "10000", "10001"])


@pytest.fixture
def node_factory(pki: dict[PartyId, TlsConfig]) -> Iterator[NodeFactory]:
    """Start nodes (mTLS from the session PKI unless `tls` is given); all stopped afterwards."""
    started: list[GrpcNode] = []

    def start(
        party_id: str,
        *,
        tls: TlsConfig | None = None,
        settings: FederationSettings | None = None,
        **kwargs: object,
    ) -> GrpcNode:
        config = NodeConfig(
            party_id=party_id,
            tls=tls or pki[PartyId(party_id)],
            settings=settings or FederationSettings(send_timeout_s=10, receive_timeout_s=10),
        )
        node = GrpcNode(config, **kwargs).start()  # type: ignore[arg-type]
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop(grace=0)


@pytest.fixture
def raw_send() -> Iterator[RawSend]:
    """Send hand-made chunk bytes to a node's Send RPC, as a client holding `tls`."""
    channels: list[grpc.Channel] = []

    def send(
        address: str,
        chunks: Sequence[bytes],
        *,
        tls: TlsConfig,
        server_party: str,
        timeout: float = 5.0,
    ) -> bytes:
        creds = grpc.ssl_channel_credentials(
            tls.ca_cert.read_bytes(), tls.key.read_bytes(), tls.cert.read_bytes()
        )
        options = [("grpc.ssl_target_name_override", party_server_name(server_party))]
        channel = grpc.secure_channel(address, creds, options)
        channels.append(channel)
        answer: bytes = channel.stream_unary(SEND_METHOD)(iter(chunks), timeout=timeout)
        return answer

    yield send
    for channel in channels:
        channel.close()


class Cluster:
    """Endpoints of one job on either backend, with every node's receive counters."""

    def __init__(self, hub: MemoryHub | None, nodes: dict[PartyId, GrpcNode]) -> None:
        self.hub = hub
        self.nodes = nodes
        self.opened: list[Federation] = []

    def open(
        self,
        job_id: str,
        parties: Sequence[Party],
        *,
        settings: FederationSettings,
        faults: FaultPlan | None = None,
        only: Sequence[Party] | None = None,
    ) -> dict[Party, Federation]:
        """Endpoints of `job_id` for each of `parties` (or only those in `only`)."""
        addresses = {pid: node.address for pid, node in self.nodes.items()}
        feds: dict[Party, Federation] = {}
        for index, party in enumerate(parties if only is None else only):
            plan = (
                None if faults is None else faults.model_copy(update={"seed": faults.seed + index})
            )
            if self.hub is not None:
                feds[party] = self.hub.federation(
                    job_id, party, parties, faults=plan, settings=settings
                )
            else:
                feds[party] = self.nodes[party.party_id].federation(
                    job_id, party, parties, addresses, faults=plan, settings=settings
                )
        self.opened.extend(feds.values())
        return feds

    def stats(self, job_id: str) -> ReceiveStats:
        """Counters summed over every node (party id) of the job."""
        total = ReceiveStats()
        party_ids = list(self.nodes) if self.hub is None else ["9999", "10000", "10001"]
        for party_id in party_ids:
            one = (
                self.hub.stats(PartyId(party_id), job_id)
                if self.hub is not None
                else self.nodes[PartyId(party_id)].stats(job_id)
            )
            for name in ("applied", "duplicates_received", "duplicates_applied", "rejected"):
                setattr(total, name, getattr(total, name) + getattr(one, name))
        return total


@pytest.fixture(scope="session")
def session_nodes(pki: dict[PartyId, TlsConfig]) -> Iterator[dict[PartyId, GrpcNode]]:
    with local_grpc_nodes(pki) as (nodes, _):
        yield nodes


@pytest.fixture(params=["memory", "grpc"])
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    if request.param == "memory":
        chosen = Cluster(MemoryHub(), {})
    else:
        chosen = Cluster(None, request.getfixturevalue("session_nodes"))
    yield chosen
    for fed in chosen.opened:
        fed.close()


GUEST = Party(Role.GUEST, PartyId("9999"))
HOSTS = (Party(Role.HOST, PartyId("10000")), Party(Role.HOST, PartyId("10001")))
ARBITER = Party(Role.ARBITER, PartyId("10000"))  # shares party 10000 (and its node) with a host
JOB_PARTIES = (GUEST, *HOSTS, ARBITER)
ROUNDS = 8
LOGICAL_MESSAGES = ROUNDS * 5  # per round: guest->2 hosts, 2 hosts->arbiter, arbiter->guest


def _toy_job(feds: dict[Party, Federation]) -> dict[str, object]:
    """A few rounds of a vertical-LR-shaped exchange; returns every party's final state."""
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def guest(fed: Federation) -> None:
        weights = np.zeros(4)
        for r in range(ROUNDS):
            fed.remote(weights, f"round.{r}.weights", HOSTS)
            (total,) = fed.get(f"round.{r}.total", [ARBITER])
            weights = weights - 0.1 * np.asarray(total)
        results["guest"] = weights

    def host(index: int, fed: Federation) -> None:
        data = np.random.default_rng(index).normal(size=(16, 4))
        for r in range(ROUNDS):
            (weights,) = fed.get(f"round.{r}.weights", [GUEST])
            fed.remote(data.T @ (data @ weights - 1.0) / 16, f"round.{r}.grad", [ARBITER])

    def arbiter(fed: Federation) -> None:
        sums = []
        for r in range(ROUNDS):
            grads = fed.get(f"round.{r}.grad", list(HOSTS))
            total = np.sum(grads, axis=0)
            sums.append(float(total.sum()))
            fed.remote(total, f"round.{r}.total", [GUEST])
        results["arbiter"] = sums

    def run(body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as exc:
            errors.append(exc)

    bodies = [
        lambda: guest(feds[GUEST]),
        lambda: host(0, feds[HOSTS[0]]),
        lambda: host(1, feds[HOSTS[1]]),
        lambda: arbiter(feds[ARBITER]),
    ]
    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


class ToyJob:
    """The toy 4-endpoint job (guest, 2 hosts, an arbiter sharing a host's party)."""

    parties = JOB_PARTIES
    logical_messages = LOGICAL_MESSAGES
    run = staticmethod(_toy_job)


@pytest.fixture
def toy_job() -> type[ToyJob]:
    return ToyJob
