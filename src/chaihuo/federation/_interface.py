"""The federation contract: named objects sent to and received from other parties of one job."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from chaihuo.core import ChaihuoError, PartyId, Role

__all__ = [
    "DuplicateSendError",
    "Federation",
    "FederationError",
    "JobCancelledError",
    "MessageTooLargeError",
    "Party",
    "PeerUnreachableError",
    "PermissionDeniedError",
    "ProtocolViolationError",
    "ReceiveTimeoutError",
    "UnknownPartyError",
]


@dataclass(frozen=True, order=True, slots=True)
class Party:
    """One role played by one party in a job: the unit messages are addressed to."""

    role: Role
    party_id: PartyId

    def __str__(self) -> str:
        return f"{self.role.value}:{self.party_id}"


class FederationError(ChaihuoError):
    """Root of federation failures."""

    code = "FEDERATION_ERROR"


class UnknownPartyError(FederationError):
    """A destination or source that is not part of this job's roster."""

    code = "FEDERATION_UNKNOWN_PARTY"


class PeerUnreachableError(FederationError):
    """A peer that could not be reached before the configured deadline."""

    code = "FEDERATION_UNREACHABLE"


class ReceiveTimeoutError(FederationError):
    """No message with the awaited tag arrived before the deadline."""

    code = "FEDERATION_TIMEOUT"


class DuplicateSendError(FederationError):
    """The same tag was sent twice to the same peer (docs/architecture.md §3.5)."""

    code = "FEDERATION_DUPLICATE_SEND"


class ProtocolViolationError(FederationError):
    """A peer broke the protocol, e.g. one message key seen with two different digests."""

    code = "FEDERATION_PROTOCOL"


class PermissionDeniedError(FederationError):
    """A sender whose authenticated identity does not match the envelope."""

    code = "FEDERATION_PERMISSION"


class MessageTooLargeError(FederationError):
    """A message above the configured size limit."""

    code = "FEDERATION_TOO_LARGE"


class JobCancelledError(FederationError):
    """The job was cancelled while a party was sending or waiting."""

    code = "FEDERATION_CANCELLED"


class Federation(abc.ABC):
    """Send named objects to other parties of one job and receive theirs.

    Every message is identified by (job id, tag, source party, destination party). Tags are
    derived deterministically from the runtime context, identical on every party. Sending one
    tag twice to one destination raises DuplicateSendError; receiving a retransmission of a
    message applies it once; a retransmission with a different digest is a
    ProtocolViolationError. Objects cross the wire only through `chaihuo.serde`.
    """

    @property
    @abc.abstractmethod
    def job_id(self) -> str:
        """The job this federation serves."""

    @property
    @abc.abstractmethod
    def local(self) -> Party:
        """The party (role, id) this endpoint speaks for."""

    @abc.abstractmethod
    def remote(self, obj: object, tag: str, to: Sequence[Party]) -> None:
        """Send `obj` under `tag` to every party in `to` (returns once accepted for delivery)."""

    @abc.abstractmethod
    def get(self, tag: str, frm: Sequence[Party], timeout: float | None = None) -> list[object]:
        """Block until the object sent under `tag` by each party in `frm` has arrived.

        Results are in the order of `frm`. `timeout` (seconds) defaults to the backend's
        configured deadline; on expiry ReceiveTimeoutError names the missing parties.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release channels and threads; later calls raise FederationError."""

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
