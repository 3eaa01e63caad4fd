"""A seeded fault-injecting Transport wrapper: drops, lost acks, duplicates and delays (R13-R15)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from chaihuo.federation._envelope import Envelope, MessageKey
from chaihuo.federation._transport import SendOutcome, TransientSendError, Transport

__all__ = ["FaultPlan", "FaultStats", "FaultyTransport"]


class FaultPlan(BaseModel):
    """Which faults to inject, each as the fraction of delivery attempts it hits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drop: float = Field(0.0, ge=0, le=1, description="Lost before delivery (looks UNAVAILABLE).")
    drop_ack: float = Field(0.0, ge=0, le=1, description="Delivered, but the ack is lost.")
    duplicate: float = Field(0.0, ge=0, le=1, description="Delivered twice.")
    resend_after_ack: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Messages whose first ack is lost, so the sender sends them again (R14).",
    )
    max_delay_s: float = Field(0.0, ge=0, le=60, description="Uniform delay before delivery.")
    seed: int = Field(0, description="Same seed, same faults for the same attempt sequence.")


@dataclass
class FaultStats:
    """What the wrapper did; the receiver's ReceiveStats say what was applied."""

    attempts: int = 0
    dropped: int = 0
    acks_dropped: int = 0
    duplicated: int = 0
    resent: int = 0
    delivered: int = 0


class FaultyTransport:
    """Wraps any Transport; every fault surfaces to the sender as a transient failure.

    A dropped message and a lost ack are indistinguishable to the sender (both raise
    TransientSendError "UNAVAILABLE"), exactly like a real network: the retry loop must
    resend, and the receiver must apply a message once however often it arrives (R13, R14).
    Delays run in the sending thread; sends to several peers run concurrently, so delays
    reorder arrivals across peers and tags (R15).
    """

    def __init__(self, inner: Transport, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan
        self.stats = FaultStats()
        # Faults must be reproducible from the seed; nothing here is secret.
        self._random = random.Random(plan.seed)  # noqa: S311
        self._lock = threading.Lock()
        self._acked_once: set[MessageKey] = set()

    def _draw(self, key: MessageKey) -> tuple[bool, bool, bool, float]:
        plan = self.plan
        with self._lock:
            self.stats.attempts += 1
            rolls = [self._random.random() for _ in range(5)]
            resend = key not in self._acked_once and rolls[4] < plan.resend_after_ack
            if resend:
                self._acked_once.add(key)
                self.stats.resent += 1
        return (
            rolls[0] < plan.drop,
            rolls[1] < plan.drop_ack or resend,
            rolls[2] < plan.duplicate,
            rolls[3] * plan.max_delay_s,
        )

    def send(
        self, envelope: Envelope, payload: bytes, *, timeout: float, abort: threading.Event
    ) -> SendOutcome:
        """One attempt through the fault plan."""
        drop, drop_ack, duplicate, delay = self._draw(envelope.key)
        if delay > 0:
            time.sleep(min(delay, timeout))
        if drop:
            with self._lock:
                self.stats.dropped += 1
            raise TransientSendError("UNAVAILABLE", f"injected drop of {envelope.key}")
        outcome = self.inner.send(envelope, payload, timeout=timeout, abort=abort)
        with self._lock:
            self.stats.delivered += 1
        if duplicate:
            with self._lock:
                self.stats.duplicated += 1
            self.inner.send(envelope, payload, timeout=timeout, abort=abort)
        if drop_ack:
            with self._lock:
                self.stats.acks_dropped += 1
            raise TransientSendError("UNAVAILABLE", f"injected loss of the ack of {envelope.key}")
        return outcome

    def describe(self, party_id: str) -> str:
        """The inner transport's description, marked as faulty."""
        return f"{self.inner.describe(party_id)} (fault-injected)"

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()
