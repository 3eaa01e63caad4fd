"""A node's receive side: per-job mailboxes with deduplication, bounded buffers and cancellation."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chaihuo.core import ChaihuoError, InvalidInputError, PartyId
from chaihuo.federation._codec import Codec
from chaihuo.federation._envelope import Envelope, MessageKey
from chaihuo.federation._interface import (
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    Party,
    ProtocolViolationError,
    ReceiveTimeoutError,
    UnknownPartyError,
)
from chaihuo.federation._security_log import Caller, SecurityEvents
from chaihuo.federation._settings import FederationSettings

__all__ = ["Inbox", "JobMailbox", "ReceiveStats", "Reservation"]

_TOMBSTONES = 4096


@dataclass
class ReceiveStats:
    """Receiver-side counters (R13, R14): `duplicates_applied` must stay 0."""

    applied: int = 0
    duplicates_received: int = 0
    duplicates_applied: int = 0
    rejected: int = 0


@dataclass
class _Item:
    """A stored message: decoded when its destination's codec was known on arrival."""

    size: int
    value: object = None
    raw: bytes | bytearray | None = None
    origin: Caller | None = None  # the sender, kept for the security log of a late decode


def fresh(exc: ChaihuoError) -> ChaihuoError:
    """A new instance of a stored error, so several threads can raise it independently."""
    return type(exc)(exc.message, **exc.details)


@dataclass
class JobMailbox:
    """Everything one node holds for one job; guarded by `cond`."""

    job_id: str
    cond: threading.Condition = field(default_factory=threading.Condition)
    seen: dict[MessageKey, tuple[int, bytes]] = field(default_factory=dict)
    ready: dict[MessageKey, _Item] = field(default_factory=dict)
    taken: set[MessageKey] = field(default_factory=set)
    rejected: dict[MessageKey, ChaihuoError] = field(default_factory=dict)
    codecs: dict[Party, Codec] = field(default_factory=dict)
    parties: set[Party] = field(default_factory=set)
    failure: FederationError | None = None
    buffered_bytes: int = 0
    buffered_messages: int = 0
    listeners: set[threading.Event] = field(default_factory=set)
    stats: ReceiveStats = field(default_factory=ReceiveStats)

    def fail(self, error: FederationError) -> None:
        """Abort the job here: pending and later `get`s and sends raise `error` (caller locks)."""
        if self.failure is None:
            self.failure = error
        for event in self.listeners:
            event.set()
        self.cond.notify_all()


class Reservation:
    """Buffer space held for one incoming message from its header until it is stored."""

    def __init__(self, mailbox: JobMailbox, envelope: Envelope) -> None:
        self.mailbox = mailbox
        self.envelope = envelope
        self._held = True

    def release(self) -> None:
        """Give the space back (idempotent)."""
        with self.mailbox.cond:
            if self._held:
                self._held = False
                self.mailbox.buffered_bytes -= self.envelope.size
                self.mailbox.buffered_messages -= 1


class Inbox:
    """Receives messages addressed to one party id (one node) for any number of jobs."""

    def __init__(
        self,
        party_id: PartyId,
        settings: FederationSettings,
        security: SecurityEvents | None = None,
    ) -> None:
        self.party_id = party_id
        self.settings = settings
        self.security = security
        self._lock = threading.Lock()
        self._jobs: dict[str, JobMailbox] = {}
        self._released: collections.OrderedDict[str, None] = collections.OrderedDict()

    def mailbox(self, job_id: str) -> JobMailbox:
        """The job's mailbox, created on first use (messages may precede the local endpoint)."""
        with self._lock:
            box = self._jobs.get(job_id)
            if box is not None:
                return box
            if job_id in self._released:
                raise JobCancelledError(
                    f"job {job_id} has finished on party {self.party_id}", job_id=job_id
                )
            if len(self._jobs) >= self.settings.max_jobs:
                raise MessageTooLargeError(
                    f"party {self.party_id} already holds {len(self._jobs)} jobs",
                    job_id=job_id,
                )
            box = self._jobs[job_id] = JobMailbox(job_id)
            return box

    def attach(self, job_id: str, local: Party, parties: Sequence[Party], codec: Codec) -> None:
        """Register a local endpoint: its codec decodes its messages, its roster gates senders."""
        box = self.mailbox(job_id)
        with box.cond:
            box.codecs[local] = codec
            box.parties.update(parties)

    def detach(self, job_id: str, local: Party) -> None:
        """Forget a closed endpoint's codec and wake its waiting `get`s."""
        with self._lock:
            box = self._jobs.get(job_id)
        if box is not None:
            with box.cond:
                box.codecs.pop(local, None)
                box.cond.notify_all()

    def release(self, job_id: str) -> None:
        """Drop a finished job's buffers; later messages for it are refused as cancelled."""
        with self._lock:
            box = self._jobs.pop(job_id, None)
            self._released[job_id] = None
            while len(self._released) > _TOMBSTONES:
                self._released.popitem(last=False)
        if box is not None:
            with box.cond:
                box.fail(JobCancelledError(f"job {job_id} was released", job_id=job_id))

    def cancel(self, job_id: str, reason: str = "cancelled") -> None:
        """Cancel a job on this node: its `get`s and sends raise JobCancelledError."""
        box = self.mailbox(job_id)
        with box.cond:
            box.fail(
                JobCancelledError(
                    f"job {job_id} cancelled on party {self.party_id}: {reason}", job_id=job_id
                )
            )

    def jobs(self) -> list[str]:
        """Ids of jobs with a live mailbox."""
        with self._lock:
            return list(self._jobs)

    def stats(self, job_id: str | None = None) -> ReceiveStats:
        """A snapshot of the counters of one job, or summed over live jobs."""
        with self._lock:
            boxes = [self._jobs[job_id]] if job_id in self._jobs else []
            if job_id is None:
                boxes = list(self._jobs.values())
        total = ReceiveStats()
        for box in boxes:
            with box.cond:
                for name, value in dataclasses.asdict(box.stats).items():
                    setattr(total, name, getattr(total, name) + value)
        return total

    def begin(self, envelope: Envelope) -> Reservation | None:
        """Admit a message header: None if it was already applied (a retry), else a reservation.

        Checks run before any payload byte is accepted: destination, size limit (R04),
        job state, roster, duplicate key with equal or different digest (R14), buffer bound.
        """
        key = envelope.key
        if key.dst.party_id != self.party_id:
            raise UnknownPartyError(
                f"message for party {key.dst.party_id} reached party {self.party_id}",
                key=str(key),
            )
        if envelope.size > self.settings.max_payload_bytes:
            raise MessageTooLargeError(
                f"message of {envelope.size} bytes exceeds the limit of "
                f"{self.settings.max_payload_bytes} on party {self.party_id}",
                key=str(key),
            )
        box = self.mailbox(key.job_id)
        with box.cond:
            self._admit(box, envelope)
            if key in box.seen and envelope.digest is not None:
                box.stats.duplicates_received += 1
                return None
            self._reserve(box, envelope)
            return Reservation(box, envelope)

    def _admit(self, box: JobMailbox, envelope: Envelope) -> None:
        key = envelope.key
        if box.failure is not None:
            raise fresh(box.failure)
        if box.parties and (key.src not in box.parties or key.dst not in box.parties):
            box.stats.rejected += 1
            raise UnknownPartyError(f"{key.src} or {key.dst} is not in job {key.job_id}")
        previous = box.seen.get(key)
        if previous is not None and envelope.digest is not None and previous[1] != envelope.digest:
            error = ProtocolViolationError(
                f"message {key} arrived twice with different contents "
                f"(seq {previous[0]} digest {previous[1].hex()[:16]}, "
                f"seq {envelope.seq} digest {envelope.digest.hex()[:16]}): job aborted",
                key=str(key),
            )
            box.stats.rejected += 1
            box.fail(error)
            raise fresh(error)

    def _reserve(self, box: JobMailbox, envelope: Envelope) -> None:
        limits = self.settings
        if box.buffered_bytes + envelope.size > limits.job_buffer_bytes:
            raise MessageTooLargeError(
                f"receive buffer of job {box.job_id} on party {self.party_id} is full "
                f"({box.buffered_bytes} of {limits.job_buffer_bytes} bytes)",
                key=str(envelope.key),
            )
        if box.buffered_messages + 1 > limits.job_buffer_messages:
            raise MessageTooLargeError(
                f"receive buffer of job {box.job_id} on party {self.party_id} holds "
                f"{box.buffered_messages} messages, the limit",
                key=str(envelope.key),
            )
        box.buffered_bytes += envelope.size
        box.buffered_messages += 1

    def commit(
        self,
        reservation: Reservation,
        payload: bytes | bytearray,
        digest: bytes,
        claimed: bytes | None = None,
        origin: Caller | None = None,
    ) -> bool:
        """Store a fully received payload; True if it turned out to be a duplicate.

        `digest` is the payload's SHA-256 as computed here; it must equal the envelope's, or
        `claimed` (sent after the payload) when the envelope had none. The reservation is kept
        by the stored message or released on any failure. `origin`, the sender as the server
        saw it, names the peer if the payload only fails to decode later, in `take`.
        """
        envelope, box = reservation.envelope, reservation.mailbox
        expected = envelope.digest if envelope.digest is not None else claimed
        try:
            if len(payload) != envelope.size or digest != expected:
                raise InvalidInputError(
                    "payload does not match its envelope's size and SHA-256 digest",
                    key=str(envelope.key),
                    size=len(payload),
                )
            resolved = dataclasses.replace(envelope, digest=digest)
            with box.cond:
                self._admit(box, resolved)
                if resolved.key in box.seen:  # known only now for a digest sent after the payload
                    box.stats.duplicates_received += 1
                    reservation.release()
                    return True
                codec = box.codecs.get(envelope.key.dst)
            item = self._decode(box, envelope, payload, codec, origin)
        except BaseException:
            reservation.release()
            raise
        return self._store(box, reservation, resolved, item)

    def _decode(
        self,
        box: JobMailbox,
        envelope: Envelope,
        payload: bytes | bytearray,
        codec: Codec | None,
        origin: Caller | None,
    ) -> _Item:
        if codec is None:
            return _Item(envelope.size, raw=payload, origin=origin)
        try:
            return _Item(envelope.size, value=codec.decode(payload))
        except ChaihuoError as exc:
            # Invariant 4: refuse the message with the decoder's typed error, keep serving,
            # and let the receiving `get` raise the same error instead of timing out.
            with box.cond:
                box.stats.rejected += 1
                box.rejected[envelope.key] = exc
                box.cond.notify_all()
            raise

    def _store(
        self, box: JobMailbox, reservation: Reservation, envelope: Envelope, item: _Item
    ) -> bool:
        key = envelope.key
        with box.cond:
            try:
                self._admit(box, envelope)
            except BaseException:
                reservation.release()
                raise
            if key in box.seen:
                box.stats.duplicates_received += 1
                reservation.release()
                return True
            if key in box.ready or key in box.taken:
                # Independent of `seen`: counts a second application should dedup ever fail.
                box.stats.duplicates_applied += 1
            assert envelope.digest is not None  # resolved by commit
            box.seen[key] = (envelope.seq, envelope.digest)
            box.rejected.pop(key, None)
            box.ready[key] = item
            box.stats.applied += 1
            box.cond.notify_all()
            return False

    def take(
        self,
        job_id: str,
        keys: Sequence[MessageKey],
        codec: Codec,
        timeout: float,
        stop: Callable[[], ChaihuoError | None],
    ) -> list[object]:
        """Block until every key has arrived, then hand the objects over (each exactly once).

        A cancel takes effect where the party would wait: messages that arrived before it are
        still handed over, so a peer's last word (the verdict it sent before it stopped) is
        read rather than replaced by "cancelled because that peer failed"."""
        box = self.mailbox(job_id)
        deadline = time.monotonic() + timeout
        with box.cond:
            while True:
                problem = stop() or (fresh(box.failure) if box.failure else None)
                if problem is not None and not isinstance(problem, JobCancelledError):
                    raise problem
                missing = self._missing(box, keys)
                if missing and problem is not None:
                    raise problem
                if not missing:
                    items = [box.ready.pop(key) for key in keys]
                    box.taken.update(keys)
                    box.buffered_bytes -= sum(item.size for item in items)
                    box.buffered_messages -= len(items)
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ReceiveTimeoutError(
                        f"no message under tag {keys[0].tag!r} from "
                        f"{', '.join(str(key.src) for key in missing)} within {timeout:g} s",
                        tag=keys[0].tag,
                        missing=[str(key.src) for key in missing],
                    )
                box.cond.wait(left)
        return [
            item.value if item.raw is None else self._late_decode(item, codec) for item in items
        ]

    def _late_decode(self, item: _Item, codec: Codec) -> object:
        """Decode a message that arrived before its endpoint; a bad payload is a security event."""
        assert item.raw is not None
        try:
            return codec.decode(item.raw)
        except ChaihuoError as exc:
            if self.security is not None and item.origin is not None:
                self.security.refused(exc, item.origin)
            raise

    @staticmethod
    def _missing(box: JobMailbox, keys: Sequence[MessageKey]) -> list[MessageKey]:
        missing = []
        for key in keys:
            if key in box.taken:
                raise FederationError(f"message {key} was already received", key=str(key))
            if key in box.rejected:
                raise fresh(box.rejected[key])
            if key not in box.ready:
                missing.append(key)
        return missing
