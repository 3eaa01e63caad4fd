"""The message header every backend shares, and validation of every field that crosses the wire."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

from chaihuo.core import InvalidInputError, Role, parse_party_id
from chaihuo.federation._interface import Party

__all__ = [
    "DIGEST_BYTES",
    "Envelope",
    "MessageKey",
    "check_job_id",
    "check_tag",
    "digest_of",
    "parse_party",
]

DIGEST_BYTES: Final = 32
# Job ids and tags are names, not data: a closed alphabet keeps control characters, spaces and
# serialised objects out of logs and keys (R02: a pickle in any string field is refused).
_JOB_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:/\-\[\]#=+@]{0,511}")


def check_job_id(job_id: object) -> str:
    """`job_id` if it is 1-128 characters of letters, digits and '._:-'; else InvalidInputError."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise InvalidInputError(
            "job id must be 1-128 ASCII letters, digits, '.', '_', ':' or '-'",
            job_id=_preview(job_id),
        )
    return job_id


def check_tag(tag: object) -> str:
    """`tag` if it is a 1-512 character namespace path; else InvalidInputError."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise InvalidInputError(
            "tag must be 1-512 ASCII letters, digits or '._:/-[]#=+@'", tag=_preview(tag)
        )
    return tag


def parse_party(role: object, party_id: object) -> Party:
    """A Party from wire strings: a known role and a valid party id; else InvalidInputError."""
    if not isinstance(role, str):
        raise InvalidInputError("role must be a string", role=_preview(role))
    try:
        parsed = Role(role)
    except ValueError as exc:
        raise InvalidInputError("unknown role", role=_preview(role)) from exc
    return Party(parsed, parse_party_id(party_id))


def _preview(value: object) -> str:
    """A short, printable rendering of a rejected value for error messages."""
    text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def digest_of(payload: bytes | bytearray | memoryview) -> bytes:
    """SHA-256 of a payload: the identity a retransmission must match (R14)."""
    return hashlib.sha256(payload).digest()


@dataclass(frozen=True, slots=True)
class MessageKey:
    """What identifies one logical message: a retry of it carries the same key (R13)."""

    job_id: str
    tag: str
    src: Party
    dst: Party

    def __str__(self) -> str:
        return f"{self.job_id}/{self.tag} {self.src}->{self.dst}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The header of one logical message; `size` and `digest` describe the whole payload.

    `digest` is None when the sender hashes while streaming and sends the digest after the
    payload (large first attempts); the receiver then learns it at the end of the stream.
    """

    key: MessageKey
    seq: int
    size: int
    digest: bytes | None

    def __post_init__(self) -> None:
        check_job_id(self.key.job_id)
        check_tag(self.key.tag)
        if self.digest is not None and len(self.digest) != DIGEST_BYTES:
            raise InvalidInputError("digest must be 32 bytes of SHA-256", length=len(self.digest))
        if self.size < 0 or self.seq < 0:
            raise InvalidInputError("negative size or sequence number", size=self.size)
