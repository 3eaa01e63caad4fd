"""The in-memory backend: parties in one process exchange payload bytes through a shared hub."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from chaihuo.core import PartyId
from chaihuo.federation._codec import Codec, SerdeCodec
from chaihuo.federation._endpoint import Endpoint
from chaihuo.federation._envelope import Envelope, digest_of
from chaihuo.federation._faults import FaultPlan, FaultyTransport
from chaihuo.federation._interface import Party
from chaihuo.federation._mailbox import Inbox, ReceiveStats
from chaihuo.federation._settings import FederationSettings
from chaihuo.federation._transport import SendOutcome, TransientSendError, Transport

__all__ = ["MemoryFederation", "MemoryHub", "MemoryTransport"]


class MemoryHub:
    """The "network" of an in-process test: one Inbox per party id, created on first use.

    Messages still travel as encoded bytes with envelopes and digests, and are decoded by
    the receiver's codec, so the in-memory backend enforces everything the gRPC one does
    except TLS (one conformance suite covers both).
    """

    def __init__(self, settings: FederationSettings | None = None) -> None:
        self.settings = settings or FederationSettings()
        self._lock = threading.Lock()
        self._inboxes: dict[PartyId, Inbox] = {}
        self._down: set[PartyId] = set()

    def inbox(self, party_id: PartyId) -> Inbox:
        """The receive side of `party_id`'s (virtual) node."""
        with self._lock:
            inbox = self._inboxes.get(party_id)
            if inbox is None:
                inbox = self._inboxes[party_id] = Inbox(party_id, self.settings)
            return inbox

    def set_reachable(self, party_id: PartyId, reachable: bool) -> None:
        """Simulate a party's node going down (sends to it fail UNAVAILABLE) or coming back."""
        with self._lock:
            (self._down.discard if reachable else self._down.add)(party_id)

    def is_reachable(self, party_id: PartyId) -> bool:
        """Whether sends to `party_id` currently get through."""
        with self._lock:
            return party_id not in self._down

    def cancel(
        self, job_id: str, party_id: PartyId | None = None, reason: str = "cancelled"
    ) -> None:
        """Cancel a job on one party's node, or on every node of the hub."""
        with self._lock:
            targets = list(self._inboxes) if party_id is None else [party_id]
        for target in targets:
            self.inbox(target).cancel(job_id, reason)

    def stats(self, party_id: PartyId, job_id: str | None = None) -> ReceiveStats:
        """Receive counters of one party (one job, or all its live jobs)."""
        return self.inbox(party_id).stats(job_id)

    def federation(
        self,
        job_id: str,
        local: Party,
        parties: Iterable[Party],
        *,
        codec: Codec | None = None,
        faults: FaultPlan | None = None,
        settings: FederationSettings | None = None,
    ) -> MemoryFederation:
        """An endpoint for `local` in job `job_id` whose peers are `parties`."""
        return MemoryFederation(
            self, job_id, local, parties, codec=codec, faults=faults, settings=settings
        )


class MemoryTransport:
    """Delivers straight into the destination's Inbox, in the sending thread."""

    def __init__(self, hub: MemoryHub) -> None:
        self.hub = hub

    def send(
        self, envelope: Envelope, payload: bytes, *, timeout: float, abort: threading.Event
    ) -> SendOutcome:
        """One delivery attempt."""
        dst = envelope.key.dst.party_id
        if not self.hub.is_reachable(dst):
            raise TransientSendError("UNAVAILABLE", f"party {dst} is down (in-memory hub)")
        inbox = self.hub.inbox(dst)
        reservation = inbox.begin(envelope)
        if reservation is None:
            return True
        digest = digest_of(payload)  # memory is a lossless wire: the claim is the payload's own
        return inbox.commit(reservation, payload, digest, claimed=digest)

    def describe(self, party_id: str) -> str:
        """In-memory parties have no address."""
        return f"memory://{party_id}"

    def close(self) -> None:
        """Nothing to release."""


class MemoryFederation(Endpoint):
    """A Federation endpoint on a MemoryHub (threads in one process; for fast tests)."""

    def __init__(
        self,
        hub: MemoryHub,
        job_id: str,
        local: Party,
        parties: Iterable[Party],
        *,
        codec: Codec | None = None,
        faults: FaultPlan | None = None,
        settings: FederationSettings | None = None,
    ) -> None:
        transport: Transport = MemoryTransport(hub)
        self.faults = None if faults is None else FaultyTransport(transport, faults)
        super().__init__(
            job_id=job_id,
            local=local,
            parties=parties,
            inbox=hub.inbox(local.party_id),
            transport=self.faults or transport,
            codec=codec or SerdeCodec(),
            settings=settings or hub.settings,
        )
