"""Typed errors of the crypto layer; each carries a `code` found in chaihuo.core's catalog."""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CircuitError",
    "CryptoError",
    "EncodingOverflowError",
    "ExponentMismatchError",
    "InvalidCiphertextError",
    "InvalidCryptoInputError",
    "InvalidPointError",
    "KeyMismatchError",
    "KeyPolicyError",
]


class CryptoError(Exception):
    """Root of the crypto layer's errors (crypto imports nothing from chaihuo.core)."""

    code: ClassVar[str] = "CRYPTO_ERROR"


class KeyPolicyError(CryptoError, ValueError):
    """A key size or key material the policy refuses (e.g. Paillier below 2048 bits)."""

    code = "CRYPTO_KEY_POLICY"


class InvalidCiphertextError(CryptoError, ValueError):
    """Bytes or integers that are not a valid ciphertext for the key at hand."""

    code = "CRYPTO_INVALID_CIPHERTEXT"


class KeyMismatchError(CryptoError, ValueError):
    """A ciphertext (or operand) made under another key than the one presented."""

    code = "CRYPTO_KEY_MISMATCH"


class ExponentMismatchError(CryptoError, ValueError):
    """Operands or wire data whose fixed-point exponent differs from the protocol's."""

    code = "CRYPTO_EXPONENT_MISMATCH"


class EncodingOverflowError(CryptoError, OverflowError):
    """A value, or the result of an operation, outside the range that decodes correctly."""

    code = "CRYPTO_OVERFLOW"


class InvalidCryptoInputError(CryptoError, ValueError):
    """Arguments that violate a primitive's contract (shapes, widths, counts, ranges)."""

    code = "CRYPTO_INVALID_INPUT"


class InvalidPointError(CryptoError, ValueError):
    """Bytes that are not a valid element of the prime-order group."""

    code = "CRYPTO_INVALID_POINT"


class CircuitError(CryptoError, ValueError):
    """A malformed circuit, or inputs that do not match its wires."""

    code = "CRYPTO_CIRCUIT"
