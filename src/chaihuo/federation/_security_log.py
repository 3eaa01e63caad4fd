"""Security events of a node: each refused connection or request logged, rate-limited per peer."""

from __future__ import annotations

import collections
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from chaihuo.core import spec_for_exception

__all__ = [
    "SECURITY_LOGGER",
    "Caller",
    "SecurityEvent",
    "SecurityEventKind",
    "SecurityEvents",
    "event_kind",
    "peer_address",
]

SECURITY_LOGGER: Final = "chaihuo.security"
SecurityEventKind = Literal[
    "tls_handshake_failed", "permission_denied", "too_large", "malformed", "protocol_violation"
]
# A refusal's kind follows from the gRPC status its error maps to in the catalog.
_KIND_BY_STATUS: Final[dict[str, SecurityEventKind]] = {
    "PERMISSION_DENIED": "permission_denied",
    "UNAUTHENTICATED": "permission_denied",
    "NOT_FOUND": "permission_denied",  # a sender or destination outside the job's roster
    "RESOURCE_EXHAUSTED": "too_large",
    "INVALID_ARGUMENT": "malformed",
    "OUT_OF_RANGE": "malformed",
}
_REASON_CHARS: Final = 300  # a peer's bytes never make a log record long
_MAX_TRACKED: Final = 4096  # (kind, host) windows held at once; the oldest is summarised first


def event_kind(exc: BaseException) -> SecurityEventKind | None:
    """The security event a refused request is, by its error code; None for other failures.

    Cancelled jobs, timeouts and internal errors are not the peer's doing and are not events.
    """
    spec = spec_for_exception(exc)
    if spec.code == "FEDERATION_PROTOCOL":
        return "protocol_violation"
    return _KIND_BY_STATUS.get(spec.grpc_status)


def peer_address(peer: str) -> str:
    """`host:port` from a gRPC peer string (`ipv4:10.0.0.7:5123`, `ipv6:%5B::1%5D:5123`)."""
    scheme, separator, rest = peer.partition(":")
    if separator and scheme in {"ipv4", "ipv6"}:
        return urllib.parse.unquote(rest)
    return peer


def _host(address: str) -> str:
    """The host of `host:port`: a peer opens each connection from a new port."""
    host, separator, port = address.rpartition(":")
    if separator and port.isdigit() and not address.startswith("unix"):
        return host.removeprefix("[").removesuffix("]")
    return address


@dataclass
class Caller:
    """What a node knows of whoever sent a request, filled in as the request is read."""

    peer: str
    certificate: str | None = None  # the party id (CN) of the verified client certificate
    serial: str | None = None  # that certificate's serial, hexadecimal
    party: str | None = None  # the sender the envelope claims, once it parsed
    job: str | None = None


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One refusal: what kind, from which address, who the peer claimed to be, and why."""

    kind: SecurityEventKind
    peer: str
    reason: str
    party: str | None = None
    certificate: str | None = None
    job: str | None = None

    @classmethod
    def from_caller(cls, kind: SecurityEventKind, caller: Caller, reason: str) -> SecurityEvent:
        """An event for a request, with everything the node learnt of its sender."""
        certificate = caller.certificate
        if certificate is not None and caller.serial is not None:
            certificate = f"CN={certificate} serial={caller.serial}"
        elif certificate is not None:
            certificate = f"CN={certificate}"
        return cls(kind, caller.peer, reason, caller.party, certificate, caller.job)


@dataclass
class _Window:
    """Events of one (kind, host) since `start`: how many were logged and how many were not."""

    start: float
    peer: str
    logged: int = 0
    suppressed: int = 0


class SecurityEvents:
    """A node's security log: one WARNING record per refusal on the `chaihuo.security` logger.

    Records carry `extra` fields node, kind, peer (host:port), party (the claimed sender, or the
    party a connection was meant to reach), certificate (`CN=... serial=...` of the verified
    client certificate), job and reason, so `JsonLineFormatter` writes them as JSON keys.

    Rate limit: at most `burst` records per (kind, peer host) in each `window_s`; later events
    of that key are counted, and one summary record ("N more ... suppressed", field
    `suppressed`) follows once the window has passed — on the next event of any key, or at
    `flush()`. Thread-safe: every handler thread of a node shares one instance.
    """

    def __init__(
        self,
        node: str,
        *,
        burst: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or window_s <= 0:
            raise ValueError("burst must be at least 1 and window_s positive")
        self.node = node
        self.burst = burst
        self.window_s = window_s
        self._clock = clock
        self._logger = logging.getLogger(SECURITY_LOGGER)
        self._lock = threading.Lock()
        self._windows: collections.OrderedDict[tuple[str, str], _Window] = collections.OrderedDict()

    def report(self, event: SecurityEvent) -> bool:
        """Log `event` unless its (kind, host) is over the burst; True if it was logged."""
        now = self._clock()
        key = (event.kind, _host(event.peer))
        with self._lock:
            closed = self._close_expired(now)
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(now, event.peer)
                if len(self._windows) > _MAX_TRACKED:
                    closed.append(self._windows.popitem(last=False))
            logged = window.logged < self.burst
            if logged:
                window.logged += 1
            else:
                window.suppressed += 1
        for closed_key, closed_window in closed:
            self._summarise(closed_key, closed_window)
        if logged:
            self._emit(event)
        return logged

    def refused(self, exc: BaseException, caller: Caller) -> bool:
        """Report a refused request if its error is a security event; True if logged."""
        kind = event_kind(exc)
        if kind is None:
            return False
        return self.report(SecurityEvent.from_caller(kind, caller, str(exc)))

    def flush(self) -> None:
        """Summarise every window with suppressed events now, and start afresh (node stop)."""
        with self._lock:
            windows = list(self._windows.items())
            self._windows.clear()
        for key, window in windows:
            self._summarise(key, window)

    def _close_expired(self, now: float) -> list[tuple[tuple[str, str], _Window]]:
        """Remove windows older than window_s; they are in start order (caller holds the lock)."""
        closed = []
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if now - window.start < self.window_s:
                break
            del self._windows[key]
            closed.append((key, window))
        return closed

    def _emit(self, event: SecurityEvent) -> None:
        reason = event.reason
        if len(reason) > _REASON_CHARS:
            reason = reason[: _REASON_CHARS - 3] + "..."
        claims = "".join(
            f" {name}={value}"
            for name, value in (
                ("party", event.party),
                ("certificate", event.certificate),
                ("job", event.job),
            )
            if value is not None
        )
        self._logger.warning(
            "party %s refused %s from %s%s: %s",
            self.node,
            event.kind,
            event.peer,
            claims,
            reason,
            extra={
                "node": self.node,
                "kind": event.kind,
                "peer": event.peer,
                "party": event.party,
                "certificate": event.certificate,
                "job": event.job,
                "reason": reason,
            },
        )

    def _summarise(self, key: tuple[str, str], window: _Window) -> None:
        if window.suppressed == 0:
            return
        kind, host = key
        self._logger.warning(
            "party %s: %d more %s events from %s suppressed (over %d in %g s)",
            self.node,
            window.suppressed,
            kind,
            host,
            self.burst,
            self.window_s,
            extra={
                "node": self.node,
                "kind": kind,
                "peer": host,
                "suppressed": window.suppressed,
            },
        )
