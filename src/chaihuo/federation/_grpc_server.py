"""A node's gRPC receive handler: authenticate the sender, reassemble chunks, hand to the Inbox."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterator
from typing import NoReturn, cast

import grpc

from chaihuo.core import ChaihuoError, InvalidInputError, spec_for_exception
from chaihuo.federation._denylist import Denylist
from chaihuo.federation._envelope import Envelope
from chaihuo.federation._interface import FederationError, PermissionDeniedError
from chaihuo.federation._issuers import IssuerPins
from chaihuo.federation._mailbox import Inbox
from chaihuo.federation._proto import federation_pb2 as pb
from chaihuo.federation._security_log import Caller, SecurityEvents, peer_address
from chaihuo.federation._tls import certificate_party_id, certificate_serial
from chaihuo.federation._wire import SERVICE, data_chunk, parse_chunk, to_envelope

__all__ = ["CODE_METADATA", "FederationService"]

CODE_METADATA = "chaihuo-code"
_log = logging.getLogger("chaihuo.federation")
_ACK = pb.Ack(duplicate=False).SerializeToString()
_DUPLICATE_ACK = pb.Ack(duplicate=True).SerializeToString()


@functools.lru_cache(maxsize=1024)
def _identity(pem: bytes) -> tuple[int, str]:
    """(serial, CN) of a peer certificate; cached because every RPC presents one."""
    return certificate_serial(pem), certificate_party_id(pem)


class FederationService:
    """The `Send` RPC: one client stream of chunks in, one Ack out.

    Every failure is a typed ChaihuoError turned into the catalog's gRPC status plus a
    `chaihuo-code` trailer, so the sender rebuilds the same error class; nothing a peer sends
    can crash the handler or stop the node serving other calls (invariant 4). Every refusal
    that is the peer's doing goes to the security log with its address and claimed identity.
    """

    def __init__(
        self,
        inbox: Inbox,
        denylist: Denylist | None,
        *,
        authenticate: bool,
        security: SecurityEvents | None = None,
        issuers: IssuerPins | None = None,
    ) -> None:
        self.issuers = issuers if issuers is not None else IssuerPins({})
        self.inbox = inbox
        self.denylist = denylist
        self.authenticate = authenticate
        self.security = security

    def handler(self) -> grpc.GenericRpcHandler:
        """A generic handler taking raw bytes, so malformed requests get INVALID_ARGUMENT."""
        method: grpc.RpcMethodHandler[bytes, bytes]
        method = grpc.stream_unary_rpc_method_handler(self.send)
        return grpc.method_handlers_generic_handler(SERVICE, {"Send": method})

    def send(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        """Handle one message stream."""
        caller = Caller(peer_address(context.peer()))
        try:
            return self._send(requests, context, caller)
        except ChaihuoError as exc:
            if self.security is not None:
                self.security.refused(exc, caller)
            self._abort(context, exc)
        except grpc.RpcError:
            # The client went away (deadline, cancellation) or gRPC core refused the stream (a
            # message above max_grpc_message_bytes): Python cannot tell which, so no security
            # event; either way there is nobody to answer.
            raise
        except Exception as exc:  # the node must outlive any bug a message can trigger
            _log.exception("federation handler failed")
            self._abort(context, FederationError(f"internal error: {type(exc).__name__}"))

    @staticmethod
    def _abort(context: grpc.ServicerContext, exc: ChaihuoError) -> NoReturn:
        status = getattr(grpc.StatusCode, spec_for_exception(exc).grpc_status)
        context.set_trailing_metadata(((CODE_METADATA, exc.code),))
        context.abort(status, str(exc))
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

    def _peer_party(self, context: grpc.ServicerContext, caller: Caller) -> str | None:
        """The authenticated party id (certificate CN), refusing revoked certificates (R10)."""
        if not self.authenticate:
            return None
        certs = context.auth_context().get("x509_pem_cert")
        if not certs:
            raise PermissionDeniedError("no client certificate was presented")
        pem = cast("list[bytes]", certs)[0]  # the stubs type the values as bytes, not a list
        serial, party_id = _identity(pem)
        caller.certificate, caller.serial = party_id, f"{serial:x}"
        self.issuers.check(party_id, pem)
        if self.denylist is not None and self.denylist.is_revoked(serial):
            raise PermissionDeniedError(
                f"certificate of party {party_id} (serial {serial:x}) is revoked",
                serial=f"{serial:x}",
            )
        return party_id

    def _send(
        self, requests: Iterator[bytes], context: grpc.ServicerContext, caller: Caller
    ) -> bytes:
        peer = self._peer_party(context, caller)
        first = parse_chunk(next(requests, b""))
        if not first.HasField("envelope"):
            raise InvalidInputError("the first chunk must carry the envelope")
        envelope = to_envelope(first.envelope)
        caller.party, caller.job = str(envelope.key.src), envelope.key.job_id
        if peer is not None and envelope.key.src.party_id != peer:
            raise PermissionDeniedError(
                f"sender {envelope.key.src} does not match the certificate of party {peer}",
                certificate_party=peer,
            )
        reservation = self.inbox.begin(envelope)
        if reservation is None:
            return _DUPLICATE_ACK
        try:
            received = _reassemble(first, requests, envelope, first.envelope.chunk_count)
        except BaseException:
            reservation.release()
            raise
        duplicate = self.inbox.commit(reservation, *received, origin=caller)
        return _DUPLICATE_ACK if duplicate else _ACK


def _slow_chunk(raw: bytes) -> tuple[int, bytes, bytes]:
    chunk = parse_chunk(raw)
    if chunk.HasField("envelope"):
        raise InvalidInputError("only the first chunk may carry an envelope")
    return chunk.index, chunk.data, chunk.digest


def _reassemble(
    first: pb.Chunk, requests: Iterator[bytes], envelope: Envelope, count: int
) -> tuple[bytearray, bytes, bytes | None]:
    """Chunks in order into one preallocated buffer: one copy per chunk, never a second whole
    payload in memory (R04: a 3 GiB transfer needs 3 GiB, not 6), hashing as it goes."""
    size = envelope.size
    buffer = bytearray(size)
    view = memoryview(buffer)
    hasher = hashlib.sha256()
    offset, index = 0, 0
    parsed: tuple[int, bytes | memoryview, bytes] | None = (first.index, first.data, first.digest)
    while True:
        if parsed is None or parsed[0] != index:
            raise InvalidInputError(f"chunk {index} is missing or out of order")
        data, trailer = parsed[1], parsed[2]
        if offset + len(data) > size:
            raise InvalidInputError(f"more payload than the declared {size} bytes")
        view[offset : offset + len(data)] = data
        hasher.update(data)
        offset += len(data)
        index += 1
        raw = next(requests, None)
        if raw is None:
            break
        if index >= count:
            raise InvalidInputError(f"more than the declared {count} chunks")
        if trailer:
            raise InvalidInputError("only the last chunk may carry the digest")
        parsed = data_chunk(raw) or _slow_chunk(raw)
    if index != count or offset != size:
        raise InvalidInputError(
            f"stream ended after {index} of {count} chunks, {offset} of {size} bytes"
        )
    if bool(trailer) == (envelope.digest is not None):
        raise InvalidInputError("the digest must be in the envelope or in the last chunk, once")
    return buffer, hasher.digest(), trailer or None
