"""A node's gateway: the local service through which its task processes send and receive."""

# Why a gateway: a node runs each task of a job in its own process, and a process that opened a
# port per job would need a port per job in every partner's firewall, a certificate and key in
# every worker, and would lose its messages when it exits. Instead the node keeps the only port
# (its long-lived mTLS server) and each worker talks to this gateway on a Unix socket in a 0700
# folder (loopback TCP where the platform has none), presenting the per-task token the node
# granted it (docs/node.md).
#
# Why a raw-codec Endpoint: the gateway serves each (job, local party) with an ordinary node-side
# Endpoint whose codec passes payload bytes through untouched (RawCodec). The worker encodes and
# decodes with its own codec (serde with the job's keyring); the node never builds an object
# from a partner's bytes. Every guarantee of the federation then holds unchanged because the
# very same code enforces it: tags, sequence numbers, digests, dedup, retries with backoff,
# size limits, chunking between nodes, cancellation, roster checks and the security log. The
# Endpoint lives as long as the job on this node, across the job's tasks, so a tag one task
# sent is a duplicate for the next. A destination on this same node (FATE's toy job: guest and
# host both party 9999) goes straight into the node's Inbox instead of through its own port.
#
# Authorisation: `grant` returns a fresh token (secrets.token_urlsafe) allowing exactly some
# local parties of one job; it is kept only as its SHA-256, so a lookup's timing says nothing
# of the stored tokens. A call without a valid token, or for a job or party its token does not
# allow, is refused PERMISSION_DENIED and logged as a security event of the node.

from __future__ import annotations

import collections
import hashlib
import ipaddress
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn, TypeVar

import grpc

from chaihuo.core import ChaihuoError, ConfigError, InvalidInputError, spec_for_exception
from chaihuo.federation._codec import RawCodec
from chaihuo.federation._endpoint import Endpoint
from chaihuo.federation._envelope import Envelope, MessageKey, check_job_id, check_tag, digest_of
from chaihuo.federation._grpc_client import GrpcTransport
from chaihuo.federation._interface import (
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    Party,
    PermissionDeniedError,
    UnknownPartyError,
)
from chaihuo.federation._mailbox import Inbox, fresh
from chaihuo.federation._relay import (
    SERVICE,
    TOKEN_METADATA,
    error_trailers,
    head_frame,
    join_payload,
    parse_head,
    parse_parties,
    payload_frames,
    seconds_field,
    size_field,
)
from chaihuo.federation._security_log import Caller, peer_address
from chaihuo.federation._settings import FederationSettings
from chaihuo.federation._transport import SendOutcome, Transport

if TYPE_CHECKING:
    from chaihuo.federation._grpc_node import GrpcNode

__all__ = ["Gateway"]

_REMOTE_KEYS: Final = frozenset({"job", "local", "tag", "to", "size"})
_GET_KEYS: Final = frozenset({"job", "local", "tag", "from", "timeout"})
_T = TypeVar("_T")
_TOMBSTONES: Final = 4096
_SOCKET: Final = "gateway.sock"
_MAX_SOCKET_PATH: Final = 100  # sun_path holds 104-108 bytes, depending on the platform


@dataclass(frozen=True, slots=True)
class _Grant:
    job_id: str
    parties: frozenset[Party]


class _LocalFirstTransport:
    """Delivers to this node's own Inbox in the sending thread; elsewhere over gRPC."""

    def __init__(self, inbox: Inbox, remote: Transport) -> None:
        self._inbox = inbox
        self._remote = remote

    def send(
        self, envelope: Envelope, payload: bytes, *, timeout: float, abort: threading.Event
    ) -> SendOutcome:
        """One attempt; the Inbox applies the same admission and dedup as for a peer's message."""
        if envelope.key.dst.party_id != self._inbox.party_id:
            return self._remote.send(envelope, payload, timeout=timeout, abort=abort)
        reservation = self._inbox.begin(envelope)
        if reservation is None:
            return True
        digest = digest_of(payload)  # in-process: the claim is the payload's own
        return self._inbox.commit(reservation, payload, digest, claimed=digest)

    def describe(self, party_id: str) -> str:
        """Where a party is reached."""
        if party_id == self._inbox.party_id:
            return "this node"
        return self._remote.describe(party_id)

    def close(self) -> None:
        """Close the remote transport."""
        self._remote.close()


class _NodeEndpoint(Endpoint):
    """The node's Endpoint for one (job, local party), with a `get` its worker can abandon."""

    @property
    def settings(self) -> FederationSettings:
        """The settings this endpoint sends and receives under."""
        return self._settings

    def take(
        self, tag: str, frm: Sequence[Party], timeout: float, gone: threading.Event
    ) -> list[object]:
        """Endpoint.get that also ends, with FederationError, once `gone` is set and woken."""
        check_tag(tag)
        sources = self._check_peers(frm, "receive from")
        keys = [MessageKey(self.job_id, tag, src, self.local) for src in sources]

        def stop() -> ChaihuoError | None:
            if self._box.failure is not None:  # the job's fate before the endpoint's own closing
                return fresh(self._box.failure)
            if gone.is_set():
                return FederationError("the task process abandoned its receive")
            return self._stop_reason()

        return self._inbox.take(self.job_id, keys, self._codec, timeout, stop)

    def wake(self, gone: threading.Event) -> None:
        """Mark a receive abandoned and wake it."""
        gone.set()
        with self._box.cond:
            self._box.cond.notify_all()


class Gateway:
    """A node's local gRPC service `chaihuo.Gateway` (Remote, Get) for its task processes.

    Start it (GrpcNode.gateway() does), `grant` each task a token for its job and local
    parties, hand the worker `address` and the token, and `close_job` when the job ends.
    """

    def __init__(self, node: GrpcNode, *, listen: str | None = None, workers: int = 256) -> None:
        self.node = node
        self._listen = listen
        self._workers = workers
        self._lock = threading.Lock()
        self._grants: dict[bytes, _Grant] = {}
        self._finished: collections.OrderedDict[bytes, str] = collections.OrderedDict()
        self._endpoints: dict[tuple[str, Party], _NodeEndpoint] = {}
        self._server: grpc.Server | None = None
        self._folder: Path | None = None
        self.address = ""

    def start(self) -> Gateway:
        """Serve on a Unix socket in a fresh 0700 folder, else on loopback; sets `address`."""
        if self._server is not None:
            return self
        limit = self.node.settings.max_grpc_message_bytes
        server = grpc.server(
            ThreadPoolExecutor(self._workers, thread_name_prefix=f"gateway-{self.node.party_id}"),
            handlers=[self._handler()],
            options=[
                ("grpc.max_send_message_length", limit),
                ("grpc.max_receive_message_length", limit),
                ("grpc.so_reuseport", 0),
            ],
        )
        self.address = self._bind(server)
        server.start()
        self._server = server
        return self

    def _bind(self, server: grpc.Server) -> str:
        if self._listen is not None:
            _check_local(self._listen)
            port = _add_port(server, self._listen)
            unix = self._listen.startswith("unix:")
            return self._listen if unix else _with_port(self._listen, port)
        if hasattr(socket, "AF_UNIX"):
            folder = Path(tempfile.mkdtemp(prefix="chaihuo-gw-"))  # mode 0700
            path = f"unix:{folder / _SOCKET}"
            if len(path) <= _MAX_SOCKET_PATH:
                try:
                    _add_port(server, path)
                except ConfigError:
                    pass
                else:
                    self._folder = folder
                    return path
            shutil.rmtree(folder, ignore_errors=True)
        return _with_port("127.0.0.1:0", _add_port(server, "127.0.0.1:0"))

    def stop(self, grace: float | None = 0.0) -> None:
        """Stop serving (calls in flight end after `grace`) and close every node-side endpoint."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace).wait()
        with self._lock:
            endpoints = list(self._endpoints.values())
            self._endpoints.clear()
            self._grants.clear()
        for endpoint in endpoints:
            endpoint.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def grant(
        self,
        job_id: str,
        parties: Sequence[Party],
        roster: Sequence[Party],
        addresses: Mapping[str, str],
        settings: FederationSettings | None = None,
    ) -> str:
        """A fresh token that lets one task speak for `parties` (local roles) of `job_id`.

        `roster` is every (role, party) of the job, `addresses` maps each other party id to
        its node's host:port. The first grant of a (job, party) opens its node-side Endpoint
        with `settings` (default: the node's); later grants share it.
        """
        check_job_id(job_id)
        members = frozenset(roster) | frozenset(parties)
        if not parties:
            raise UnknownPartyError("a grant needs at least one local party")
        foreign = [str(p) for p in parties if p.party_id != self.node.party_id]
        if foreign:
            raise UnknownPartyError(
                f"node of party {self.node.party_id} cannot speak for {foreign}"
            )
        missing = sorted({p.party_id for p in members} - set(addresses) - {self.node.party_id})
        if missing:
            raise UnknownPartyError(f"no address for parties {missing}", missing=missing)
        with self._lock:
            for party in parties:
                self._open_endpoint(job_id, party, members, addresses, settings)
            token = secrets.token_urlsafe(32)
            self._grants[_digest(token)] = _Grant(job_id, frozenset(parties))
        return token

    def _open_endpoint(
        self,
        job_id: str,
        party: Party,
        members: frozenset[Party],
        addresses: Mapping[str, str],
        settings: FederationSettings | None,
    ) -> None:
        """The (job, party) Endpoint, opened on first grant (caller holds the lock)."""
        found = self._endpoints.get((job_id, party))
        if found is not None:
            if found.parties != members:
                raise InvalidInputError(f"job {job_id} already has another roster on this node")
            return
        node = self.node
        transport = _LocalFirstTransport(node.inbox, GrpcTransport(node.pool, addresses))
        endpoint = _NodeEndpoint(
            job_id=job_id,
            local=party,
            parties=members,
            inbox=node.inbox,
            transport=transport,
            codec=RawCodec(),
            settings=settings or node.settings,
        )
        self._endpoints[(job_id, party)] = endpoint

    def revoke(self, token: str) -> None:
        """Refuse `token` from now on (calls already admitted finish)."""
        with self._lock:
            self._grants.pop(_digest(token), None)

    def close_job(self, job_id: str) -> None:
        """The job ended here: wake its pending receives, free its buffers, retire its tokens."""
        with self._lock:
            keys = [key for key in self._endpoints if key[0] == job_id]
            endpoints = [self._endpoints.pop(key) for key in keys]
            for hashed in [h for h, grant in self._grants.items() if grant.job_id == job_id]:
                del self._grants[hashed]
                self._finished[hashed] = job_id
            while len(self._finished) > _TOMBSTONES:
                self._finished.popitem(last=False)
        self.node.release_job(job_id)
        for endpoint in endpoints:
            endpoint.close()

    def jobs(self) -> list[str]:
        """Jobs with open node-side endpoints."""
        with self._lock:
            return sorted({job_id for job_id, _ in self._endpoints})

    def _handler(self) -> grpc.GenericRpcHandler:
        remote: grpc.RpcMethodHandler[bytes, bytes]
        remote = grpc.stream_unary_rpc_method_handler(self._remote)
        get: grpc.RpcMethodHandler[bytes, bytes]
        get = grpc.unary_stream_rpc_method_handler(self._get)
        return grpc.method_handlers_generic_handler(SERVICE, {"Remote": remote, "Get": get})

    def _admit(
        self, context: grpc.ServicerContext, head: bytes, keys: frozenset[str], caller: Caller
    ) -> tuple[dict[str, object], _NodeEndpoint]:
        """The header and the endpoint it names, if the token allows it; refusals are logged."""
        try:
            metadata = context.invocation_metadata()
            token = next((v for k, v in metadata if k == TOKEN_METADATA), None)
            if not isinstance(token, str) or not token:
                raise PermissionDeniedError("no gateway token was presented")
            fields = parse_head(head, keys)
            job_id = check_job_id(fields["job"])
            (local,) = parse_parties([fields["local"]])
            caller.party, caller.job = str(local), job_id  # claims, until the token vouches
            grant = self._grant_of(token)
            with self._lock:
                endpoint = self._endpoints.get((job_id, local))
            if grant.job_id != job_id or local not in grant.parties or endpoint is None:
                raise PermissionDeniedError(
                    f"the gateway token does not allow {local} of job {job_id}"
                )
        except (PermissionDeniedError, InvalidInputError) as exc:
            self.node.security.refused(exc, caller)
            raise
        return fields, endpoint

    def _grant_of(self, token: str) -> _Grant:
        hashed = _digest(token)
        with self._lock:
            grant = self._grants.get(hashed)
            finished = self._finished.get(hashed)
        if grant is not None:
            return grant
        if finished is not None:  # a late call of a task whose job ended: not an intrusion
            raise JobCancelledError(f"job {finished} has finished on this node", job_id=finished)
        raise PermissionDeniedError("the gateway token is unknown or revoked")

    def _remote(self, frames: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        caller = Caller(peer_address(context.peer()))
        return self._serve(context, lambda: self._relay_out(frames, context, caller))

    def _relay_out(
        self, frames: Iterator[bytes], context: grpc.ServicerContext, caller: Caller
    ) -> bytes:
        fields, endpoint = self._admit(context, next(frames, b""), _REMOTE_KEYS, caller)
        tag = check_tag(fields["tag"])
        to = parse_parties(fields["to"])
        size = size_field(fields["size"])
        limit = endpoint.settings.max_payload_bytes
        if size > limit:
            raise MessageTooLargeError(
                f"message {tag!r} of {size} bytes exceeds the limit of {limit}", tag=tag, size=size
            )
        endpoint.remote(join_payload(frames, size), tag, to)
        return b""

    def _get(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        caller = Caller(peer_address(context.peer()))
        return self._serve(context, lambda: self._relay_in(request, context, caller))

    def _relay_in(
        self, request: bytes, context: grpc.ServicerContext, caller: Caller
    ) -> Iterator[bytes]:
        fields, endpoint = self._admit(context, request, _GET_KEYS, caller)
        tag = check_tag(fields["tag"])
        frm = parse_parties(fields["from"])
        timeout = seconds_field(fields["timeout"])
        gone = threading.Event()
        if not context.add_callback(lambda: endpoint.wake(gone)):
            gone.set()  # the call already ended
        payloads = endpoint.take(tag, frm, timeout, gone)
        return _answer(payloads, endpoint.settings.chunk_bytes)

    def _serve(self, context: grpc.ServicerContext, work: Callable[[], _T]) -> _T:
        """Run a handler; every failure as the catalog's status plus the error's trailers."""
        try:
            return work()
        except ChaihuoError as exc:
            _abort(context, exc)
        except grpc.RpcError:
            raise  # the task process went away: nobody to answer
        except Exception as exc:  # the node must outlive any bug a request can trigger
            _abort(context, FederationError(f"internal gateway error: {type(exc).__name__}"))


def _answer(payloads: list[object], chunk_bytes: int) -> Iterator[bytes]:
    for payload in payloads:
        assert isinstance(payload, bytes | bytearray)  # what RawCodec.decode returns
        yield head_frame({"size": len(payload)})
        yield from payload_frames(payload, chunk_bytes)


def _abort(context: grpc.ServicerContext, exc: ChaihuoError) -> NoReturn:
    status = getattr(grpc.StatusCode, spec_for_exception(exc).grpc_status)
    context.set_trailing_metadata(error_trailers(exc))
    context.abort(status, str(exc))
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_local(listen: str) -> None:
    """Only this machine may reach a gateway: a Unix socket or a loopback address."""
    if listen.startswith("unix:"):
        return
    host = listen.rsplit(":", 1)[0].removeprefix("[").removesuffix("]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(f"the gateway listens on this machine only, not on {listen}")


def _add_port(server: grpc.Server, address: str) -> int:
    try:
        return server.add_insecure_port(address)
    except RuntimeError as exc:
        raise ConfigError(f"the gateway cannot listen on {address}: {exc}") from exc


def _with_port(listen: str, port: int) -> str:
    return f"{listen.rsplit(':', 1)[0]}:{port}"
