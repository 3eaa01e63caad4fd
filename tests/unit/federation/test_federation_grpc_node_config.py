"""Node construction: mTLS by default, insecure only in the dev profile, identity checks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from chaihuo.core import ConfigError, PartyId, Role
from chaihuo.federation import (
    FederationSettings,
    GrpcNode,
    NodeConfig,
    Party,
    TlsConfig,
    UnknownPartyError,
    make_local_pki,
)

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[PartyId, TlsConfig]:
    return make_local_pki(tmp_path_factory.mktemp("pki"), ["9999", "10000"])


def test_insecure_is_refused_in_prod() -> None:
    with pytest.raises(ConfigError, match="refused in the prod profile"):
        GrpcNode(NodeConfig(party_id="9999", insecure=True))
    with pytest.raises(ConfigError, match="refused in the prod profile"):
        GrpcNode(NodeConfig(party_id="9999", insecure=True, profile="prod"))


def test_tls_is_required_unless_insecure() -> None:
    with pytest.raises(ConfigError, match="mutual TLS"):
        GrpcNode(NodeConfig(party_id="9999", profile="dev"))


def test_insecure_dev_nodes_talk_and_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="chaihuo.federation"):
        guest = GrpcNode(NodeConfig(party_id="9999", insecure=True, profile="dev")).start()
        host = GrpcNode(NodeConfig(party_id="10000", insecure=True, profile="dev")).start()
    assert "WITHOUT TLS" in caplog.text
    try:
        addresses = {"9999": guest.address, "10000": host.address}
        settings = FederationSettings(send_timeout_s=5)
        with (
            guest.federation("job", GUEST, [GUEST, HOST], addresses, settings=settings) as g,
            host.federation("job", HOST, [GUEST, HOST], addresses) as h,
        ):
            g.remote([1, 2], "t", [HOST])
            assert h.get("t", [GUEST]) == [[1, 2]]
    finally:
        guest.stop(0)
        host.stop(0)


def test_certificate_must_name_the_node(pki: dict[PartyId, TlsConfig]) -> None:
    with pytest.raises(ConfigError, match="names party 10000, not 9999"):
        GrpcNode(NodeConfig(party_id="9999", tls=pki[PartyId("10000")]))


def test_missing_files_are_config_errors(tmp_path: Path) -> None:
    tls = TlsConfig(ca_cert=tmp_path / "ca.pem", cert=tmp_path / "c.pem", key=tmp_path / "k.pem")
    with pytest.raises(ConfigError, match="cannot read the CA certificate"):
        GrpcNode(NodeConfig(party_id="9999", tls=tls))


def test_endpoint_needs_addresses_and_its_own_party(pki: dict[PartyId, TlsConfig]) -> None:
    node = GrpcNode(NodeConfig(party_id="9999", tls=pki[PartyId("9999")]))
    with pytest.raises(UnknownPartyError, match="10000"):
        node.federation("job", GUEST, [GUEST, HOST], {"9999": "127.0.0.1:1"})
    with pytest.raises(UnknownPartyError, match="cannot speak for"):
        node.federation("job", HOST, [GUEST, HOST], {"9999": "a:1", "10000": "b:1"})


def test_port_in_use_is_a_config_error(pki: dict[PartyId, TlsConfig]) -> None:
    first = GrpcNode(NodeConfig(party_id="9999", tls=pki[PartyId("9999")])).start()
    try:
        second = GrpcNode(
            NodeConfig(party_id="9999", tls=pki[PartyId("9999")], listen=first.address)
        )
        with pytest.raises(ConfigError, match="cannot listen"):
            second.start()
    finally:
        first.stop(0)
