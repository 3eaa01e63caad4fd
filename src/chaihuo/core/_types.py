"""Party identifiers and the roles a party can play in a job."""

from __future__ import annotations

import enum
from typing import NewType

from chaihuo.core._errors import InvalidInputError

__all__ = ["PartyId", "Role", "parse_party_id"]

PartyId = NewType("PartyId", str)
"""A party's id as it appears in job files and certificates, e.g. ``"9999"``."""

_MAX_PARTY_ID_LENGTH = 64


class Role(enum.StrEnum):
    """What a party does in one job (docs/architecture.md §1)."""

    GUEST = "guest"
    HOST = "host"
    ARBITER = "arbiter"
    CLIENT = "client"
    SERVER = "server"
    LOCAL = "local"


def parse_party_id(raw: object) -> PartyId:
    """Validate a party id: 1-64 characters of ASCII letters, digits, '-', '_' or '.'."""
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str) or not text or len(text) > _MAX_PARTY_ID_LENGTH:
        raise InvalidInputError("party id must be a 1-64 character string", party_id=raw)
    if not all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in text):
        raise InvalidInputError(
            "party id may hold only ASCII letters, digits, '-', '_' and '.'", party_id=raw
        )
    return PartyId(text)
