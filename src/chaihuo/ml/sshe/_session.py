"""Set-up of SSHE LR beyond the shared status messages: the key exchange and the pool policy."""

from __future__ import annotations

from collections.abc import Callable

from chaihuo.core import ChaihuoError
from chaihuo.crypto.paillier import (
    POOL_MIN_CELLS,
    PaillierKeyPair,
    PaillierPool,
    PaillierPublicKey,
)
from chaihuo.federation import ProtocolViolationError
from chaihuo.runtime import Context, Peer

__all__ = ["exchange_keys", "pool_policy"]


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
