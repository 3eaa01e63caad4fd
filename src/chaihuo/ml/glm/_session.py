"""Start-up handshake of the GLM protocol and receives that name the silent peer on timeout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chaihuo.core import ChaihuoError, InvalidInputError, shared_reason
from chaihuo.federation import ProtocolViolationError, ReceiveTimeoutError
from chaihuo.ml.glm._messages import HostHello, Plan, Verdict, opened
from chaihuo.ml.glm._phases import Phases
from chaihuo.ml.vertical import wire
from chaihuo.runtime import Context, Peer

__all__ = [
    "GlmSetupError",
    "best_effort",
    "expect",
    "follower_start",
    "guest_start",
    "recv",
]

_T = TypeVar("_T")


class GlmSetupError(InvalidInputError):
    """A run that cannot start; the message names the refusing party and its reason."""


def recv(peer: Peer, name: str, what: str, phases: Phases | None = None) -> object:
    """`peer.get(name)`; on the deadline, an error saying which peer went silent and when."""
    try:
        if phases is None:
            return peer.get(name)
        with phases("wait"):
            return peer.get(name)
    except ReceiveTimeoutError as exc:
        raise ReceiveTimeoutError(
            f"{what}: {peer.party} sent no {name!r} before the deadline; that party went "
            f"silent or failed (see its log)",
            **exc.details,
        ) from exc


def expect(obj: object, kind: type[_T], what: str) -> _T:
    """`obj` if it has the type the protocol prescribes, else a ProtocolViolationError."""
    if not isinstance(obj, kind):
        raise ProtocolViolationError(f"{what}: expected {kind.__name__}, got {type(obj).__name__}")
    return obj


def _broadcast(ctx: Context, name: str, obj: object) -> None:
    ctx.hosts.put(name, obj)
    ctx.arbiter.put(name, obj)


def best_effort(send: Callable[[], None]) -> None:
    """Tell peers why this party is about to fail; if they are gone already (a peer that failed
    first cancelled the job), this party's own error is still the one it raises."""
    try:
        send()
    except ChaihuoError:
        return


def guest_start(
    ctx: Context,
    component: str,
    plan: Plan | None,
    failure: BaseException | None,
    check: Callable[[list[HostHello]], list[str]],
) -> list[HostHello]:
    """Send the plan, gather every party's hello, broadcast the verdict; raise on refusal.

    A failure on the guest (its own data, its own parameters) is sent as the plan, so hosts and
    arbiter stop at once with the guest's reason instead of waiting for their deadline.
    """
    if failure is not None:
        refusal = Verdict(False, f"guest {ctx.local}: {_reason(failure)}")
        best_effort(lambda: _broadcast(ctx, "plan", refusal.to_wire()))
        raise failure
    assert plan is not None
    _broadcast(ctx, "plan", {"ok": True, **plan.to_wire()})
    what = f"{component} start-up"
    answers = [opened(recv(peer, "hello", what), "glm hello") for peer in ctx.hosts]
    arbiter = opened(recv(ctx.arbiter, "hello", what), "arbiter hello")
    problems = [
        f"{party}: {answer.error}"
        for party, answer in zip(
            [*ctx.hosts.parties, ctx.arbiter.party], [*answers, arbiter], strict=True
        )
        if isinstance(answer, Verdict)
    ]
    hellos: list[HostHello] = []
    if not problems:
        wire.fields(arbiter, "arbiter hello", ())
        hellos = [HostHello.from_wire(answer) for answer in answers]
        problems = check(hellos)
    verdict = Verdict(not problems, "; ".join(problems) or None)
    if problems:
        best_effort(lambda: _broadcast(ctx, "go", verdict.to_wire()))
        raise GlmSetupError(f"{component} cannot start: {verdict.error}")
    _broadcast(ctx, "go", verdict.to_wire())
    return hellos


def follower_start(ctx: Context, component: str, hello: Callable[[Plan], dict[str, Any]]) -> Plan:
    """Host or arbiter: receive the plan, answer with `hello(plan)` (or the local refusal),
    and return the plan once the guest says every party is ready."""
    what = f"{component} start-up"
    received = opened(recv(ctx.guest, "plan", what), "glm plan")
    if isinstance(received, Verdict):
        raise GlmSetupError(f"{component} cannot start: {received.error}")
    failure: BaseException | None = None
    try:
        plan = Plan.from_wire(received)
        answer = {"ok": True, **hello(plan)}
    except (ChaihuoError, ValueError) as exc:
        failure, answer = exc, Verdict(False, _reason(exc)).to_wire()
    if failure is not None:
        best_effort(lambda: ctx.guest.put("hello", answer))
        raise failure
    ctx.guest.put("hello", answer)
    verdict = Verdict.from_wire(recv(ctx.guest, "go", what), "go")
    if not verdict.ok:
        raise GlmSetupError(f"{component} cannot start: {verdict.error}")
    return plan


def _reason(exc: BaseException) -> str:
    # What crosses is the code and a text vouched free of data (chaihuo.core.shared_reason):
    # the message may quote this party's data (its labels' classes, say) and stays local.
    return shared_reason(exc)
