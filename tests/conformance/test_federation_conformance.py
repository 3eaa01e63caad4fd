"""One behavioural contract for every Federation backend (docs/architecture.md §4)."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    BytesCodec,
    DuplicateSendError,
    FederationError,
    FederationSettings,
    JobCancelledError,
    MessageTooLargeError,
    Party,
    ProtocolViolationError,
    ReceiveTimeoutError,
    UnknownPartyError,
)
from chaihuo.serde import SerdeError

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST0 = Party(Role.HOST, PartyId("10000"))
HOST1 = Party(Role.HOST, PartyId("10001"))
ARBITER = Party(Role.ARBITER, PartyId("10000"))  # shares its party (and node) with HOST0
PARTIES = (GUEST, HOST0, HOST1, ARBITER)
Backend = Any  # the conftest's Backend: open(parties, ...), cancel(job, party), stats(party, job)

OBJECTS: list[object] = [
    None,
    True,
    -(2**70),
    3.25,
    "héllo",
    b"\x00\x01raw",
    [1, "two", [3.0]],
    (4, 5),
    {"w": np.arange(6, dtype=np.float64).reshape(2, 3), "n": 7},
    np.array([1, 2, 3], dtype=np.int32),
]


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b) and type(a) is type(b)


def test_objects_of_several_types_round_trip(federation_backend: Backend) -> None:
    feds = federation_backend.open(PARTIES)
    for index, obj in enumerate(OBJECTS):
        feds[GUEST].remote(obj, f"obj.{index}", [HOST0, HOST1, ARBITER])
    for party in (HOST0, HOST1, ARBITER):
        for index, obj in enumerate(OBJECTS):
            (got,) = feds[party].get(f"obj.{index}", [GUEST])
            assert _same(obj, got), (party, index, got)


def test_many_tags_received_in_any_order(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    for index in range(150):
        feds[GUEST].remote(index, f"round.{index}.grad", [HOST0])
    for index in reversed(range(150)):
        assert feds[HOST0].get(f"round.{index}.grad", [GUEST]) == [index]


def test_every_party_sends_to_every_other(federation_backend: Backend) -> None:
    feds = federation_backend.open(PARTIES)
    for src in PARTIES:
        others = [p for p in PARTIES if p != src]
        feds[src].remote(f"from {src}", "hello", others)
    for dst in PARTIES:
        others = [p for p in PARTIES if p != dst]
        assert feds[dst].get("hello", others) == [f"from {p}" for p in others]


def test_roles_sharing_a_party_receive_separately(federation_backend: Backend) -> None:
    feds = federation_backend.open(PARTIES)
    feds[GUEST].remote("for the host", "key", [HOST0])
    feds[GUEST].remote("for the arbiter", "key", [ARBITER])
    assert feds[ARBITER].get("key", [GUEST]) == ["for the arbiter"]
    assert feds[HOST0].get("key", [GUEST]) == ["for the host"]


def test_get_waits_for_a_later_remote(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.extend(feds[HOST0].get("late", [GUEST])))
    waiter.start()
    time.sleep(0.1)
    feds[GUEST].remote({"k": 1}, "late", [HOST0])
    waiter.join(5)
    assert result == [{"k": 1}]


def test_results_follow_the_order_of_frm(federation_backend: Backend) -> None:
    feds = federation_backend.open(PARTIES)
    feds[HOST1].remote(1, "x", [GUEST])
    feds[ARBITER].remote(2, "x", [GUEST])
    feds[HOST0].remote(0, "x", [GUEST])
    assert feds[GUEST].get("x", [HOST0, HOST1, ARBITER]) == [0, 1, 2]


def test_duplicate_send_is_an_error(federation_backend: Backend) -> None:
    feds = federation_backend.open(PARTIES)
    feds[GUEST].remote(1, "once", [HOST0])
    with pytest.raises(DuplicateSendError, match="once"):
        feds[GUEST].remote(2, "once", [HOST0, HOST1])
    feds[GUEST].remote(3, "once", [HOST1])  # the tag is per destination
    assert feds[HOST0].get("once", [GUEST]) == [1]
    assert feds[HOST1].get("once", [GUEST]) == [3]


def test_receive_timeout_names_tag_and_missing_parties(federation_backend: Backend) -> None:
    feds = federation_backend.open(PARTIES)
    feds[HOST0].remote(1, "partial", [GUEST])
    started = time.monotonic()
    with pytest.raises(ReceiveTimeoutError) as info:
        feds[GUEST].get("partial", [HOST0, HOST1], timeout=0.3)
    assert 0.25 < time.monotonic() - started < 3
    assert "partial" in str(info.value) and str(HOST1) in str(info.value)
    assert str(HOST0) not in info.value.details["missing"]
    assert info.value.spec.grpc_status == "DEADLINE_EXCEEDED"


def test_large_payload_round_trips(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    big = np.random.default_rng(1).integers(0, 255, size=20 << 20, dtype=np.uint8)
    feds[GUEST].remote(big, "big", [HOST0])
    (got,) = feds[HOST0].get("big", [GUEST])
    assert isinstance(got, np.ndarray) and np.array_equal(got, big)


def test_empty_and_chunk_boundary_payloads_in_one_get(federation_backend: Backend) -> None:
    feds = federation_backend.open(PARTIES, codec=BytesCodec())
    chunk = FederationSettings().chunk_bytes
    sizes = {HOST0: 0, HOST1: chunk + 1, ARBITER: chunk}
    payloads = {p: np.random.default_rng(n).bytes(n) for p, n in sizes.items()}
    for party, payload in payloads.items():
        feds[party].remote(payload, "edge", [GUEST])
    got = feds[GUEST].get("edge", [HOST0, HOST1, ARBITER])
    assert [bytes(g) for g in got] == [payloads[HOST0], payloads[HOST1], payloads[ARBITER]]


def test_close_semantics(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            feds[HOST0].get("never", [GUEST], timeout=5)
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    feds[HOST0].close()
    waiter.join(2)
    assert len(errors) == 1 and type(errors[0]) is FederationError
    feds[HOST0].close()  # idempotent
    with pytest.raises(FederationError, match="closed"):
        feds[HOST0].get("x", [GUEST])
    with feds[GUEST] as fed:
        pass
    with pytest.raises(FederationError, match="closed"):
        fed.remote(1, "x", [HOST0])


def test_unknown_party_is_refused(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    stranger = Party(Role.HOST, PartyId("424242"))
    with pytest.raises(UnknownPartyError, match="424242"):
        feds[GUEST].remote(1, "x", [stranger])
    with pytest.raises(UnknownPartyError):
        feds[GUEST].get("x", [stranger])
    with pytest.raises(UnknownPartyError):
        feds[GUEST].remote(1, "x", [])


def test_cancel_wakes_pending_get(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            feds[HOST0].get("never", [GUEST], timeout=5)
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    federation_backend.cancel(feds[HOST0].job_id, HOST0.party_id)
    waiter.join(2)
    assert len(errors) == 1 and isinstance(errors[0], JobCancelledError)
    with pytest.raises(JobCancelledError):
        feds[HOST0].remote(1, "after", [GUEST])
    with pytest.raises(JobCancelledError):  # the peer refuses messages for the cancelled job
        feds[GUEST].remote(1, "after", [HOST0])


def test_a_message_that_arrived_before_the_cancel_is_still_received(
    federation_backend: Backend,
) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    feds[GUEST].remote("verdict", "last", [HOST0])
    federation_backend.cancel(feds[HOST0].job_id, HOST0.party_id)
    assert feds[HOST0].get("last", [GUEST], timeout=5) == ["verdict"]
    with pytest.raises(JobCancelledError):  # what had not arrived is not waited for
        feds[HOST0].get("later", [GUEST], timeout=5)


def test_a_message_is_received_once(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    feds[GUEST].remote(1, "x", [HOST0])
    assert feds[HOST0].get("x", [GUEST]) == [1]
    with pytest.raises(FederationError, match="already received"):
        feds[HOST0].get("x", [GUEST], timeout=0.1)


def test_identical_resend_is_applied_once(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    job = feds[GUEST].job_id
    feds[GUEST].remote([1, 2], "x", [HOST0])
    restarted = federation_backend.open((GUEST, HOST0), job_id=job, only=(GUEST,))[
        GUEST
    ]  # e.g. a sender that restarted
    restarted.remote([1, 2], "x", [HOST0])
    assert feds[HOST0].get("x", [GUEST]) == [[1, 2]]
    stats = federation_backend.stats(HOST0.party_id, job)
    assert (stats.applied, stats.duplicates_received, stats.duplicates_applied) == (1, 1, 0)


def test_same_key_different_digest_aborts_the_job(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    job = feds[GUEST].job_id
    feds[GUEST].remote([1, 2], "x", [HOST0])
    restarted = federation_backend.open((GUEST, HOST0), job_id=job, only=(GUEST,))[GUEST]
    with pytest.raises(ProtocolViolationError, match="different contents"):
        restarted.remote([1, 3], "x", [HOST0])
    with pytest.raises(ProtocolViolationError):
        feds[HOST0].get("x", [GUEST])
    assert federation_backend.stats(HOST0.party_id, job).applied == 1


def test_oversize_payload_is_refused_locally(federation_backend: Backend) -> None:
    small = FederationSettings(send_timeout_s=5, max_payload_bytes=1000)
    feds = federation_backend.open((GUEST, HOST0), settings=small)
    with pytest.raises(MessageTooLargeError, match="1000"):
        feds[GUEST].remote(b"x" * 2000, "big", [HOST0])
    feds[GUEST].remote(b"x" * 10, "big", [HOST0])  # the tag was not consumed by the refusal
    assert feds[HOST0].get("big", [GUEST]) == [b"x" * 10]


def test_unsupported_objects_never_leave(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    with pytest.raises(SerdeError):
        feds[GUEST].remote(object(), "obj", [HOST0])
    with pytest.raises(ReceiveTimeoutError):
        feds[HOST0].get("obj", [GUEST], timeout=0.1)


def test_invalid_tags_are_refused(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0))
    for tag in ["", "has space", "new\nline", "x" * 600, "ü"]:
        with pytest.raises(ValueError, match="tag"):
            feds[GUEST].remote(1, tag, [HOST0])


def test_endpoint_reports_its_identity(federation_backend: Backend) -> None:
    feds = federation_backend.open((GUEST, HOST0), job_id="job-identity-" + federation_backend.name)
    assert feds[GUEST].local == GUEST
    assert feds[GUEST].job_id == "job-identity-" + federation_backend.name
