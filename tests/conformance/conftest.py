"""Federation conformance fixtures: `federation_backend`, over memory, gRPC and the relay."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaihuo.core import PartyId
from chaihuo.federation import (
    Codec,
    FaultPlan,
    Federation,
    FederationSettings,
    GrpcNode,
    MemoryHub,
    Party,
    ReceiveStats,
    RelayFederation,
    SerdeCodec,
    local_grpc_nodes,
    make_local_pki,
)

FAST = FederationSettings(send_timeout_s=10, receive_timeout_s=10)


class Backend:
    """Opens endpoints for a set of parties of a fresh job on one backend (9999, 10000, 10001).

    "relay": every endpoint is a RelayFederation, as in a task process of a node, through its
    own node's gateway with a token granted for that job and party. Opening a (job, party) a
    second time stands for a restarted sender outside the node (the conformance tests of
    receiver-side dedup): the node's own Endpoint, shared by every task of that job, would
    refuse the resent tag as DuplicateSendError before it leaves (see test_gateway.py), so the
    second sender is a direct endpoint of the same node while receivers stay relayed.
    """

    def __init__(
        self,
        name: str,
        hub: MemoryHub | None,
        nodes: dict[PartyId, GrpcNode],
        *,
        relay: bool = False,
    ) -> None:
        self.name = name
        self.hub = hub
        self.nodes = nodes
        self.relay = relay
        self.addresses = {pid: node.address for pid, node in nodes.items()}
        self.opened: list[Federation] = []
        self.granted: set[tuple[str, Party]] = set()

    def open(
        self,
        parties: tuple[Party, ...],
        *,
        job_id: str | None = None,
        settings: FederationSettings = FAST,
        codec: Codec | None = None,
        faults: FaultPlan | None = None,
        only: tuple[Party, ...] | None = None,
    ) -> dict[Party, Federation]:
        """Endpoints of a job among `parties` (for each party, or just those in `only`)."""
        job = job_id or f"job-{uuid.uuid4().hex[:12]}"
        feds: dict[Party, Federation] = {}
        for party in parties if only is None else only:
            if self.hub is not None:
                fed: Federation = self.hub.federation(
                    job, party, parties, codec=codec, faults=faults, settings=settings
                )
            elif self.relay and (job, party) not in self.granted:
                assert faults is None, "faults are injected between nodes, not in the relay"
                fed = self._relayed(job, party, parties, settings, codec)
            else:
                node = self.nodes[party.party_id]
                fed = node.federation(
                    job,
                    party,
                    parties,
                    self.addresses,
                    codec=codec,
                    faults=faults,
                    settings=settings,
                )
            feds[party] = fed
            self.opened.append(fed)
        return feds

    def _relayed(
        self,
        job: str,
        party: Party,
        parties: tuple[Party, ...],
        settings: FederationSettings,
        codec: Codec | None,
    ) -> Federation:
        gateway = self.nodes[party.party_id].gateway()
        token = gateway.grant(job, [party], parties, self.addresses, settings)
        self.granted.add((job, party))
        return RelayFederation(
            gateway.address,
            token,
            job,
            party,
            parties,
            codec=codec or SerdeCodec(),
            settings=settings,
        )

    def close(self) -> None:
        for fed in self.opened:
            fed.close()
        for job in {job for job, _ in self.granted}:
            for node in self.nodes.values():
                node.gateway().close_job(job)

    def cancel(self, job_id: str, party_id: PartyId) -> None:
        if self.hub is not None:
            self.hub.cancel(job_id, party_id)
        else:
            self.nodes[party_id].cancel_job(job_id)

    def stats(self, party_id: PartyId, job_id: str) -> ReceiveStats:
        if self.hub is not None:
            return self.hub.stats(party_id, job_id)
        return self.nodes[party_id].stats(job_id)


@pytest.fixture(scope="session")
def grpc_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[PartyId, GrpcNode]]:
    pki: Path = tmp_path_factory.mktemp("pki")
    tls = make_local_pki(pki, ["9999", "10000", "10001"])
    with local_grpc_nodes(tls) as (nodes, _):
        yield nodes


@pytest.fixture(params=["memory", "grpc", "relay"])
def federation_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        chosen = Backend("memory", MemoryHub(), {})
    else:
        nodes = request.getfixturevalue("grpc_nodes")
        chosen = Backend(request.param, None, nodes, relay=request.param == "relay")
    yield chosen
    chosen.close()
