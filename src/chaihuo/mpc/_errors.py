"""Typed errors of the MPC layer: a peer that breaks the protocol, and bad local arguments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.crypto import CryptoError

__all__ = ["InvalidInputError", "ProtocolError", "local_input", "peer_data"]


class ProtocolError(ChaihuoError):
    """A peer's message is malformed (type, shape, range, group membership) or out of order.

    Raised on the receiving side before the message is used.
    """

    code = "FEDERATION_PROTOCOL"


@contextmanager
def peer_data(step: str) -> Iterator[None]:
    """Translate crypto-layer rejections of a peer's data into `ProtocolError` at `step`."""
    try:
        yield
    except CryptoError as exc:
        raise ProtocolError(f"{step}: the peer sent data the crypto layer rejects: {exc}") from exc


@contextmanager
def local_input(what: str) -> Iterator[None]:
    """Translate crypto-layer rejections of this party's own arguments into `InvalidInputError`."""
    try:
        yield
    except CryptoError as exc:
        raise InvalidInputError(f"{what}: {exc}", code=exc.code) from exc
