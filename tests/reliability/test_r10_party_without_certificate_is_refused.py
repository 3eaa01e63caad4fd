"""R10: only parties holding an unrevoked certificate of the federation CA, naming them, get in."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import grpc
import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    FederationSettings,
    Party,
    PeerUnreachableError,
    PermissionDeniedError,
    RetryPolicy,
    TlsConfig,
    issue_party_cert,
    make_local_pki,
    party_server_name,
    revoke,
)
from chaihuo.federation._proto import federation_pb2 as pb

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
# Handshake refusals look like UNAVAILABLE and are retried until the send deadline: keep it short.
SHORT = FederationSettings(send_timeout_s=1.0, retry=RetryPolicy(initial_backoff_s=0.05))


def _attempt(node_factory, host_node, tls: TlsConfig) -> BaseException:
    """Send guest -> host from a node using `tls`; return what was raised."""
    sender = node_factory("9999", tls=tls, settings=SHORT)
    addresses = {"9999": sender.address, "10000": host_node.address}
    fed = sender.federation("job-r10", GUEST, [GUEST, HOST], addresses)
    with fed, pytest.raises(Exception) as info:
        fed.remote({"secret": 1}, f"t.{time.monotonic_ns()}", [HOST])
    return info.value


def _assert_handshake_refused(error: BaseException, host_node) -> None:
    assert isinstance(error, PeerUnreachableError), error
    assert "TLS handshake failed" in str(error) and host_node.address in str(error)
    assert host_node.stats("job-r10").applied == 0


@pytest.fixture
def host_node(node_factory):
    return node_factory("10000")


def test_r10_client_without_certificate_is_refused(host_node, pki) -> None:
    ca_only = grpc.ssl_channel_credentials(pki["9999"].ca_cert.read_bytes())
    options = [("grpc.ssl_target_name_override", party_server_name("10000"))]
    with grpc.secure_channel(host_node.address, ca_only, options) as channel:
        send = channel.stream_unary("/chaihuo.federation.v1.FederationNode/Send")
        with pytest.raises(grpc.RpcError) as info:
            send(iter([pb.Chunk().SerializeToString()]), timeout=2)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # the handshake never completed
    assert host_node.stats("job-r10").applied == 0


def test_r10_certificate_from_another_ca_is_refused(
    node_factory, host_node, pki, tmp_path: Path
) -> None:
    rogue = make_local_pki(tmp_path / "rogue", ["9999"])["9999"]
    # It trusts the real CA (so it can verify the node) but its own certificate is rogue.
    tls = TlsConfig(ca_cert=pki["9999"].ca_cert, cert=rogue.cert, key=rogue.key)
    _assert_handshake_refused(_attempt(node_factory, host_node, tls), host_node)


def test_r10_expired_certificate_is_refused(
    node_factory, host_node, pki, pki_dir: Path, tmp_path: Path
) -> None:
    ten_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    files = issue_party_cert(
        pki_dir / "ca", "9999", tmp_path, valid_from=ten_days_ago, valid_days=1
    )
    tls = TlsConfig.from_files(files)
    _assert_handshake_refused(_attempt(node_factory, host_node, tls), host_node)


def test_r10_revoked_certificate_is_refused_within_the_refresh(
    node_factory, pki, tmp_path: Path
) -> None:
    denylist = tmp_path / "denylist.txt"
    host_tls = TlsConfig(**{**pki["10000"].model_dump(), "denylist": denylist})
    fast_refresh = FederationSettings(send_timeout_s=2, denylist_refresh_s=0.2)
    host_node = node_factory("10000", tls=host_tls, settings=fast_refresh)
    sender = node_factory("9999", settings=SHORT)
    addresses = {"9999": sender.address, "10000": host_node.address}
    fed = sender.federation("job-r10", GUEST, [GUEST, HOST], addresses)
    fed.remote(1, "before", [HOST])  # accepted while valid, over a now-open connection
    revoke(denylist, pki["9999"].cert)
    time.sleep(0.3)
    with pytest.raises(PermissionDeniedError, match="revoked") as info:
        fed.remote(2, "after", [HOST])
    assert info.value.spec.grpc_status == "PERMISSION_DENIED"
    assert host_node.stats("job-r10").applied == 1
    fed.close()


def test_r10_sender_not_matching_its_certificate_is_permission_denied(
    host_node, raw_send, pki
) -> None:
    envelope = pb.Envelope(
        job_id="job-r10",
        tag="spoofed",
        src=pb.PartyRef(role="guest", party_id="9999"),  # claims to be 9999 ...
        dst=pb.PartyRef(role="host", party_id="10000"),
        seq=1,
        chunk_count=1,
        payload_size=0,
        digest=bytes(32),
    )
    chunk = pb.Chunk(envelope=envelope).SerializeToString()
    with pytest.raises(grpc.RpcError) as info:  # ... holding the certificate of 10001
        raw_send(host_node.address, [chunk], tls=pki["10001"], server_party="10000")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "does not match the certificate of party 10001" in (info.value.details() or "")
    assert host_node.stats("job-r10").applied == 0


def test_r10_server_must_be_the_party_it_is_addressed_as(node_factory, pki) -> None:
    impostor = node_factory("10001")  # a genuine party, listening where 10000 is expected
    sender = node_factory("9999", settings=SHORT)
    addresses = {"9999": sender.address, "10000": impostor.address}
    fed = sender.federation("job-r10", GUEST, [GUEST, HOST], addresses)
    with fed, pytest.raises(PeerUnreachableError, match="Hostname Verification"):
        fed.remote(1, "x", [HOST])
    assert impostor.stats("job-r10").applied == 0
