"""The control service between nodes: propose, start, stop, rerun a job, report task states."""

# One unary gRPC method, `/chaihuo.Control/Call`, on the node's mutual-TLS server beside the
# federation. A request is a closed JSON record (pydantic, discriminated by `kind`; no pickle,
# unknown fields refused); the caller's party is its certificate's CN, and a request that
# claims another sender is refused and logged as a security event. A reply says ok or why
# not; the reason is a text the replying node chose to share (never a task's own error: those
# cross as a code and a component, docs/failures.md).

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Literal

import grpc
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from chaihuo.core import ChaihuoError, shared_reason
from chaihuo.federation import GrpcNode, IssuerPins, PermissionDeniedError, certificate_party_id

__all__ = [
    "ControlClient",
    "ControlRequest",
    "ControlService",
    "Ping",
    "Propose",
    "Reply",
    "Report",
    "Rerun",
    "Start",
    "Stop",
]

_log = logging.getLogger("chaihuo.node")
SERVICE = "chaihuo.Control"
METHOD = f"/{SERVICE}/Call"
MAX_REQUEST_BYTES = 4 << 20


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: str = Field(description="The calling party (must match its certificate).")


class Propose(_Message):
    """The initiator asks a party to take part in a job."""

    kind: Literal["propose"] = "propose"
    job_id: str
    job_yaml: str
    versions: dict[str, str] = Field(description="Component name → version the plan uses.")
    request_id: str | None = None


class Start(_Message):
    """Every party accepted: run your tasks (attempt counts reruns)."""

    kind: Literal["start"] = "start"
    job_id: str
    attempt: int = Field(1, ge=1)


class Stop(_Message):
    """Stop the job here (a user's stop, or the job failed elsewhere)."""

    kind: Literal["stop"] = "stop"
    job_id: str
    reason: str = Field(max_length=500)


class Report(_Message):
    """A task state for the initiator (`notice` false), or a notice to every partner that a
    party's job ended (`notice` true: failed in a component with a code, canceled, timed
    out, or — from the initiator — succeeded). `origin`: the party a notice is about, when
    the initiator relays it."""

    kind: Literal["report"] = "report"
    job_id: str
    attempt: int = Field(1, ge=1)
    notice: bool = False
    component: str | None = None
    state: str
    code: str | None = None
    origin: str | None = None


class Rerun(_Message):
    """Run the job again from its unfinished components."""

    kind: Literal["rerun"] = "rerun"
    job_id: str
    attempt: int = Field(ge=2)
    redo: list[str] = Field(default_factory=list, description="Components to run again.")


class Ping(_Message):
    """Is the node there (and who is it)?"""

    kind: Literal["ping"] = "ping"


ControlRequest = Annotated[
    Propose | Start | Stop | Report | Rerun | Ping, Field(discriminator="kind")
]
_REQUEST: TypeAdapter[ControlRequest] = TypeAdapter(ControlRequest)


class Reply(BaseModel):
    """The answer: ok, or the reason the callee shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: bool
    party: str
    reason: str | None = None


Handler = Callable[[str, ControlRequest], Reply]


class ControlService:
    """The server side: authenticate the caller, parse the request, call the node."""

    def __init__(
        self, party_id: str, handle: Handler, *, authenticate: bool, issuers: IssuerPins
    ) -> None:
        self.party_id, self._handle, self._authenticate = party_id, handle, authenticate
        self._issuers = issuers

    def handler(self) -> grpc.GenericRpcHandler:
        """The generic handler to add to the node's gRPC server."""
        method: grpc.RpcMethodHandler[bytes, bytes]
        method = grpc.unary_unary_rpc_method_handler(self.call)
        return grpc.method_handlers_generic_handler(SERVICE, {"Call": method})

    def call(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        """Handle one request; never raises into gRPC except to refuse the caller."""
        if len(body) > MAX_REQUEST_BYTES:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "control request too large")
        try:
            request = _REQUEST.validate_json(body)
        except ValidationError:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed control request")
            raise  # unreachable: abort raises
        caller = self._caller(context, request.sender)
        try:
            reply = self._handle(caller, request)
        except ChaihuoError as exc:
            reply = Reply(ok=False, party=self.party_id, reason=shared_reason(exc))
        except Exception:  # the node must outlive any request
            _log.exception("control request %s from %s failed", request.kind, caller)
            reply = Reply(ok=False, party=self.party_id, reason="INTERNAL: internal error")
        return reply.model_dump_json().encode("utf-8")

    def _caller(self, context: grpc.ServicerContext, claimed: str) -> str:
        if not self._authenticate:
            return claimed
        certs = context.auth_context().get("x509_pem_cert")
        if not certs:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "no client certificate")
        pem = bytes(next(iter(certs)))
        party = certificate_party_id(pem)
        try:
            self._issuers.check(party, pem)
        except PermissionDeniedError as exc:
            _log.warning("security: control request from %s refused: %s", context.peer(), exc)
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        if party != claimed:
            _log.warning(
                "security: control request from %s claims party %s but its certificate is %s",
                context.peer(), claimed, party,
            )  # fmt: skip
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "sender does not match certificate")
        return party


class ControlClient:
    """Calls other nodes' control services over the node's pooled mutual-TLS channels."""

    def __init__(self, node: GrpcNode, addresses: dict[str, str]) -> None:
        self.party_id, self._node, self.addresses = str(node.party_id), node, addresses

    def call(self, party: str, request: ControlRequest, *, timeout_s: float = 10.0) -> Reply:
        """Send one request; a peer that cannot be reached within `timeout_s` (the call waits
        for a channel that is reconnecting: a partner node that restarted) is a ChaihuoError
        naming it."""
        address = self.addresses.get(party)
        if address is None:
            raise ChaihuoError(f"party {party} is not a known peer of this node (peers: "
                               f"{sorted(self.addresses)})", public=True)  # fmt: skip
        method: grpc.UnaryUnaryMultiCallable[bytes, bytes]
        method = self._node.pool.channel(party, address).unary_unary(METHOD)
        try:
            raw = method(
                request.model_dump_json().encode("utf-8"), timeout=timeout_s, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            raise PeerUnavailableError(
                f"party {party} at {address} did not answer ({code.name if code else exc})",
                public=True,
            ) from exc
        return Reply.model_validate_json(raw)


class PeerUnavailableError(ChaihuoError):
    """A partner node did not answer a control call."""

    code = "FEDERATION_UNREACHABLE"
