"""A task process's Federation relayed through its own node's gateway, and the gateway framing."""

# A task process of a node opens no port (docs/node.md): it reaches its partners through the
# node's gateway, a local gRPC service on a Unix socket (or loopback), with the per-task token
# the node granted it. The worker encodes and decodes payloads itself, with its own codec (serde
# and the job's keyring); the node moves opaque payload bytes through a node-side Endpoint that
# adds every guarantee of the federation: tags, sequence numbers, digests, dedup, retries.
#
# Wire framing of `chaihuo.Gateway` (generic bytes handlers, no protobuf, never pickle). Every
# gRPC message is one frame: one type byte, then its body.
#   b"H" + JSON object   a header: names, parties as [role, party id], sizes, a timeout
#   b"D" + bytes         a slice of payload (at most `chunk_bytes`, 4 MiB by default)
# Remote (client stream -> empty reply):
#   H{"job", "local", "tag", "to": [[role, id], ...], "size"}, then D frames totalling size
# Get (one request -> server stream), payloads in the order of "from":
#   H{"job", "local", "tag", "from": [[role, id], ...], "timeout"}
#   -> for each source: H{"size"}, then D frames totalling size
# Metadata `chaihuo-token` carries the token. A refusal is the catalog's gRPC status with the
# trailers `chaihuo-code` (as the federation server sends) and `chaihuo-error-bin` (JSON message
# and details), so the worker raises the very error class the node raised, details included.

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeVar

import grpc

from chaihuo.core import ChaihuoError, ConfigError, InvalidInputError
from chaihuo.federation._codec import Codec, SerdeCodec
from chaihuo.federation._envelope import check_job_id, check_tag, parse_party
from chaihuo.federation._grpc_server import CODE_METADATA
from chaihuo.federation._interface import (
    Federation,
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    Party,
    PeerUnreachableError,
    PermissionDeniedError,
    ReceiveTimeoutError,
    UnknownPartyError,
)
from chaihuo.federation._settings import FederationSettings
from chaihuo.federation._transport import ERROR_CLASSES
from chaihuo.serde import PayloadTooLargeError, SerdeError, UnsupportedTypeError

__all__ = [
    "ERROR_METADATA",
    "GET_METHOD",
    "REMOTE_METHOD",
    "SERVICE",
    "TOKEN_METADATA",
    "PayloadReader",
    "RelayFederation",
    "check_peers",
    "error_trailers",
    "head_frame",
    "join_payload",
    "parse_head",
    "parse_parties",
    "payload_frames",
]

SERVICE: Final = "chaihuo.Gateway"
REMOTE_METHOD: Final = f"/{SERVICE}/Remote"
GET_METHOD: Final = f"/{SERVICE}/Get"
TOKEN_METADATA: Final = "chaihuo-token"  # noqa: S105 - the metadata key, not a token
ERROR_METADATA: Final = "chaihuo-error-bin"
_HEAD, _DATA = b"H", b"D"
_MAX_HEAD: Final = 64 << 10
_MAX_PARTIES: Final = 4096
_TRAILER_CHARS: Final = 4000  # gRPC refuses metadata above 8 KiB by default
_T = TypeVar("_T")
_GRACE_S: Final = 10.0  # the gateway answers first; the call's own deadline is a backstop
_CLASSES: Final[dict[str, type[ChaihuoError]]] = {
    **ERROR_CLASSES,
    **{cls.code: cls for cls in (InvalidInputError, ConfigError, SerdeError)},
    **{cls.code: cls for cls in (PayloadTooLargeError, UnsupportedTypeError)},
}


def head_frame(fields: Mapping[str, object]) -> bytes:
    """A header frame."""
    return _HEAD + json.dumps(fields, separators=(",", ":")).encode()


def payload_frames(payload: bytes | bytearray, chunk_bytes: int) -> Iterator[bytes]:
    """Data frames of a payload, made lazily as gRPC pulls them (one copy of each slice)."""
    view = memoryview(payload)
    for start in range(0, len(payload), chunk_bytes):
        yield b"".join((_DATA, view[start : start + chunk_bytes]))


def parse_head(raw: bytes, keys: frozenset[str]) -> dict[str, Any]:
    """A header frame's fields, exactly `keys`; anything else is InvalidInputError (R02)."""
    if not isinstance(raw, bytes) or raw[:1] != _HEAD or len(raw) > _MAX_HEAD:
        raise InvalidInputError("expected a gateway header frame")
    try:
        fields = json.loads(raw[1:])
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise InvalidInputError(f"malformed gateway header: {exc}") from exc
    if not isinstance(fields, dict) or set(fields) != keys:
        raise InvalidInputError("gateway header has the wrong fields", expected=sorted(keys))
    return fields


def parse_parties(value: object) -> list[Party]:
    """Parties as [role, party id] pairs from a header."""
    if not isinstance(value, list) or len(value) > _MAX_PARTIES:
        raise InvalidInputError("parties must be a list of [role, party id]")
    parties = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise InvalidInputError("a party must be [role, party id]")
        parties.append(parse_party(item[0], item[1]))
    return parties


def _wire(parties: Iterable[Party]) -> list[list[str]]:
    return [[party.role.value, party.party_id] for party in parties]


def size_field(value: object) -> int:
    """A non-negative payload size from a header."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInputError("size must be a non-negative integer")
    return value


def seconds_field(value: object) -> float:
    """A non-negative, finite number of seconds from a header."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidInputError("timeout must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError("timeout must be finite and non-negative")
    return float(value)


class PayloadReader:
    """Data frames into one preallocated buffer: the payload is held once, never twice (R04)."""

    def __init__(self, size: int) -> None:
        self.buffer = bytearray(size)
        self._view = memoryview(self.buffer)
        self.filled = 0

    @property
    def complete(self) -> bool:
        """Whether every declared byte arrived."""
        return self.filled == len(self.buffer)

    def add(self, raw: bytes) -> None:
        """Append one data frame; more bytes than declared is InvalidInputError."""
        if not isinstance(raw, bytes) or raw[:1] != _DATA:
            raise InvalidInputError("expected a gateway data frame")
        end = self.filled + len(raw) - 1
        if end > len(self.buffer):
            raise InvalidInputError(f"more payload than the declared {len(self.buffer)} bytes")
        self._view[self.filled : end] = memoryview(raw)[1:]
        self.filled = end


def join_payload(frames: Iterable[bytes], size: int) -> bytes:
    """The data frames of a stream as one payload of exactly `size` bytes.

    Frames are held until the stream ends, then joined once into the `bytes` the Endpoint
    sends: memory is never allocated ahead of data actually received.
    """
    parts: list[memoryview] = []
    filled = 0
    for raw in frames:
        if not isinstance(raw, bytes) or raw[:1] != _DATA:
            raise InvalidInputError("expected a gateway data frame")
        filled += len(raw) - 1
        if filled > size:
            raise InvalidInputError(f"more payload than the declared {size} bytes")
        parts.append(memoryview(raw)[1:])
    if filled != size:
        raise InvalidInputError(f"stream ended after {filled} of {size} bytes")
    return b"".join(parts)


def check_peers(
    peers: Sequence[Party], known: frozenset[Party], job_id: str, verb: str
) -> list[Party]:
    """`peers` as a list if every one is in the job's roster, none twice (as Endpoint checks)."""
    if isinstance(peers, Party):
        raise TypeError("pass a sequence of parties, e.g. [party]")
    listed = list(peers)
    if not listed:
        raise UnknownPartyError(f"nobody to {verb}: the party list is empty")
    unknown = [str(party) for party in listed if party not in known]
    if unknown:
        raise UnknownPartyError(
            f"cannot {verb} {', '.join(unknown)}: not in job {job_id}", unknown=unknown
        )
    if len(set(listed)) != len(listed):
        raise UnknownPartyError(f"a party is listed twice in {verb} {listed}")
    return listed


def error_trailers(exc: ChaihuoError) -> tuple[tuple[str, str | bytes], ...]:
    """The trailers that let the worker rebuild `exc` (code, message, JSON-safe details)."""
    details = json.dumps(exc.details, default=str)
    body = {
        "message": exc.message[:_TRAILER_CHARS],
        "details": json.loads(details) if len(details) <= _TRAILER_CHARS else {},
    }
    return ((CODE_METADATA, exc.code), (ERROR_METADATA, json.dumps(body).encode()))


def _rebuild(code: str, blob: object, fallback: str) -> ChaihuoError:
    message, details = fallback, {}
    try:
        body = json.loads(blob) if isinstance(blob, bytes) else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
        if isinstance(body.get("details"), dict):
            details = {str(key): value for key, value in body["details"].items()}
    cls = _CLASSES.get(code)
    if cls is None:
        return FederationError(message, **{**details, "peer_code": code})
    return cls(message, **details)


class RelayFederation(Federation):
    """One (role, party) of one job in a task process, through its node's gateway.

    `address` is the gateway's (`unix:/path` or `127.0.0.1:port`), `token` the one the node
    granted this task. Objects are encoded and decoded here with `codec`; the node enforces
    everything else (duplicate tags, sizes, the roster, cancellation) and its errors arrive
    here as the same typed errors.
    """

    def __init__(
        self,
        address: str,
        token: str,
        job_id: str,
        local: Party,
        parties: Iterable[Party],
        *,
        codec: Codec | None = None,
        settings: FederationSettings | None = None,
    ) -> None:
        self._job_id = check_job_id(job_id)
        self._local = local
        self._parties = frozenset(parties) | {local}
        self._codec = codec or SerdeCodec()
        self._settings = settings or FederationSettings()
        self._address = address
        self._metadata = ((TOKEN_METADATA, token),)
        limit = self._settings.max_grpc_message_bytes
        self._channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_send_message_length", limit),
                ("grpc.max_receive_message_length", limit),
                ("grpc.enable_retries", 0),
                ("grpc.enable_http_proxy", 0),  # the token never goes through a proxy
            ],
        )
        self._remote: grpc.StreamUnaryMultiCallable[bytes, bytes]
        self._remote = self._channel.stream_unary(REMOTE_METHOD)
        self._get: grpc.UnaryStreamMultiCallable[bytes, bytes]
        self._get = self._channel.unary_stream(GET_METHOD)
        self._lock = threading.Lock()
        self._calls: set[grpc.RpcContext] = set()
        self._closed = False

    @property
    def job_id(self) -> str:
        """The job this federation serves."""
        return self._job_id

    @property
    def local(self) -> Party:
        """The (role, party) this federation speaks for."""
        return self._local

    def remote(self, obj: object, tag: str, to: Sequence[Party]) -> None:
        """Encode here, stream the payload to the gateway; returns once the node delivered it."""
        check_tag(tag)
        destinations = check_peers(to, self._parties, self._job_id, "send to")
        self._raise_if_closed()
        payload = self._codec.encode(obj)
        limit = self._settings.max_payload_bytes
        if len(payload) > limit:
            raise MessageTooLargeError(
                f"message {tag!r} of {len(payload)} bytes exceeds the limit of {limit}",
                tag=tag,
                size=len(payload),
            )
        head = head_frame(
            {
                "job": self._job_id,
                "local": _wire([self._local])[0],
                "tag": tag,
                "to": _wire(destinations),
                "size": len(payload),
            }
        )
        frames = iter([head, *payload_frames(payload, self._settings.chunk_bytes)])
        deadline = self._settings.send_deadline_s(len(payload)) + _GRACE_S
        future = self._remote.future(frames, timeout=deadline, metadata=self._metadata)
        self._run(future, future.result, f"sending {tag!r}")

    def get(self, tag: str, frm: Sequence[Party], timeout: float | None = None) -> list[object]:
        """Wait at the node for `tag` from each party in `frm`; decode each payload here."""
        check_tag(tag)
        sources = check_peers(frm, self._parties, self._job_id, "receive from")
        self._raise_if_closed()
        wait = self._settings.receive_timeout_s if timeout is None else timeout
        request = head_frame(
            {
                "job": self._job_id,
                "local": _wire([self._local])[0],
                "tag": tag,
                "from": _wire(sources),
                "timeout": wait,
            }
        )
        call = self._get(request, timeout=wait + _GRACE_S, metadata=self._metadata)
        payloads = self._run(call, lambda: _read_payloads(call, len(sources)), f"receiving {tag!r}")
        return [self._codec.decode(payload) for payload in payloads]

    def close(self) -> None:
        """Cancel calls in flight and close the channel; pending and later calls raise."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            calls = list(self._calls)
        for call in calls:
            call.cancel()
        self._channel.close()

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise FederationError(f"federation {self._local} of job {self._job_id} is closed")

    def _run(self, call: grpc.RpcContext, wait: Callable[[], _T], what: str) -> _T:
        """Wait for a call that `close` can cancel; any failure as the node's typed error."""
        with self._lock:
            if self._closed:
                call.cancel()
            self._calls.add(call)
        try:
            return wait()
        except (grpc.RpcError, grpc.FutureCancelledError) as exc:
            self._raise_if_closed()
            raise self._translate(exc, what) from exc
        finally:
            call.cancel()  # a no-op once the call finished; stops it if reading it failed
            with self._lock:
                self._calls.discard(call)

    def _translate(self, exc: Exception, what: str) -> ChaihuoError:
        if not isinstance(exc, grpc.RpcError):
            return JobCancelledError(f"{what} was cancelled")
        call: grpc.Call = exc  # type: ignore[assignment]  # every RpcError from a call is a Call
        status, details = call.code(), call.details() or ""
        code = dict(call.trailing_metadata() or ()).get(CODE_METADATA)
        if isinstance(code, str):
            blob = dict(call.trailing_metadata() or ()).get(ERROR_METADATA)
            return _rebuild(code, blob, details)
        text = f"{what} through the gateway at {self._address} failed: {status.name}: {details}"
        factory: Callable[[str], ChaihuoError] = {
            grpc.StatusCode.UNAVAILABLE: PeerUnreachableError,
            grpc.StatusCode.DEADLINE_EXCEEDED: (
                ReceiveTimeoutError if what.startswith("receiving") else PeerUnreachableError
            ),
            grpc.StatusCode.RESOURCE_EXHAUSTED: MessageTooLargeError,
            grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
            grpc.StatusCode.UNAUTHENTICATED: PermissionDeniedError,
            grpc.StatusCode.CANCELLED: JobCancelledError,
        }.get(status, FederationError)
        return factory(text)


def _read_payloads(frames: Iterator[bytes], count: int) -> list[bytearray]:
    """`count` payloads, each a size header then its data frames."""
    payloads: list[bytearray] = []
    reader: PayloadReader | None = None
    for raw in frames:
        if reader is None or reader.complete:
            if len(payloads) == count:
                raise FederationError("the gateway sent more payloads than sources")
            reader = PayloadReader(size_field(parse_head(raw, _SIZE_KEYS)["size"]))
            payloads.append(reader.buffer)
        else:
            reader.add(raw)
    if len(payloads) != count or (reader is not None and not reader.complete):
        raise FederationError("the gateway's answer ended early")
    return payloads


_SIZE_KEYS: Final = frozenset({"size"})
