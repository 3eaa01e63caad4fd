"""A node's gateway: tokens, one node playing two roles, large payloads, cancellation, release."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from chaihuo.core import ConfigError, PartyId, Role
from chaihuo.federation import (
    BytesCodec,
    Codec,
    DuplicateSendError,
    FederationError,
    FederationSettings,
    GrpcNode,
    JobCancelledError,
    Party,
    PermissionDeniedError,
    ReceiveTimeoutError,
    RelayFederation,
    party_server_name,
)
from chaihuo.federation._relay import GET_METHOD, REMOTE_METHOD, TOKEN_METADATA

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
ROSTER = (GUEST, HOST)
FAST = FederationSettings(send_timeout_s=10, receive_timeout_s=10)
MB = 1_000_000


@pytest.fixture
def two_nodes(start_node: Any) -> tuple[GrpcNode, GrpcNode, dict[str, str]]:
    guest, host = start_node("9999", FAST), start_node("10000", FAST)
    return guest, host, {"9999": guest.address, "10000": host.address}


@pytest.fixture
def security_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="chaihuo.security"):
        yield caplog


def _relay(
    node: GrpcNode,
    job: str,
    party: Party,
    addresses: dict[str, str],
    roster: Sequence[Party] = ROSTER,
    *,
    codec: Codec | None = None,
    token: str | None = None,
) -> RelayFederation:
    gateway = node.gateway()
    token = token or gateway.grant(job, [party], roster, addresses, FAST)
    return RelayFederation(gateway.address, token, job, party, roster, codec=codec, settings=FAST)


def _events(log: pytest.LogCaptureFixture, kind: str) -> list[logging.LogRecord]:
    return [r for r in log.records if getattr(r, "kind", None) == kind]


def test_the_gateway_listens_on_a_unix_socket_in_a_private_folder(two_nodes: Any) -> None:
    guest, _, _ = two_nodes
    address = guest.gateway().address
    assert address.startswith("unix:")
    folder = Path(address.removeprefix("unix:")).parent
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    guest.stop(grace=0)
    assert not folder.exists()


def test_loopback_fallback_and_only_local_addresses(start_node: Any) -> None:
    node = start_node("9999", FAST)
    assert node.gateway(listen="127.0.0.1:0").address.startswith("127.0.0.1:")
    other = start_node("10000", FAST)
    with pytest.raises(ConfigError, match="this machine only"):
        other.gateway(listen="0.0.0.0:0")


def test_a_token_is_required_and_refusals_are_logged(
    two_nodes: Any, security_log: pytest.LogCaptureFixture
) -> None:
    guest, _, addresses = two_nodes
    gateway = guest.gateway()
    token = gateway.grant("job-auth", [GUEST], ROSTER, addresses, FAST)
    forged = _relay(guest, "job-auth", GUEST, addresses, token="forged-" + token[:8])
    with pytest.raises(PermissionDeniedError, match="unknown or revoked"):
        forged.remote(1, "x", [HOST])
    with pytest.raises(PermissionDeniedError, match="unknown or revoked"):
        forged.get("x", [HOST], timeout=1)
    channel = grpc.insecure_channel(gateway.address)
    with pytest.raises(grpc.RpcError) as info:  # no token at all
        list(channel.unary_stream(GET_METHOD)(b"H{}", timeout=5))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    channel.close()
    events = _events(security_log, "permission_denied")
    assert len(events) == 3
    assert all(token not in r.getMessage() and token[:8] not in r.getMessage() for r in events)
    assert "no gateway token" in events[2].getMessage()


def test_a_revoked_token_is_refused(two_nodes: Any, security_log: pytest.LogCaptureFixture) -> None:
    guest, host, addresses = two_nodes
    token = guest.gateway().grant("job-revoke", [GUEST], ROSTER, addresses, FAST)
    sender = _relay(guest, "job-revoke", GUEST, addresses, token=token)
    receiver = _relay(host, "job-revoke", HOST, addresses)
    sender.remote("before", "a", [HOST])
    guest.gateway().revoke(token)
    with pytest.raises(PermissionDeniedError):
        sender.remote("after", "b", [HOST])
    assert receiver.get("a", [GUEST]) == ["before"]
    assert len(_events(security_log, "permission_denied")) == 1
    assert _events(security_log, "permission_denied")[0].job == "job-revoke"  # type: ignore[attr-defined]


def test_a_token_allows_only_its_job_and_its_parties(
    two_nodes: Any, security_log: pytest.LogCaptureFixture
) -> None:
    guest, _, addresses = two_nodes
    roster = (GUEST, HOST, Party(Role.ARBITER, PartyId("9999")))
    gateway = guest.gateway()
    token = gateway.grant("job-a", [GUEST], roster, addresses, FAST)
    gateway.grant("job-b", [GUEST], roster, addresses, FAST)
    gateway.grant("job-a", [roster[2]], roster, addresses, FAST)
    other_job = _relay(guest, "job-b", GUEST, addresses, roster, token=token)
    with pytest.raises(PermissionDeniedError, match="does not allow guest:9999 of job job-b"):
        other_job.remote(1, "x", [HOST])
    other_role = _relay(guest, "job-a", roster[2], addresses, roster, token=token)
    with pytest.raises(PermissionDeniedError, match="does not allow arbiter:9999"):
        other_role.get("x", [HOST], timeout=1)
    events = _events(security_log, "permission_denied")
    assert [(r.party, r.job) for r in events] == [  # type: ignore[attr-defined]
        ("guest:9999", "job-b"),
        ("arbiter:9999", "job-a"),
    ]


def test_malformed_frames_are_refused_and_logged(
    two_nodes: Any, security_log: pytest.LogCaptureFixture
) -> None:
    guest, _, addresses = two_nodes
    gateway = guest.gateway()
    token = gateway.grant("job-garbage", [GUEST], ROSTER, addresses, FAST)
    channel = grpc.insecure_channel(gateway.address)
    pickle_like = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94."
    with pytest.raises(grpc.RpcError) as info:
        channel.stream_unary(REMOTE_METHOD)(
            iter([pickle_like]), timeout=5, metadata=((TOKEN_METADATA, token),)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    channel.close()
    assert len(_events(security_log, "malformed")) == 1


def test_guest_and_host_on_one_node(start_node: Any) -> None:
    node = start_node("9999", FAST)
    guest, host = Party(Role.GUEST, PartyId("9999")), Party(Role.HOST, PartyId("9999"))
    roster, addresses = (guest, host), {"9999": node.address}
    feds = {p: _relay(node, "toy", p, addresses, roster) for p in roster}
    feds[guest].remote({"w": np.arange(3.0)}, "toy.w", [host])
    feds[host].remote("ack", "toy.ack", [guest])
    (got,) = feds[host].get("toy.w", [guest])
    assert isinstance(got, dict) and np.array_equal(got["w"], np.arange(3.0))
    assert feds[guest].get("toy.ack", [host]) == ["ack"]
    stats = node.stats("toy")
    assert (stats.applied, stats.duplicates_applied) == (2, 0)


def test_a_second_task_of_the_job_cannot_resend_a_tag(two_nodes: Any) -> None:
    guest, host, addresses = two_nodes
    first = _relay(guest, "job-tasks", GUEST, addresses)
    receiver = _relay(host, "job-tasks", HOST, addresses)
    first.remote([1, 2], "psi_0.ids", [HOST])
    first.close()
    second = _relay(guest, "job-tasks", GUEST, addresses)  # the next task, its own token
    with pytest.raises(DuplicateSendError, match=r"psi_0\.ids"):
        second.remote([1, 2], "psi_0.ids", [HOST])
    second.remote([3], "lr_0.w", [HOST])
    assert receiver.get("psi_0.ids", [GUEST]) == [[1, 2]]
    assert receiver.get("lr_0.w", [GUEST]) == [[3]]


def _blocked_get(fed: RelayFederation) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            fed.get("never", [GUEST], timeout=8)
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)
    return waiter, errors


def test_cancelling_the_job_on_the_node_wakes_a_blocked_get(two_nodes: Any) -> None:
    _, host, addresses = two_nodes
    receiver = _relay(host, "job-cancel", HOST, addresses)
    waiter, errors = _blocked_get(receiver)
    started = time.monotonic()
    host.cancel_job("job-cancel", "stopped by the user")
    waiter.join(3)
    assert time.monotonic() - started < 2
    assert len(errors) == 1 and isinstance(errors[0], JobCancelledError)
    assert "stopped by the user" in str(errors[0])


def test_stopping_the_node_wakes_a_blocked_get(two_nodes: Any) -> None:
    _, host, addresses = two_nodes
    waiter, errors = _blocked_get(_relay(host, "job-stop", HOST, addresses))
    host.stop(grace=1.0)
    waiter.join(3)
    assert len(errors) == 1 and isinstance(errors[0], JobCancelledError)
    assert "the node stopped" in str(errors[0])


def test_closing_a_job_releases_its_buffers(
    two_nodes: Any, security_log: pytest.LogCaptureFixture
) -> None:
    guest, host, addresses = two_nodes
    sender = _relay(guest, "job-done", GUEST, addresses, codec=BytesCodec())
    receiver = _relay(host, "job-done", HOST, addresses, codec=BytesCodec())
    for index in range(3):
        sender.remote(b"x" * MB, f"unread.{index}", [HOST])
    assert host.stats("job-done").applied == 3
    assert host.inbox.mailbox("job-done").buffered_bytes == 3 * MB
    waiter, errors = _blocked_get(receiver)
    host.gateway().close_job("job-done")
    waiter.join(3)
    assert len(errors) == 1 and isinstance(errors[0], JobCancelledError)
    assert "job-done" not in host.inbox.jobs() and host.gateway().jobs() == []
    with pytest.raises(JobCancelledError, match="finished"):  # a late call of the same task
        receiver.get("unread.0", [GUEST], timeout=1)
    with pytest.raises(JobCancelledError):  # the job's mailbox is gone for good
        host.gateway().grant("job-done", [HOST], ROSTER, addresses, FAST)
    with pytest.raises(JobCancelledError):  # and the partner's messages are refused
        sender.remote(b"late", "late", [HOST])
    assert _events(security_log, "permission_denied") == []


def test_closing_the_relay_ends_its_calls(two_nodes: Any) -> None:
    _, host, addresses = two_nodes
    receiver = _relay(host, "job-close", HOST, addresses)
    waiter, errors = _blocked_get(receiver)
    receiver.close()
    waiter.join(3)
    assert len(errors) == 1 and type(errors[0]) is FederationError
    other = _relay(host, "job-close", HOST, addresses)  # the node-side endpoint still serves
    with pytest.raises(ReceiveTimeoutError):
        other.get("never", [GUEST], timeout=0.2)


def test_add_handlers_serves_another_service_on_the_node(start_node: Any) -> None:
    node = start_node("9999", FAST, serve=False)
    echo = grpc.unary_unary_rpc_method_handler(lambda request, _: request)
    node.add_handlers([grpc.method_handlers_generic_handler("test.Echo", {"Echo": echo})])
    node.start()
    with pytest.raises(ConfigError, match="before the node starts"):
        node.add_handlers([])
    files = node.config.tls
    credentials = grpc.ssl_channel_credentials(
        files.ca_cert.read_bytes(), files.key.read_bytes(), files.cert.read_bytes()
    )
    options = [("grpc.ssl_target_name_override", party_server_name("9999"))]
    with grpc.secure_channel(node.address, credentials, options) as channel:
        assert channel.unary_unary("/test.Echo/Echo")(b"ping", timeout=5) == b"ping"


def _payload(size: int) -> bytes:
    block = np.random.default_rng(7).integers(0, 256, MB, dtype=np.uint8).tobytes()
    return b"".join(block[i:] + block[:i] for i in range(size // MB))


def test_a_200_mb_payload_through_both_gateways(two_nodes: Any) -> None:
    guest, host, addresses = two_nodes
    payload = _payload(200 * MB)
    digest = hashlib.sha256(payload).digest()
    sender = _relay(guest, "job-big", GUEST, addresses, codec=BytesCodec())
    receiver = _relay(host, "job-big", HOST, addresses, codec=BytesCodec())
    sender.remote(payload, "big", [HOST])
    del payload
    (got,) = receiver.get("big", [GUEST])
    assert isinstance(got, bytes | bytearray) and len(got) == 200 * MB
    assert hashlib.sha256(got).digest() == digest
