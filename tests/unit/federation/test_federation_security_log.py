"""The security log: which refusals are events, their fields, and the per-peer rate limit."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from chaihuo.core import InvalidInputError, JsonLineFormatter
from chaihuo.federation import (
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    PermissionDeniedError,
    ProtocolViolationError,
    UnknownPartyError,
)
from chaihuo.federation._security_log import (
    Caller,
    SecurityEvent,
    SecurityEvents,
    event_kind,
    peer_address,
)
from chaihuo.serde import SerdeError


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log() -> Iterator[_Keep]:
    handler = _Keep()
    logger = logging.getLogger("chaihuo.security")
    level = logger.level
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def _event(peer: str = "10.0.0.7:5001", kind: str = "malformed") -> SecurityEvent:
    return SecurityEvent(kind, peer, "bad chunk", party="guest:9999")  # type: ignore[arg-type]


def _summaries(handler: _Keep) -> list[logging.LogRecord]:
    return [r for r in handler.records if hasattr(r, "suppressed")]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (PermissionDeniedError("x"), "permission_denied"),
        (UnknownPartyError("x"), "permission_denied"),
        (MessageTooLargeError("x"), "too_large"),
        (InvalidInputError("x"), "malformed"),
        (SerdeError("x"), "malformed"),
        (ProtocolViolationError("x"), "protocol_violation"),
        (JobCancelledError("x"), None),
        (FederationError("x"), None),
        (RuntimeError("x"), None),
    ],
)
def test_which_refusals_are_events(error: BaseException, kind: str | None) -> None:
    assert event_kind(error) == kind


def test_peer_addresses_from_grpc() -> None:
    assert peer_address("ipv4:127.0.0.1:5123") == "127.0.0.1:5123"
    assert peer_address("ipv6:%5B::1%5D:5123") == "[::1]:5123"
    assert peer_address("unix:/tmp/socket") == "unix:/tmp/socket"


def test_one_record_per_event_with_every_field(log: _Keep) -> None:
    events = SecurityEvents("10000")
    caller = Caller("10.0.0.7:5001", certificate="10001", serial="ab", party="guest:9999", job="j")
    assert events.refused(PermissionDeniedError("sender does not match"), caller)
    assert not events.refused(JobCancelledError("job finished"), caller)
    (record,) = log.records
    assert record.levelno == logging.WARNING and record.name == "chaihuo.security"
    line = json.loads(JsonLineFormatter().format(record))
    assert {key: line[key] for key in ("node", "kind", "peer", "party", "certificate", "job")} == {
        "node": "10000",
        "kind": "permission_denied",
        "peer": "10.0.0.7:5001",
        "party": "guest:9999",
        "certificate": "CN=10001 serial=ab",
        "job": "j",
    }
    assert line["reason"] == "sender does not match"
    assert "10.0.0.7:5001" in line["message"] and "guest:9999" in line["message"]


def test_long_reasons_are_cut(log: _Keep) -> None:
    SecurityEvents("10000").report(SecurityEvent("malformed", "10.0.0.7:1", "x" * 10_000))
    assert len(log.records[0].reason) == 300  # type: ignore[attr-defined]


def test_burst_per_kind_and_host_whatever_the_port(log: _Keep) -> None:
    events = SecurityEvents("10000", burst=3, clock=_Clock())
    logged = [events.report(_event(f"10.0.0.7:{port}")) for port in range(5000, 5010)]
    assert logged == [True] * 3 + [False] * 7
    assert events.report(_event("10.0.0.8:5000"))  # another host
    assert events.report(_event("10.0.0.7:5000", kind="too_large"))  # another kind
    assert len(log.records) == 5 and _summaries(log) == []


def test_summary_once_the_window_passed(log: _Keep) -> None:
    clock = _Clock()
    events = SecurityEvents("10000", burst=2, window_s=60, clock=clock)
    for _ in range(7):
        events.report(_event())
    clock.now += 59.9
    assert not events.report(_event())  # still the same window
    assert _summaries(log) == []
    clock.now += 0.2
    assert events.report(_event("10.0.0.99:1"))  # any event closes windows that passed
    (summary,) = _summaries(log)
    assert summary.suppressed == 6 and summary.kind == "malformed"  # type: ignore[attr-defined]
    assert summary.peer == "10.0.0.7"  # type: ignore[attr-defined]
    assert "6 more malformed events from 10.0.0.7 suppressed" in summary.getMessage()
    assert events.report(_event())  # a new window for the flooding host
    events.flush()
    assert len(_summaries(log)) == 1  # nothing more was held back


def test_flush_summarises_what_was_held_back(log: _Keep) -> None:
    events = SecurityEvents("10000", burst=1, clock=_Clock())
    for kind in ("malformed", "too_large"):
        for _ in range(4):
            events.report(_event(kind=kind))
    events.report(_event("10.0.0.8:1"))
    events.flush()
    assert sorted((r.kind, r.suppressed) for r in _summaries(log)) == [  # type: ignore[attr-defined]
        ("malformed", 3),
        ("too_large", 3),
    ]
    events.flush()
    assert len(_summaries(log)) == 2


def test_threads_share_one_limit(log: _Keep) -> None:
    events = SecurityEvents("10000", burst=10, clock=_Clock())
    start = threading.Barrier(8)

    def flood() -> None:
        start.wait()
        for _ in range(100):
            events.report(_event())

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events.flush()
    (summary,) = _summaries(log)
    assert len(log.records) == 11 and summary.suppressed == 790  # type: ignore[attr-defined]


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError, match="burst"):
        SecurityEvents("1", burst=0)
    with pytest.raises(ValueError, match="window"):
        SecurityEvents("1", window_s=0)


def test_json_lines_of_a_summary(log: _Keep) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("chaihuo.security")
    logger.addHandler(handler)
    try:
        events = SecurityEvents("10000", burst=1, clock=_Clock())
        events.report(_event())
        events.report(_event())
        events.flush()
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line.get("suppressed") for line in lines] == [None, 1]
