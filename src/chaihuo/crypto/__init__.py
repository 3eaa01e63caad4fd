"""The crypto layer: Paillier, secret sharing, garbled circuits and OT, PSI group operations."""

from chaihuo.crypto._errors import (
    CircuitError,
    CryptoError,
    EncodingOverflowError,
    ExponentMismatchError,
    InvalidCiphertextError,
    InvalidCryptoInputError,
    InvalidPointError,
    KeyMismatchError,
    KeyPolicyError,
)

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
