"""R04: oversize messages and full receive buffers are refused (RESOURCE_EXHAUSTED), serving on."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import FederationSettings, MessageTooLargeError, Party
from chaihuo.federation._proto import federation_pb2 as pb

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
MiB = 1 << 20
SMALL = FederationSettings(
    send_timeout_s=5,
    max_payload_bytes=2 * MiB,
    max_grpc_message_bytes=MiB,
    chunk_bytes=256 * 1024,
    job_buffer_bytes=3 * MiB,
)


def _envelope(job: str, tag: str, size: int, chunks: int = 1) -> pb.Envelope:
    return pb.Envelope(
        job_id=job,
        tag=tag,
        src=pb.PartyRef(role="guest", party_id="9999"),
        dst=pb.PartyRef(role="host", party_id="10000"),
        seq=1,
        chunk_count=chunks,
        payload_size=size,
        digest=hashlib.sha256(b"").digest(),
    )


@pytest.fixture
def pair(node_factory):
    # The sender allows 2 GiB payloads; its chunks fit the receiver's 1 MiB gRPC messages.
    guest_node = node_factory("9999", settings=FederationSettings(chunk_bytes=256 * 1024))
    host_node = node_factory("10000", settings=SMALL)
    addresses = {"9999": guest_node.address, "10000": host_node.address}
    guest = guest_node.federation("job-r04", GUEST, [GUEST, HOST], addresses)
    host = host_node.federation("job-r04", HOST, [GUEST, HOST], addresses)
    yield guest, host, host_node
    guest.close()
    host.close()


def _still_serving(guest, host, tag: str) -> None:
    guest.remote(b"ok", tag, [HOST])
    assert host.get(tag, [GUEST], timeout=5) == [b"ok"]


def test_r04_oversize_local_send_is_refused_before_sending(pair) -> None:
    guest, _, host_node = pair
    small_sender = FederationSettings(max_payload_bytes=1000)
    with pytest.raises(MessageTooLargeError, match="1000"):
        guest._settings = small_sender  # the sender's own limit applies before any byte leaves
        guest.remote(b"x" * 2000, "local", [HOST])
    assert host_node.stats("job-r04").applied == 0


def test_r04_payload_above_the_peer_limit_is_resource_exhausted(pair) -> None:
    guest, host, _ = pair
    with pytest.raises(MessageTooLargeError, match="exceeds the limit") as info:
        guest.remote(b"x" * (2 * MiB + 1), "too.big", [HOST])
    assert info.value.spec.grpc_status == "RESOURCE_EXHAUSTED"
    _still_serving(guest, host, "after.too.big")


def test_r04_declared_size_is_refused_before_any_data(pair, raw_send, pki) -> None:
    guest, host, host_node = pair
    head = pb.Chunk(envelope=_envelope("job-r04", "huge", 1 << 40, 1 << 20)).SerializeToString()
    with pytest.raises(grpc.RpcError) as info:
        raw_send(host_node.address, [head], tls=pki["9999"], server_party="10000")
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    _still_serving(guest, host, "after.declared")


def test_r04_grpc_message_above_the_receive_limit_is_refused(pair, raw_send, pki) -> None:
    guest, host, host_node = pair
    data = b"x" * (MiB + 10)
    chunk = pb.Chunk(envelope=_envelope("job-r04", "fat.chunk", len(data)), data=data)
    with pytest.raises(grpc.RpcError) as info:
        raw_send(
            host_node.address, [chunk.SerializeToString()], tls=pki["9999"], server_party="10000"
        )
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    _still_serving(guest, host, "after.fat.chunk")


def test_r04_more_data_than_declared_is_invalid(pair, raw_send, pki) -> None:
    guest, host, host_node = pair
    chunk = pb.Chunk(envelope=_envelope("job-r04", "liar", 4), data=b"12345678")
    with pytest.raises(grpc.RpcError) as info:
        raw_send(
            host_node.address, [chunk.SerializeToString()], tls=pki["9999"], server_party="10000"
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _still_serving(guest, host, "after.liar")


def test_r04_receive_buffer_per_job_is_bounded(pair) -> None:
    guest, host, _ = pair
    block = b"y" * MiB
    guest.remote(block, "b.0", [HOST])
    guest.remote(block, "b.1", [HOST])
    with pytest.raises(MessageTooLargeError, match="receive buffer"):
        guest.remote(block, "b.2", [HOST])  # the third MiB plus encoding overhead exceeds 3 MiB
    assert host.get("b.0", [GUEST]) == [block]  # draining frees space ...
    guest.remote(block, "b.2", [HOST])  # ... and the refused tag can be sent again
    assert host.get("b.1", [GUEST]) == [block]
    assert host.get("b.2", [GUEST]) == [block]
