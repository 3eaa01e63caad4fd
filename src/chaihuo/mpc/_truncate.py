"""Truncating shared products by f bits: an exact wrap bit by OT for 2 parties, pairs beyond."""

# Both methods are exact within one unit for every |x| < 2^62 at 2f fractional bits (see
# chaihuo.crypto.sharing._truncation for the arithmetic): no element is ever wildly wrong.
# Two parties compute the wrap as one product of two bits, one per party, by one IKNP
# oblivious transfer per element (party 0 sends, party 1 chooses): four messages per chunk,
# 32 bytes of OT reply per element, no triple and no dealer. Three or more parties use a
# dealer's truncation pair: one opening.

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.gc import OTExtensionReceiver, OTExtensionSender
from chaihuo.crypto.sharing import (
    RingArray,
    truncation_combine,
    truncation_mask,
    wrap_combine,
    wrap_ot_messages,
    wrap_split,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_bytes
from chaihuo.mpc._errors import peer_data
from chaihuo.mpc._session import Session

__all__ = ["OT_CHUNK", "truncate"]

OT_CHUNK: Final = 1 << 20
"""Most elements per OT batch (≈ 16 MiB of OT matrix and 32 MiB of replies)."""


def truncate(session: Session, value: RingArray, frac_bits: int) -> RingArray:
    """Share of value / 2^frac_bits (⌊·⌋ or ⌊·⌋ + 1, unbiased) for |value| < 2^62."""
    scope = session.scope("trunc")
    if session.n_parties == 2:
        return _two_party(session, scope, value, frac_bits)
    pair = session.triples.truncation(session, scope, tuple(value.shape), frac_bits)
    (opened,) = session.open_many(scope, [truncation_mask(value, pair, session.holder)])
    return truncation_combine(pair, opened, session.holder)


def _two_party(session: Session, scope: str, value: RingArray, frac_bits: int) -> RingArray:
    split = wrap_split(value, frac_bits, session.holder)
    channel = session.peer(1 - session.index).sub(scope)
    bits = split.clear_top.reshape(-1)
    product = np.zeros(bits.size, dtype=np.uint64)
    for k, start in enumerate(range(0, bits.size, OT_CHUNK)):
        piece = slice(start, start + OT_CHUNK)
        step = channel.sub(f"c{k}")
        if session.index == 0:
            messages, product[piece] = wrap_ot_messages(bits[piece], frac_bits)
            _send(step, messages)
        else:
            product[piece] = _choose(step, bits[piece])
    return wrap_combine(split, product.reshape(value.shape), frac_bits, session.holder)


def _send(channel: Channel, messages: npt.NDArray[np.uint64]) -> None:
    """Party 0: answer the base OTs, then encrypt its message pairs under the extended OTs."""
    sender = OTExtensionSender()
    with peer_data("truncation base OT"):
        channel.put("base", sender.base_ot_response(expect_bytes(channel.get("setup"), "setup")))
        channel.put("ot", sender.send(expect_bytes(channel.get("u"), "OT matrix"), messages))


def _choose(channel: Channel, choices: npt.NDArray[np.uint8]) -> RingArray:
    """Party 1: learn m_{k_1} for each of its bits k_1; the first word is the ring value."""
    receiver = OTExtensionReceiver(choices)
    channel.put("setup", receiver.base_ot_setup())
    with peer_data("truncation OT"):
        channel.put("u", receiver.extend(expect_bytes(channel.get("base"), "base OT reply")))
        received = receiver.receive(expect_bytes(channel.get("ot"), "OT reply"))
    return np.asarray(received[:, 0], dtype=np.uint64)
