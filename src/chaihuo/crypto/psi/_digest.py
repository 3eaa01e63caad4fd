"""Truncated digests of doubly-blinded PSI values and the set intersection over them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final

from chaihuo.crypto._errors import InvalidCryptoInputError

__all__ = ["DIGEST_BYTES", "intersect_digests", "truncated_digest"]

# 128 bits: among a million items on each side, a false match by collision has probability
# about 2^40 / 2^128 = 2^-88; the digests are also what crosses the wire in the last round.
DIGEST_BYTES: Final = 16


def truncated_digest(data: bytes) -> bytes:
    """SHA-256 of `data`, first `DIGEST_BYTES` bytes."""
    return hashlib.sha256(data).digest()[:DIGEST_BYTES]


def intersect_digests(local: Sequence[bytes], remote: Iterable[bytes]) -> list[int]:
    """Indices i (ascending) of `local` whose digest also occurs in `remote`."""
    others = set(remote)
    for digest in others:
        if not isinstance(digest, bytes) or len(digest) != DIGEST_BYTES:
            raise InvalidCryptoInputError(
                f"remote digests must be {DIGEST_BYTES}-byte strings, got {digest!r:.60}"
            )
    return [i for i, digest in enumerate(local) if digest in others]
