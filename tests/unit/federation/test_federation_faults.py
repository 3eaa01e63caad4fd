"""The fault-injecting transport: seeded, counted, and transient to the retry loop."""

from __future__ import annotations

import hashlib
import threading

import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    Envelope,
    FaultPlan,
    FaultyTransport,
    MessageKey,
    Party,
    TransientSendError,
)

KEY = MessageKey("job", "t", Party(Role.GUEST, PartyId("1")), Party(Role.HOST, PartyId("2")))


class _Counting:
    def __init__(self) -> None:
        self.sent = 0

    def send(
        self, envelope: Envelope, payload: bytes, *, timeout: float, abort: threading.Event
    ) -> bool:
        self.sent += 1
        return False

    def describe(self, party_id: str) -> str:
        return f"test://{party_id}"

    def close(self) -> None:
        pass


def _outcomes(plan: FaultPlan, attempts: int) -> tuple[list[str], _Counting, FaultyTransport]:
    inner = _Counting()
    faulty = FaultyTransport(inner, plan)
    outcomes = []
    for index in range(attempts):
        key = MessageKey("job", f"t{index % 7}", KEY.src, KEY.dst)
        envelope = Envelope(key, 1, 0, hashlib.sha256(b"").digest())
        try:
            faulty.send(envelope, b"", timeout=1, abort=threading.Event())
            outcomes.append("ok")
        except TransientSendError as exc:
            assert exc.status == "UNAVAILABLE"
            outcomes.append("lost")
    return outcomes, inner, faulty


def test_same_seed_same_faults() -> None:
    plan = FaultPlan(drop=0.3, drop_ack=0.1, duplicate=0.2, seed=5)
    assert _outcomes(plan, 200)[0] == _outcomes(plan, 200)[0]
    assert _outcomes(plan, 200)[0] != _outcomes(plan.model_copy(update={"seed": 6}), 200)[0]


def test_counters_match_what_reached_the_inner_transport() -> None:
    outcomes, inner, faulty = _outcomes(FaultPlan(drop=0.3, drop_ack=0.2, duplicate=0.2), 1000)
    stats = faulty.stats
    assert stats.attempts == 1000
    assert 200 < stats.dropped < 400
    assert stats.delivered == 1000 - stats.dropped
    assert inner.sent == stats.delivered + stats.duplicated
    assert outcomes.count("lost") == stats.dropped + stats.acks_dropped
    assert "fault-injected" in faulty.describe("2")


def test_resend_after_ack_hits_each_key_once() -> None:
    outcomes, inner, faulty = _outcomes(FaultPlan(resend_after_ack=1.0), 14)
    assert outcomes == ["lost"] * 7 + ["ok"] * 7  # 7 distinct keys
    assert faulty.stats.resent == 7 and inner.sent == 14


def test_plan_is_validated() -> None:
    with pytest.raises(ValueError):
        FaultPlan(drop=1.5)
    with pytest.raises(ValueError):
        FaultPlan(dropp=0.1)  # type: ignore[call-arg]
