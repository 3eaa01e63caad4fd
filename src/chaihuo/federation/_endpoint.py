"""The Federation both backends share: tags, sequence numbers, digests, retries and receiving."""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from chaihuo.core import ChaihuoError
from chaihuo.federation._codec import Codec
from chaihuo.federation._envelope import Envelope, MessageKey, check_job_id, check_tag, digest_of
from chaihuo.federation._interface import (
    DuplicateSendError,
    Federation,
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    Party,
    PeerUnreachableError,
    UnknownPartyError,
)
from chaihuo.federation._mailbox import Inbox, fresh
from chaihuo.federation._settings import FederationSettings
from chaihuo.federation._transport import TransientSendError, Transport

__all__ = ["Endpoint"]

_log = logging.getLogger("chaihuo.federation")
_HASH_WHILE_SENDING = 8 << 20


class Endpoint(Federation):
    """One (role, party) of one job: sends through a Transport, receives from its node's Inbox."""

    def __init__(
        self,
        *,
        job_id: str,
        local: Party,
        parties: Iterable[Party],
        inbox: Inbox,
        transport: Transport,
        codec: Codec,
        settings: FederationSettings,
    ) -> None:
        self._job_id = check_job_id(job_id)
        self._local = local
        self._parties = frozenset(parties) | {local}
        self._inbox = inbox
        self._transport = transport
        self._codec = codec
        self._settings = settings
        self._lock = threading.Lock()
        self._sent: set[tuple[str, Party]] = set()
        self._seq: dict[Party, int] = {}
        self._closed = False
        self._stop = threading.Event()  # set on close, cancel or protocol failure
        # Backoff jitter needs spread, not secrecy.
        self._jitter = random.Random()  # noqa: S311
        self._pool: ThreadPoolExecutor | None = None
        inbox.attach(self._job_id, local, sorted(self._parties), codec)
        self._box = box = inbox.mailbox(self._job_id)
        with box.cond:
            box.listeners.add(self._stop)
            if box.failure is not None:
                self._stop.set()

    @property
    def job_id(self) -> str:
        """The job this endpoint serves."""
        return self._job_id

    @property
    def local(self) -> Party:
        """The (role, party) this endpoint speaks for."""
        return self._local

    @property
    def parties(self) -> frozenset[Party]:
        """Every (role, party) of the job, this one included."""
        return self._parties

    def remote(self, obj: object, tag: str, to: Sequence[Party]) -> None:
        """Encode once, then deliver to every destination in parallel (each retried on its own)."""
        check_tag(tag)
        destinations = self._check_peers(to, "send to")
        self._raise_if_stopped()
        payload = self._codec.encode(obj)
        if len(payload) > self._settings.max_payload_bytes:
            raise MessageTooLargeError(
                f"message {tag!r} of {len(payload)} bytes exceeds the limit of "
                f"{self._settings.max_payload_bytes}",
                tag=tag,
                size=len(payload),
            )
        # A large payload for one peer is hashed while it streams (the digest follows the
        # payload) instead of before: hashing 1 GiB takes about as long as sending it.
        streamed = len(destinations) == 1 and len(payload) >= _HASH_WHILE_SENDING
        digest = None if streamed else digest_of(payload)
        envelopes = self._claim(tag, destinations, len(payload), digest)
        if len(envelopes) == 1:
            self._deliver_or_unclaim(envelopes[0], payload)
            return
        futures = [self._executor().submit(self._deliver_or_unclaim, e, payload) for e in envelopes]
        errors = [exc for f in futures if (exc := f.exception()) is not None]
        if errors:
            raise errors[0]

    def get(self, tag: str, frm: Sequence[Party], timeout: float | None = None) -> list[object]:
        """Wait for `tag` from each party in `frm`; objects in the order of `frm`."""
        check_tag(tag)
        sources = self._check_peers(frm, "receive from")
        keys = [MessageKey(self._job_id, tag, src, self._local) for src in sources]
        wait = self._settings.receive_timeout_s if timeout is None else timeout
        return self._inbox.take(self._job_id, keys, self._codec, wait, self._stop_reason)

    def close(self) -> None:
        """Detach from the node and stop; pending `get`s and later calls raise FederationError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        with self._box.cond:
            self._box.listeners.discard(self._stop)
        self._inbox.detach(self._job_id, self._local)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._release_transport()

    def _release_transport(self) -> None:
        """Backends that own their transport close it here."""

    def cancel(self, reason: str = "cancelled") -> None:
        """Cancel this job on this endpoint's node (every local role of the job sees it)."""
        self._inbox.cancel(self._job_id, reason)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(8, thread_name_prefix=f"fed-{self._local}")
            return self._pool

    def _check_peers(self, peers: Sequence[Party], verb: str) -> list[Party]:
        if isinstance(peers, Party):
            raise TypeError("pass a sequence of parties, e.g. [party]")
        listed = list(peers)
        if not listed:
            raise UnknownPartyError(f"nobody to {verb}: the party list is empty")
        unknown = [str(party) for party in listed if party not in self._parties]
        if unknown:
            raise UnknownPartyError(
                f"cannot {verb} {', '.join(unknown)}: not in job {self._job_id}",
                unknown=unknown,
            )
        if len(set(listed)) != len(listed):
            raise UnknownPartyError(f"a party is listed twice in {verb} {listed}")
        return listed

    def _stop_reason(self) -> ChaihuoError | None:
        if self._closed:
            return FederationError(f"federation {self._local} of job {self._job_id} is closed")
        failure = self._box.failure
        return fresh(failure) if failure is not None else None

    def _raise_if_stopped(self) -> None:
        problem = self._stop_reason() if self._stop.is_set() else None
        if problem is not None:
            raise problem

    def _claim(
        self, tag: str, destinations: list[Party], size: int, digest: bytes | None
    ) -> list[Envelope]:
        """Mark (tag, destination) as sent, atomically, and number the messages (rule 3.5 of
        docs/architecture.md)."""
        with self._lock:
            already = [str(dst) for dst in destinations if (tag, dst) in self._sent]
            if already:
                raise DuplicateSendError(
                    f"tag {tag!r} was already sent to {', '.join(already)}", tag=tag
                )
            envelopes = []
            for dst in destinations:
                self._sent.add((tag, dst))
                seq = self._seq[dst] = self._seq.get(dst, 0) + 1
                key = MessageKey(self._job_id, tag, self._local, dst)
                envelopes.append(Envelope(key, seq, size, digest))
            return envelopes

    def _deliver_or_unclaim(self, envelope: Envelope, payload: bytes) -> None:
        try:
            self._deliver(envelope, payload)
        except BaseException:
            # A failed send may be retried by the caller with the same tag; the receiver's
            # dedup keeps that safe even if the failed attempt did arrive (R14).
            with self._lock:
                self._sent.discard((envelope.key.tag, envelope.key.dst))
            raise

    def _deliver(self, envelope: Envelope, payload: bytes) -> None:
        """Attempts with exponential backoff and jitter, transient failures only (R17)."""
        policy = self._settings.retry
        dst = envelope.key.dst
        deadline = time.monotonic() + self._settings.send_deadline_s(envelope.size)
        attempt_cap = self._settings.attempt_deadline_s(envelope.size)
        attempt, last = 0, "send deadline passed before the first attempt"
        while True:
            attempt += 1
            self._raise_if_stopped()
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._unreachable(dst, attempt - 1, last, envelope)
            try:
                self._transport.send(
                    envelope, payload, timeout=min(attempt_cap, left), abort=self._stop
                )
                return
            except TransientSendError as exc:
                last = str(exc)
            except JobCancelledError:
                self._raise_if_stopped()  # prefer the job's own reason: closed, or cancelled why
                raise
            if envelope.digest is None:
                # Retries name their digest up front, so the receiver can acknowledge a copy
                # it already applied without receiving the payload again (R13).
                envelope = dataclasses.replace(envelope, digest=digest_of(payload))
            if policy.max_attempts is not None and attempt >= policy.max_attempts:
                raise self._unreachable(dst, attempt, last, envelope)
            pause = min(policy.backoff(attempt, self._jitter.random()), deadline - time.monotonic())
            _log.debug("attempt %d to %s failed (%s); retrying in %.2fs", attempt, dst, last, pause)
            if pause > 0 and self._stop.wait(pause):
                self._raise_if_stopped()
                raise JobCancelledError(f"sending {envelope.key} was interrupted")

    def _unreachable(
        self, dst: Party, attempts: int, last: str, envelope: Envelope
    ) -> PeerUnreachableError:
        where = self._transport.describe(dst.party_id)
        return PeerUnreachableError(
            f"peer {dst} at {where} unreachable after {attempts} attempt(s): {last}",
            peer=str(dst),
            address=where,
            tag=envelope.key.tag,
        )
