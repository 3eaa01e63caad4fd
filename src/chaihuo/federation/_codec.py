"""Payload codecs: how objects become bytes on the wire (chaihuo.serde by default, never pickle)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from chaihuo.core import InvalidInputError
from chaihuo.serde import Keyring, SerdeLimits, dumps, loads

__all__ = ["BytesCodec", "Codec", "RawCodec", "SerdeCodec"]


@runtime_checkable
class Codec(Protocol):
    """Turns objects into payload bytes and back; `decode` raises a typed ChaihuoError."""

    def encode(self, obj: object) -> bytes:
        """Payload bytes for `obj`."""
        ...

    def decode(self, payload: bytes | bytearray | memoryview) -> object:
        """The object encoded in `payload`."""
        ...


class SerdeCodec:
    """chaihuo.serde's closed type registry (R01, R03), with decode limits and a job keyring."""

    def __init__(self, limits: SerdeLimits | None = None, keyring: Keyring | None = None) -> None:
        self.limits = limits
        self.keyring = keyring

    def encode(self, obj: object) -> bytes:
        """serde's `dumps`: SerdeError for any type outside the registry."""
        return dumps(obj)

    def decode(self, payload: bytes | bytearray | memoryview) -> object:
        """serde's `loads`: SerdeError before anything is built from a bad payload."""
        return loads(payload, limits=self.limits, keyring=self.keyring)


class BytesCodec:
    """Payloads are the objects themselves (bytes in, bytes out): for transport tests."""

    def encode(self, obj: object) -> bytes:
        """`obj` itself when it is bytes-like."""
        if isinstance(obj, bytes):
            return obj
        if isinstance(obj, bytearray | memoryview):
            return bytes(obj)
        raise InvalidInputError("BytesCodec sends only bytes", type=type(obj).__name__)

    def decode(self, payload: bytes | bytearray | memoryview) -> object:
        """The payload itself (bytes or the receive buffer, a bytearray), without a copy."""
        return payload if isinstance(payload, bytes | bytearray) else bytes(payload)


class RawCodec:
    """Payload bytes pass through untouched: a node's gateway relays what its worker encoded.

    The node never builds objects from a relayed payload; only the worker's own codec (serde,
    with the job's keyring) decodes it, in the worker.
    """

    def encode(self, obj: object) -> bytes:
        """`obj` itself, which must already be payload bytes."""
        if not isinstance(obj, bytes):
            raise InvalidInputError("RawCodec relays only bytes", type=type(obj).__name__)
        return obj

    def decode(self, payload: bytes | bytearray | memoryview) -> object:
        """The payload itself (the receive buffer as it is), without a copy."""
        return payload if isinstance(payload, bytes | bytearray) else bytes(payload)
