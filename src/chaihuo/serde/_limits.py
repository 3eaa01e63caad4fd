"""Decoding limits and the per-job keyring that interns Paillier public keys."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from chaihuo.crypto import CryptoError
from chaihuo.crypto.paillier import PaillierPublicKey
from chaihuo.serde._errors import SerdeError

__all__ = ["Keyring", "SerdeLimits"]


@dataclass(frozen=True, slots=True)
class SerdeLimits:
    """Bounds checked while decoding, before anything of the declared size is built."""

    max_bytes: int = 4 << 30
    """Largest payload accepted (bytes)."""
    max_depth: int = 64
    """Deepest nesting of lists, tuples and dicts."""
    max_items: int = 50_000_000
    """Most container items plus array elements in one payload."""
    max_int_bytes: int = 1 << 16
    """Longest arbitrary-size integer (bytes of its two's complement form)."""


class Keyring:
    """Paillier public keys seen by one job, interned so fixed-base tables are built once.

    With `allowed` fingerprints set, ciphertexts under any other key are refused (R07).
    """

    def __init__(
        self,
        allowed: set[bytes] | None = None,
        *,
        allow_insecure_test_keys: bool = False,
    ) -> None:
        self._keys: dict[bytes, PaillierPublicKey] = {}
        self._allowed = allowed
        self._insecure = allow_insecure_test_keys
        self._lock = threading.Lock()

    def add(self, key: PaillierPublicKey) -> PaillierPublicKey:
        """Register (or return the already interned twin of) a key."""
        with self._lock:
            return self._keys.setdefault(key.fingerprint, key)

    def intern(self, modulus: bytes) -> PaillierPublicKey:
        """The key for modulus bytes n: checked against policy and `allowed`, then interned."""
        try:
            candidate = PaillierPublicKey.from_bytes(
                modulus, allow_insecure_test_key=self._insecure
            )
        except CryptoError as exc:
            raise SerdeError(f"Paillier public key refused: {exc}") from exc
        if self._allowed is not None and candidate.fingerprint not in self._allowed:
            raise SerdeError(
                f"ciphertexts under key {candidate.fingerprint.hex()[:16]} are not expected here"
            )
        return self.add(candidate)
