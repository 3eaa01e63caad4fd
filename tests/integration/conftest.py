"""gRPC integration fixtures: a session PKI and nodes started on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from chaihuo.core import PartyId
from chaihuo.federation import FederationSettings, GrpcNode, NodeConfig, TlsConfig, make_local_pki

StartNode = Callable[..., GrpcNode]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[PartyId, TlsConfig]:
    return make_local_pki(tmp_path_factory.mktemp("grpc-pki"), ["9999", "10000", "10001"])


@pytest.fixture
def start_node(pki: dict[PartyId, TlsConfig]) -> Iterator[StartNode]:
    """Start (or, serve=False, just build) a node (session PKI unless `tls`); all stopped after."""
    nodes: list[GrpcNode] = []

    def start(
        party_id: str,
        settings: FederationSettings | None = None,
        listen: str = "127.0.0.1:0",
        *,
        serve: bool = True,
        tls: TlsConfig | None = None,
    ) -> GrpcNode:
        config = NodeConfig(
            party_id=party_id,
            listen=listen,
            tls=tls or pki[PartyId(party_id)],
            settings=settings or FederationSettings(send_timeout_s=10, receive_timeout_s=10),
        )
        node = GrpcNode(config)
        nodes.append(node)
        return node.start() if serve else node

    yield start
    for node in nodes:
        node.stop(grace=0)
