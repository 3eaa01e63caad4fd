"""gRPC backend end to end: chunking, job routing, unreachable peers, late peers, cancellation."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import numpy as np
import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    FaultPlan,
    FederationSettings,
    JobCancelledError,
    Party,
    PeerUnreachableError,
    RetryPolicy,
)

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
PAIR = [GUEST, HOST]
KiB, MiB = 1 << 10, 1 << 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_payload_streams_in_chunks_below_the_message_limit(start_node: Any) -> None:
    # 1 MiB gRPC messages cannot carry 5 MiB: only the chunked stream gets it through.
    tight = FederationSettings(chunk_bytes=64 * KiB, max_grpc_message_bytes=MiB, send_timeout_s=10)
    guest, host = start_node("9999", tight), start_node("10000", tight, serve=False)
    chunks: list[int] = []
    real = host._service.send

    def counting(requests: Any, context: Any) -> bytes:
        def spy() -> Any:
            for raw in requests:
                chunks.append(len(raw))
                yield raw

        return bytes(real(spy(), context))

    host._service.send = counting
    host.start()
    addresses = {"9999": guest.address, "10000": host.address}
    payload = np.random.default_rng(0).integers(0, 255, 5 * MiB, dtype=np.uint8)
    with (
        guest.federation("job", GUEST, PAIR, addresses) as g,
        host.federation("job", HOST, PAIR, addresses) as h,
    ):
        g.remote(payload, "big", [HOST])
        (got,) = h.get("big", [GUEST])
    assert np.array_equal(got, payload)
    assert len(chunks) == -(-(5 * MiB + 40) // (64 * KiB))
    assert max(chunks) < 64 * KiB + 200


def test_jobs_share_nodes_and_are_routed_by_job_id(start_node: Any) -> None:
    guest, host = start_node("9999"), start_node("10000")
    addresses = {"9999": guest.address, "10000": host.address}
    sides = {
        job: (
            guest.federation(job, GUEST, PAIR, addresses),
            host.federation(job, HOST, PAIR, addresses),
        )
        for job in ("job-a", "job-b")
    }
    for job, (g, _) in sides.items():
        g.remote(f"value of {job}", "same.tag", [HOST])
    for job, (_, h) in sides.items():
        assert h.get("same.tag", [GUEST]) == [f"value of {job}"]
    host.cancel_job("job-a")
    sides["job-b"][0].remote(2, "still.open", [HOST])
    assert sides["job-b"][1].get("still.open", [GUEST]) == [2]
    host.release_job("job-b")
    assert host.inbox.jobs() == ["job-a"]


def test_unreachable_peer_is_named_with_its_address(start_node: Any) -> None:
    guest = start_node("9999", FederationSettings(send_timeout_s=0.5))
    address = f"127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with (
        guest.federation("job", GUEST, PAIR, {"9999": guest.address, "10000": address}) as g,
        pytest.raises(PeerUnreachableError) as info,
    ):
        g.remote(1, "x", [HOST])
    assert time.monotonic() - started < 3
    assert str(HOST) in str(info.value) and address in str(info.value)
    assert info.value.spec.grpc_status == "UNAVAILABLE"


def test_a_peer_that_starts_late_still_gets_the_message(start_node: Any) -> None:
    # The retry loop rides out a peer restart or short partition (R16) until the deadline.
    patient = FederationSettings(send_timeout_s=20, retry=RetryPolicy(max_backoff_s=0.2))
    guest = start_node("9999", patient)
    port = _free_port()
    addresses = {"9999": guest.address, "10000": f"127.0.0.1:{port}"}
    g = guest.federation("job", GUEST, PAIR, addresses)
    sender = threading.Thread(target=g.remote, args=({"hello": 1}, "early", [HOST]))
    sender.start()
    time.sleep(3.5)  # gRPC's own reconnect backoff (1 s x 1.6^n) has grown past 2 s by now
    host = start_node("10000", listen=f"127.0.0.1:{port}")
    started = time.monotonic()
    with host.federation("job", HOST, PAIR, addresses) as h:
        assert h.get("early", [GUEST], timeout=10) == [{"hello": 1}]
    assert time.monotonic() - started < 1.0  # reconnects follow our backoff cap (0.2 s)
    sender.join(10)
    g.close()


def test_cancel_interrupts_a_send_waiting_for_its_peer(start_node: Any) -> None:
    guest = start_node("9999", FederationSettings(send_timeout_s=30))
    addresses = {"9999": guest.address, "10000": f"127.0.0.1:{_free_port()}"}
    g = guest.federation("job", GUEST, PAIR, addresses)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            g.remote(1, "x", [HOST])
        except BaseException as exc:
            errors.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.3)
    started = time.monotonic()
    guest.cancel_job("job", "user abort")
    sender.join(5)
    assert time.monotonic() - started < 1.5
    assert len(errors) == 1 and isinstance(errors[0], JobCancelledError)
    assert "user abort" in str(errors[0])
    g.close()


def test_large_payload_with_streamed_digest_is_deduplicated(start_node: Any) -> None:
    # Above 8 MiB a single-peer send hashes while streaming; retries carry the digest up front.
    guest, host = start_node("9999"), start_node("10000")
    addresses = {"9999": guest.address, "10000": host.address}
    plan = FaultPlan(duplicate=1.0, resend_after_ack=1.0)
    payload = np.arange(3 * MiB, dtype=np.float32)  # 12 MiB
    with (
        guest.federation("job", GUEST, PAIR, addresses, faults=plan) as g,
        host.federation("job", HOST, PAIR, addresses) as h,
    ):
        g.remote(payload, "big", [HOST])
        (got,) = h.get("big", [GUEST])
        assert np.array_equal(got, payload)
        assert g.faults is not None and g.faults.stats.delivered == 2
    stats = host.stats("job")
    assert (stats.applied, stats.duplicates_received, stats.duplicates_applied) == (1, 3, 0)
