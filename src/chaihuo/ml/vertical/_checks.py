"""Checks on what a vertical protocol receives: ciphertexts under the agreed key and shape."""

from __future__ import annotations

from chaihuo.crypto.paillier import EncryptedVector, PaillierPublicKey
from chaihuo.federation import ProtocolViolationError

__all__ = ["expect_ciphertexts"]


def expect_ciphertexts(
    received: object,
    key: PaillierPublicKey,
    what: str,
    *,
    length: int | None = None,
    integer: bool = False,
) -> EncryptedVector:
    """`received` if it is an EncryptedVector under `key` (of `length` values; integers, at
    exponent 0, when `integer`), else a ProtocolViolationError naming `what`."""
    if not isinstance(received, EncryptedVector):
        raise ProtocolViolationError(f"{what}: expected ciphertexts, got {type(received).__name__}")
    if received.public_key.fingerprint != key.fingerprint:
        raise ProtocolViolationError(f"{what}: ciphertexts under an unexpected Paillier key")
    if length is not None and len(received) != length:
        raise ProtocolViolationError(f"{what}: expected {length} ciphertexts, got {len(received)}")
    if integer and received.exponent != 0:
        raise ProtocolViolationError(
            f"{what}: expected integer ciphertexts, got exponent {received.exponent}"
        )
    return received
