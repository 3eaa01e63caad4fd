"""Refused connections and requests reach the `chaihuo.security` log, rate-limited per peer."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    FederationSettings,
    GrpcNode,
    Party,
    PeerUnreachableError,
    RetryPolicy,
    TlsConfig,
    make_local_pki,
    party_server_name,
)
from chaihuo.federation._proto import federation_pb2 as pb
from chaihuo.serde import SerdeError

SEND_METHOD = "/chaihuo.federation.v1.FederationNode/Send"
GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
JOB = "job-sec"
# Handshake refusals look like UNAVAILABLE and are retried until the send deadline: keep it short.
SHORT = FederationSettings(send_timeout_s=1.0, retry=RetryPolicy(initial_backoff_s=0.05))
RawSend = Callable[..., bytes]


class _Keep(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def security_log() -> Iterator[list[logging.LogRecord]]:
    """Every record of the `chaihuo.security` logger while the test runs (propagation aside)."""
    handler = _Keep()
    logger = logging.getLogger("chaihuo.security")
    level = logger.level
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def raw_send() -> Iterator[RawSend]:
    """Send hand-made chunks to a node's Send RPC as a client holding `tls` (channels reused)."""
    channels: dict[tuple[str, Path], grpc.Channel] = {}

    def send(address: str, chunks: Sequence[bytes], *, tls: TlsConfig, timeout: float = 5) -> bytes:
        channel = channels.get((address, tls.cert))
        if channel is None:
            creds = grpc.ssl_channel_credentials(
                tls.ca_cert.read_bytes(), tls.key.read_bytes(), tls.cert.read_bytes()
            )
            options = [("grpc.ssl_target_name_override", party_server_name("10000"))]
            channel = channels[(address, tls.cert)] = grpc.secure_channel(address, creds, options)
        answer: bytes = channel.stream_unary(SEND_METHOD)(iter(chunks), timeout=timeout)
        return answer

    yield send
    for channel in channels.values():
        channel.close()


def _chunk(src: str, *, role: str = "guest", data: bytes = b"", size: int | None = None) -> bytes:
    envelope = pb.Envelope(
        job_id=JOB,
        tag=f"t.{time.monotonic_ns()}",
        src=pb.PartyRef(role=role, party_id=src),
        dst=pb.PartyRef(role="host", party_id="10000"),
        seq=1,
        chunk_count=1,
        payload_size=len(data) if size is None else size,
        digest=hashlib.sha256(data).digest(),
    )
    return pb.Chunk(envelope=envelope, data=data).SerializeToString()


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {**vars(record), "message": record.getMessage()}


def _events(records: list[logging.LogRecord], node: str, kind: str) -> list[dict[str, Any]]:
    """The (not summary) records of one kind that one node logged, as dicts of their fields."""
    return [
        _fields(r)
        for r in records
        if getattr(r, "node", None) == node
        and getattr(r, "kind", None) == kind
        and not hasattr(r, "suppressed")
    ]


def _refused(raw_send: RawSend, node: GrpcNode, chunk: bytes, tls: TlsConfig) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        raw_send(node.address, [chunk], tls=tls)
    return info.value.code()


def test_sender_not_matching_its_certificate(start_node, raw_send, pki, security_log) -> None:
    host = start_node("10000")
    code = _refused(raw_send, host, _chunk("9999"), pki["10001"])  # 10001 claims to be 9999
    assert code == grpc.StatusCode.PERMISSION_DENIED
    (event,) = _events(security_log, "10000", "permission_denied")
    assert event["peer"].startswith("127.0.0.1:")
    assert event["party"] == "guest:9999" and event["job"] == JOB
    assert event["certificate"].startswith("CN=10001 serial=")
    assert "does not match the certificate of party 10001" in event["reason"]
    assert "guest:9999" in event["message"] and "CN=10001" in event["message"]


def test_sender_outside_the_roster(start_node, raw_send, pki, security_log) -> None:
    host = start_node("10000")
    addresses = {"9999": "127.0.0.1:1", "10000": host.address}
    with host.federation(JOB, HOST, [GUEST, HOST], addresses):
        code = _refused(raw_send, host, _chunk("10001", role="host"), pki["10001"])
    assert code == grpc.StatusCode.NOT_FOUND
    (event,) = _events(security_log, "10000", "permission_denied")
    assert event["party"] == "host:10001" and "not in job" in event["reason"]
    assert event["certificate"].startswith("CN=10001")


def test_oversized_message(start_node, raw_send, pki, security_log) -> None:
    host = start_node("10000", FederationSettings(max_payload_bytes=1 << 20))
    code = _refused(raw_send, host, _chunk("9999", size=1 << 40), pki["9999"])
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    (event,) = _events(security_log, "10000", "too_large")
    assert event["peer"].startswith("127.0.0.1:") and event["party"] == "guest:9999"
    assert event["certificate"].startswith("CN=9999")


def test_malformed_envelope(start_node, raw_send, pki, security_log) -> None:
    host = start_node("10000")
    pickle_like = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94."
    code = _refused(raw_send, host, pickle_like, pki["9999"])
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    (event,) = _events(security_log, "10000", "malformed")
    assert event["party"] is None and event["certificate"].startswith("CN=9999")
    assert event["peer"].startswith("127.0.0.1:")


def test_undecodable_payload_on_arrival_and_after(start_node, raw_send, pki, security_log) -> None:
    host = start_node("10000")
    addresses = {"9999": "127.0.0.1:1", "10000": host.address}
    late = _chunk("9999", data=b"not a serde payload")  # arrives before the endpoint exists
    raw_send(host.address, [late], tls=pki["9999"])
    assert _events(security_log, "10000", "malformed") == []
    with host.federation(JOB, HOST, [GUEST, HOST], addresses) as fed:
        code = _refused(raw_send, host, _chunk("9999", data=b"garbage"), pki["9999"])
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        on_arrival = _events(security_log, "10000", "malformed")
        assert len(on_arrival) == 1 and on_arrival[0]["party"] == "guest:9999"
        tag = pb.Chunk.FromString(late).envelope.tag
        with pytest.raises(SerdeError, match="not a chaihuo payload"):
            fed.get(tag, [GUEST], timeout=5)
    after = _events(security_log, "10000", "malformed")[1:]
    assert len(after) == 1 and after[0]["peer"].startswith("127.0.0.1:")
    assert after[0]["party"] == "guest:9999" and after[0]["certificate"].startswith("CN=9999")


def _self_signed(directory: Path, party: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, party)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{party}.pem", directory / f"{party}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _send_over(start_node, sender_tls: TlsConfig, host: GrpcNode) -> None:
    sender = start_node("9999", SHORT, tls=sender_tls)
    addresses = {"9999": sender.address, "10000": host.address}
    fed = sender.federation(JOB, GUEST, [GUEST, HOST], addresses)
    with fed, pytest.raises(PeerUnreachableError):
        fed.remote(1, f"t.{time.monotonic_ns()}", [HOST])


@pytest.mark.parametrize("which", ["foreign CA", "self-signed", "server of a foreign CA"])
def test_failed_tls_handshakes_are_logged_by_the_sending_node(
    which, start_node, pki, security_log, tmp_path: Path
) -> None:
    real = pki[PartyId("9999")]
    rogue = make_local_pki(tmp_path / "rogue", ["9999", "10000"])
    host_tls = pki[PartyId("10000")]
    sender_tls = real
    if which == "foreign CA":
        sender_tls = TlsConfig(ca_cert=real.ca_cert, cert=rogue["9999"].cert, key=rogue["9999"].key)
    elif which == "self-signed":
        cert, key = _self_signed(tmp_path / "self", "9999")
        sender_tls = TlsConfig(ca_cert=real.ca_cert, cert=cert, key=key)
    else:  # the sender refuses the server: it trusts the real CA, the server is not of it
        rogue_host = rogue[PartyId("10000")]
        host_tls = TlsConfig(ca_cert=host_tls.ca_cert, cert=rogue_host.cert, key=rogue_host.key)
    host = start_node("10000", tls=host_tls)
    _send_over(start_node, sender_tls, host)
    events = _events(security_log, "9999", "tls_handshake_failed")
    assert events, [r.getMessage() for r in security_log]
    assert {e["peer"] for e in events} == {host.address}
    assert {e["party"] for e in events} == {"10000"} and events[0]["job"] == JOB


def test_a_flood_is_rate_limited_with_a_summary(start_node, raw_send, pki, security_log) -> None:
    limits = FederationSettings(security_log_burst=5, security_log_window_s=3600)
    host = start_node("10000", limits)
    for _ in range(200):
        assert (
            _refused(raw_send, host, b"\xff" * 16, pki["9999"]) == grpc.StatusCode.INVALID_ARGUMENT
        )
    assert len(_events(security_log, "10000", "malformed")) == 5
    host.stop()  # ends the window early: the node summarises what it held back
    summaries = [_fields(r) for r in security_log if hasattr(r, "suppressed")]
    assert len(summaries) == 1 and summaries[0]["suppressed"] == 195
    assert summaries[0]["kind"] == "malformed" and summaries[0]["peer"] == "127.0.0.1"
    assert "195 more malformed events from 127.0.0.1 suppressed" in summaries[0]["message"]
