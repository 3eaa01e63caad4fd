"""Typed errors of the serde layer, each with a code in chaihuo.core's catalog."""

from __future__ import annotations

from chaihuo.core import ChaihuoError

__all__ = ["PayloadTooLargeError", "SerdeError", "UnsupportedTypeError"]


class SerdeError(ChaihuoError, ValueError):
    """A payload that cannot be decoded: unknown tag, truncated, malformed or inconsistent."""

    code = "SERDE_INVALID"


class PayloadTooLargeError(SerdeError):
    """A payload, or a size declared inside it, beyond the configured limits."""

    code = "SERDE_TOO_LARGE"


class UnsupportedTypeError(SerdeError, TypeError):
    """An object whose type is not in the closed registry: it may not cross a party boundary."""

    code = "SERDE_UNSUPPORTED"
