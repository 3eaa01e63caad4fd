"""The gRPC sending side: pooled channels per peer, one deadline-bound stream per attempt."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import grpc

from chaihuo.core import ChaihuoError
from chaihuo.federation._envelope import Envelope
from chaihuo.federation._grpc_server import CODE_METADATA
from chaihuo.federation._interface import (
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    PermissionDeniedError,
    UnknownPartyError,
)
from chaihuo.federation._issuers import IssuerPins
from chaihuo.federation._proto import federation_pb2 as pb
from chaihuo.federation._security_log import SecurityEvent, SecurityEvents
from chaihuo.federation._settings import FederationSettings
from chaihuo.federation._tls import party_server_name
from chaihuo.federation._transport import SendOutcome, TransientSendError, error_from_code
from chaihuo.federation._wire import SEND_METHOD, encode_chunks

__all__ = ["ChannelPool", "ClientCredentials", "GrpcTransport", "channel_options"]

# Retried by the endpoint's loop. DEADLINE_EXCEEDED is safe to retry: delivery is idempotent
# thanks to receiver-side dedup (R13, R14, R17).
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_POLL_S = 0.05  # how often a running call checks for cancellation of its job
# A peer refusing our certificate (unknown CA, expired, no certificate) just closes the
# connection during the handshake; say so, since the raw status reads like a network fault.
_TLS_SIGNS = ("andshake", "Socket closed", "Verification", "CERTIFICATE")
_TLS_HINT = (
    " [the TLS handshake failed or the peer closed the connection: check that both parties' "
    "certificates come from the federation CA, are unexpired and name the right party]"
)
# Set while no connection was established: a TLS sign then means the handshake failed.
_NOT_CONNECTED = "failed to connect"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """PEM bytes a node presents as a client (None: development plaintext)."""

    ca_cert: bytes
    cert: bytes
    key: bytes
    issuers: IssuerPins = field(default_factory=lambda: IssuerPins({}))


def channel_options(settings: FederationSettings, party_id: str | None) -> list[tuple[str, object]]:
    """Client channel arguments: message limits (R04), keepalive that the server tolerates (R17),
    and, with TLS, the server name every party certificate carries for its party id."""
    keep = settings.keepalive
    retry = settings.retry
    reconnect_ms = (int(retry.initial_backoff_s * 1000) or 1, int(retry.max_backoff_s * 1000) or 1)
    options: list[tuple[str, object]] = [
        ("grpc.max_send_message_length", settings.max_grpc_message_bytes),
        ("grpc.max_receive_message_length", settings.max_grpc_message_bytes),
        ("grpc.keepalive_time_ms", keep.client_time_ms),
        ("grpc.keepalive_timeout_ms", keep.client_timeout_ms),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        # Our own retry loop is the only one: no service config, no hidden re-sends (R17).
        ("grpc.enable_retries", 0),
        # A channel that failed to connect fails calls fast until its reconnect timer fires;
        # cap that timer at our backoff so a healed partition is seen within seconds (R16),
        # not after gRPC's default of up to 120 s.
        ("grpc.initial_reconnect_backoff_ms", reconnect_ms[0]),
        ("grpc.min_reconnect_backoff_ms", reconnect_ms[0]),
        ("grpc.max_reconnect_backoff_ms", reconnect_ms[1]),
        ("grpc.primary_user_agent", "chaihuo-federation"),
    ]
    if party_id is not None:
        options.append(("grpc.ssl_target_name_override", party_server_name(party_id)))
    return options


class ChannelPool:
    """One channel per (peer party, address), shared by every job of a node."""

    def __init__(
        self,
        settings: FederationSettings,
        credentials: ClientCredentials | None,
        interceptors: Sequence[grpc.StreamUnaryClientInterceptor] = (),
        security: SecurityEvents | None = None,
    ) -> None:
        self.settings = settings
        self.security = security
        self._credentials = credentials
        self._interceptors = tuple(interceptors)
        self._lock = threading.Lock()
        self._channels: dict[tuple[str, str], grpc.Channel] = {}
        self._methods: dict[tuple[str, str], grpc.StreamUnaryMultiCallable[bytes, bytes]] = {}
        self._closed = False

    def method(self, party_id: str, address: str) -> grpc.StreamUnaryMultiCallable[bytes, bytes]:
        """The Send callable for a peer, opening its channel on first use."""
        key = (party_id, address)
        with self._lock:
            if self._closed:
                raise FederationError("this node is stopped: it sends no more messages")
            found = self._methods.get(key)
            if found is not None:
                return found
            channel = self._channels.get(key)
            if channel is None:
                channel = self._channels[key] = self._open(party_id, address)
            method = self._methods[key] = channel.stream_unary(SEND_METHOD)
            return method

    def channel(self, party_id: str, address: str) -> grpc.Channel:
        """The pooled channel to a peer (for services beside federation, e.g. a node's control
        calls), opened with the same credentials, limits and keepalive on first use."""
        key = (party_id, address)
        with self._lock:
            if self._closed:
                raise FederationError("this node is stopped: it opens no more channels")
            found = self._channels.get(key)
            if found is None:
                found = self._channels[key] = self._open(party_id, address)
            return found

    def _open(self, party_id: str, address: str) -> grpc.Channel:
        creds = self._credentials
        if creds is None:
            channel = grpc.insecure_channel(address, channel_options(self.settings, None))
        else:
            roots = creds.issuers.roots(party_id, creds.ca_cert)  # a pinned partner: its CA only
            tls = grpc.ssl_channel_credentials(roots, creds.key, creds.cert)
            options = channel_options(self.settings, party_id)
            channel = grpc.secure_channel(address, tls, options)
        return (
            grpc.intercept_channel(channel, *self._interceptors) if self._interceptors else channel
        )

    def close(self) -> None:
        """Close every channel (in-flight calls fail CANCELLED)."""
        with self._lock:
            self._closed = True
            channels = list(self._channels.values())
            self._channels.clear()
            self._methods.clear()
        for channel in channels:
            channel.close()


class GrpcTransport:
    """Sends one message per attempt as a chunked client stream, always with a deadline (R17)."""

    def __init__(self, pool: ChannelPool, addresses: Mapping[str, str]) -> None:
        self.pool = pool
        self.addresses = dict(addresses)

    def describe(self, party_id: str) -> str:
        """The roster address of a party."""
        return self.addresses.get(party_id, "<no address>")

    def send(
        self, envelope: Envelope, payload: bytes, *, timeout: float, abort: threading.Event
    ) -> SendOutcome:
        """One attempt: stream the chunks, wait for the Ack, translate any failure."""
        dst = envelope.key.dst
        address = self.addresses.get(dst.party_id)
        if address is None:
            raise UnknownPartyError(f"no address for party {dst.party_id} in the roster")
        method = self.pool.method(dst.party_id, address)
        chunks = encode_chunks(envelope, payload, self.pool.settings.chunk_bytes)
        future = method.future(chunks, timeout=timeout, wait_for_ready=False)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        while not done.wait(_POLL_S):
            if abort.is_set():
                future.cancel()
                raise JobCancelledError(f"sending {envelope.key} was interrupted")
        try:
            answer = future.result()
        except grpc.RpcError as exc:
            self._report_handshake(exc, envelope, address)
            raise _translate(exc, envelope, f"{dst} at {address}") from exc
        except grpc.FutureCancelledError as exc:
            raise JobCancelledError(f"sending {envelope.key} was cancelled") from exc
        return pb.Ack.FromString(answer).duplicate

    def _report_handshake(self, exc: grpc.RpcError, envelope: Envelope, address: str) -> None:
        """A failed TLS handshake with a peer is a security event on this side too.

        The server side of a refused handshake is invisible from Python (gRPC core closes the
        connection before any handler runs), so each node logs the handshakes it saw fail
        as a client: the peer's certificate refused here, or ours refused there.
        """
        call: grpc.Call = exc  # type: ignore[assignment]  # every RpcError from a call is a Call
        details = call.details() or ""
        security = self.pool.security
        if (
            security is None
            or call.code() not in _TRANSIENT
            or _NOT_CONNECTED not in details
            or not any(sign in details for sign in _TLS_SIGNS)
        ):
            return
        party, job = envelope.key.dst.party_id, envelope.key.job_id
        security.report(SecurityEvent("tls_handshake_failed", address, details, party, job=job))

    def close(self) -> None:
        """Nothing to release: channels belong to the node's pool, shared across jobs."""


def _translate(exc: grpc.RpcError, envelope: Envelope, peer: str) -> Exception:
    """A failed call as the retry loop's TransientSendError or the peer's typed error."""
    call: grpc.Call = exc  # type: ignore[assignment]  # every RpcError from a call is a Call
    status, details = call.code(), call.details() or ""
    trailer = dict(call.trailing_metadata() or ())
    code = trailer.get(CODE_METADATA)
    if isinstance(code, str):
        return error_from_code(code, f"{peer} refused {envelope.key}: {details}", peer=peer)
    if status in _TRANSIENT:
        if any(sign in details for sign in _TLS_SIGNS):
            details += _TLS_HINT
        return TransientSendError(status.name, details)
    factory: Callable[[str], ChaihuoError] = {
        grpc.StatusCode.RESOURCE_EXHAUSTED: MessageTooLargeError,
        grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
        grpc.StatusCode.UNAUTHENTICATED: PermissionDeniedError,
        grpc.StatusCode.CANCELLED: JobCancelledError,
    }.get(status, FederationError)
    return factory(f"sending {envelope.key} to {peer} failed: {status.name}: {details}")
