"""Every party of a job on one machine: certificates made on the fly and one node per party."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from chaihuo.core import PartyId, parse_party_id
from chaihuo.federation._grpc_node import GrpcNode, NodeConfig, TlsConfig
from chaihuo.federation._settings import FederationSettings
from chaihuo.federation._tls import KeyType, init_ca, issue_party_cert

__all__ = ["local_grpc_nodes", "make_local_pki"]


def make_local_pki(
    directory: str | os.PathLike[str],
    party_ids: Iterable[str | int],
    *,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    key_type: KeyType = "ec",
) -> dict[PartyId, TlsConfig]:
    """A fresh CA in `directory`/ca and a certificate per party in `directory`/<party id>.

    Each party's TlsConfig names a denylist file `directory`/denylist.txt (initially absent).
    """
    root = Path(directory)
    init_ca(root / "ca", key_type=key_type)
    denylist = root / "denylist.txt"
    configs: dict[PartyId, TlsConfig] = {}
    for raw in party_ids:
        party_id = parse_party_id(raw)
        files = issue_party_cert(
            root / "ca", party_id, root / party_id, hosts=hosts, key_type=key_type
        )
        configs[party_id] = TlsConfig.from_files(files, denylist=denylist)
    return configs


@contextmanager
def local_grpc_nodes(
    tls: Mapping[PartyId, TlsConfig],
    *,
    settings: FederationSettings | None = None,
    host: str = "127.0.0.1",
) -> Iterator[tuple[dict[PartyId, GrpcNode], dict[str, str]]]:
    """Start one mTLS node per party on free loopback ports; yields (nodes, roster addresses)."""
    nodes: dict[PartyId, GrpcNode] = {}
    try:
        for party_id, config in tls.items():
            node_config = NodeConfig(
                party_id=party_id,
                listen=f"{host}:0",
                tls=config,
                settings=settings or FederationSettings(),
            )
            nodes[party_id] = GrpcNode(node_config).start()
        yield nodes, {party_id: node.address for party_id, node in nodes.items()}
    finally:
        for node in nodes.values():
            node.stop(grace=0)
