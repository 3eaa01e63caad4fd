"""Set-up messages of SSHE LR: checked hello/plan/ack, errors reported to both parties, keys."""

# Both parties validate their own data first and tell the other the outcome before either
# raises, so a bad input (a label on the host, rows not aligned by PSI, disagreeing
# parameters) stops both with the same cause instead of leaving one waiting for its deadline.

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaihuo.core import ChaihuoError, InvalidInputError, shared_reason
from chaihuo.crypto.paillier import (
    POOL_MIN_CELLS,
    PaillierKeyPair,
    PaillierPool,
    PaillierPublicKey,
)
from chaihuo.federation import ProtocolViolationError
from chaihuo.runtime import Context, Peer

__all__ = ["exchange_keys", "pool_policy", "reason", "receive_status", "send_status"]


def reason(exc: BaseException) -> str:
    """A one-line cause for the peer: its code and a data-free text (core.shared_reason)."""
    return shared_reason(exc)


def send_status(
    peer: Peer, name: str, payload: dict[str, Any], error: BaseException | None
) -> None:
    """Send `payload`, or the error that stops this party. The error is sent best effort: if the
    peer is gone already (it failed first and cancelled the job), the caller still raises its
    own error, which is the one to report."""
    if error is None:
        peer.put(name, {"error": None, **payload})
        return
    try:
        peer.put(name, {"error": reason(error)})
    except ChaihuoError:
        return


def receive_status(peer: Peer, name: str, who: str) -> dict[str, Any]:
    """The peer's status message; raises InvalidInputError carrying the peer's reason."""
    received = peer.get(name)
    if not isinstance(received, dict) or "error" not in received:
        raise ProtocolViolationError(f"{who} sent a malformed {name!r} message")
    if received["error"] is not None:
        raise InvalidInputError(f"hetero_sshe_lr stopped by the {who}: {received['error']}")
    return received


def exchange_keys(ctx: Context, peer: Peer) -> tuple[PaillierKeyPair, PaillierPublicKey]:
    """This party's fresh key pair (job policy, ≥ 2048 bits) and the peer's public key."""
    keys = ctx.cipher.paillier()
    peer.put("public_key", keys.public_key)
    received = peer.get("public_key")
    if not isinstance(received, PaillierPublicKey):
        raise ProtocolViolationError("the peer's public key is not a Paillier public key")
    minimum = ctx.cipher.policy.paillier_bits
    if received.key_bits < minimum:
        raise ChaihuoError(
            f"the peer's Paillier key has {received.key_bits} bits, below this job's {minimum}"
        )
    return keys, received


def pool_policy(ctx: Context) -> Callable[[int], PaillierPool | None]:
    """work → this party's crypto pool when the work (exponent cells) pays for starting it."""

    def choose(work: int) -> PaillierPool | None:
        if work < POOL_MIN_CELLS:
            return None
        pool: PaillierPool = ctx.cipher.pool
        return pool

    return choose
