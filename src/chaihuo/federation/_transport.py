"""The one-message delivery contract backends implement, and the transient-failure signal."""

from __future__ import annotations

import threading
from typing import Any, Final, Protocol

from chaihuo.core import ChaihuoError
from chaihuo.federation._envelope import Envelope
from chaihuo.federation._interface import (
    DuplicateSendError,
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    PeerUnreachableError,
    PermissionDeniedError,
    ProtocolViolationError,
    ReceiveTimeoutError,
    UnknownPartyError,
)

__all__ = ["ERROR_CLASSES", "SendOutcome", "TransientSendError", "Transport", "error_from_code"]

SendOutcome = bool
"""What a delivery attempt returns: True when the receiver had already applied the message."""


class TransientSendError(Exception):
    """An attempt that may succeed if repeated: UNAVAILABLE, a lost ack, an attempt deadline.

    Internal to the retry loop; callers of `Federation` see PeerUnreachableError instead.
    """

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class Transport(Protocol):
    """Delivers one whole message to its destination's node, once per call.

    `send` returns when the receiver acknowledged (True if it was a duplicate), raises
    TransientSendError when repeating may help, and a FederationError (or another ChaihuoError)
    when it will not. It gives up after `timeout` seconds or as soon as `abort` is set.
    """

    def send(
        self,
        envelope: Envelope,
        payload: bytes,
        *,
        timeout: float,
        abort: threading.Event,
    ) -> SendOutcome:
        """Deliver `payload` under `envelope` (one attempt)."""
        ...

    def describe(self, party_id: str) -> str:
        """Where `party_id` is reached, for error messages (e.g. its host:port)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


ERROR_CLASSES: Final[dict[str, type[FederationError]]] = {
    cls.code: cls
    for cls in (
        FederationError,
        UnknownPartyError,
        PeerUnreachableError,
        ReceiveTimeoutError,
        DuplicateSendError,
        ProtocolViolationError,
        PermissionDeniedError,
        MessageTooLargeError,
        JobCancelledError,
    )
}


def error_from_code(code: str, message: str, **details: Any) -> ChaihuoError:
    """Rebuild a peer's rejection on the sending side as the matching typed error.

    Federation codes map to their class; anything else (e.g. the peer's decoder refused the
    payload, SERDE_INVALID) becomes a FederationError that keeps the peer's code in `details`.
    """
    cls = ERROR_CLASSES.get(code)
    if cls is None:
        return FederationError(message, peer_code=code, **details)
    return cls(message, **details)
