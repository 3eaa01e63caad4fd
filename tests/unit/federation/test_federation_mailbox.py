"""The receive side (Inbox): admission checks, dedup, bounds, raw payloads, cancellation."""

from __future__ import annotations

import hashlib

import pytest

from chaihuo.core import InvalidInputError, PartyId, Role
from chaihuo.federation import (
    BytesCodec,
    Envelope,
    FederationSettings,
    Inbox,
    JobCancelledError,
    MessageKey,
    MessageTooLargeError,
    Party,
    ProtocolViolationError,
    SerdeCodec,
    UnknownPartyError,
)
from chaihuo.federation._mailbox import Reservation
from chaihuo.serde import SerdeError

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
OTHER = Party(Role.HOST, PartyId("10001"))


def _envelope(payload: bytes, tag: str = "t", job: str = "job", src: Party = GUEST) -> Envelope:
    return Envelope(
        MessageKey(job, tag, src, HOST), 1, len(payload), hashlib.sha256(payload).digest()
    )


def _deliver(inbox: Inbox, payload: bytes, **kwargs: object) -> bool:
    envelope = _envelope(payload, **kwargs)  # type: ignore[arg-type]
    reservation = inbox.begin(envelope)
    if reservation is None:
        return True
    return inbox.commit(reservation, payload, envelope.digest)


def _nobody_stops() -> None:
    return None


def test_messages_before_attachment_are_kept_raw_and_decoded_on_take() -> None:
    inbox = Inbox(PartyId("10000"), FederationSettings())
    assert _deliver(inbox, b"early") is False
    key = MessageKey("job", "t", GUEST, HOST)
    assert inbox.take("job", [key], BytesCodec(), 1, _nobody_stops) == [b"early"]


def test_admission_checks_come_before_any_payload() -> None:
    inbox = Inbox(PartyId("10000"), FederationSettings(max_payload_bytes=10, max_jobs=1))
    wrong_dst = Envelope(MessageKey("job", "t", GUEST, OTHER), 1, 0, bytes(32))
    with pytest.raises(UnknownPartyError, match="reached party 10000"):
        inbox.begin(wrong_dst)
    with pytest.raises(MessageTooLargeError, match="exceeds the limit"):
        inbox.begin(_envelope(b"x" * 11))
    inbox.attach("job", HOST, [GUEST, HOST], BytesCodec())
    with pytest.raises(UnknownPartyError, match="not in job"):
        inbox.begin(_envelope(b"x", src=OTHER))
    with pytest.raises(MessageTooLargeError, match="holds 1 jobs"):
        inbox.begin(_envelope(b"x", job="second-job"))


def test_payload_must_match_size_and_digest() -> None:
    inbox = Inbox(PartyId("10000"), FederationSettings())
    envelope = _envelope(b"abc")
    reservation = inbox.begin(envelope)
    assert isinstance(reservation, Reservation)
    with pytest.raises(InvalidInputError, match="digest"):
        inbox.commit(reservation, b"abd", hashlib.sha256(b"abd").digest())
    assert inbox.mailbox("job").buffered_bytes == 0  # the reservation was released


def test_duplicates_are_acknowledged_and_changed_contents_abort() -> None:
    inbox = Inbox(PartyId("10000"), FederationSettings())
    assert _deliver(inbox, b"one") is False
    assert _deliver(inbox, b"one") is True
    with pytest.raises(ProtocolViolationError, match="different contents"):
        _deliver(inbox, b"two")
    with pytest.raises(ProtocolViolationError):  # the job stays aborted
        _deliver(inbox, b"x", tag="other")
    stats = inbox.stats("job")
    assert (stats.applied, stats.duplicates_received, stats.duplicates_applied) == (1, 1, 0)


def test_digest_sent_after_the_payload_is_checked_at_commit() -> None:
    inbox = Inbox(PartyId("10000"), FederationSettings())
    assert _deliver(inbox, b"one") is False
    late = Envelope(MessageKey("job", "t", GUEST, HOST), 2, 3, None)
    reservation = inbox.begin(late)  # unknown digest: the payload must be received first
    assert reservation is not None
    digest = hashlib.sha256(b"one").digest()
    assert inbox.commit(reservation, b"one", digest, claimed=digest) is True
    other = inbox.begin(late)
    assert other is not None
    with pytest.raises(InvalidInputError, match="digest"):  # claim and payload disagree
        inbox.commit(other, b"two", hashlib.sha256(b"two").digest(), claimed=digest)
    third = inbox.begin(late)
    assert third is not None
    with pytest.raises(ProtocolViolationError):
        inbox.commit(
            third, b"two", hashlib.sha256(b"two").digest(), hashlib.sha256(b"two").digest()
        )
    assert inbox.mailbox("job").buffered_messages == 1  # only the applied message holds space


def test_decode_failures_are_remembered_for_the_receiver() -> None:
    inbox = Inbox(PartyId("10000"), FederationSettings())
    inbox.attach("job", HOST, [GUEST, HOST], SerdeCodec())
    with pytest.raises(SerdeError):
        _deliver(inbox, b"not serde")
    key = MessageKey("job", "t", GUEST, HOST)
    with pytest.raises(SerdeError):
        inbox.take("job", [key], SerdeCodec(), 1, _nobody_stops)
    assert inbox.stats("job").rejected == 1


def test_released_and_cancelled_jobs_refuse_messages() -> None:
    inbox = Inbox(PartyId("10000"), FederationSettings())
    inbox.cancel("job-c", "operator request")
    with pytest.raises(JobCancelledError, match="operator request"):
        _deliver(inbox, b"x", job="job-c")
    _deliver(inbox, b"x", job="job-r")
    inbox.release("job-r")
    assert "job-r" not in inbox.jobs()
    with pytest.raises(JobCancelledError, match="finished"):
        _deliver(inbox, b"x", job="job-r")
