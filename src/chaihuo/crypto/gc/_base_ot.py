"""Batched random 1-out-of-2 base OT: Chou–Orlandi "simplest OT" on the ed25519 group."""

# Chou and Orlandi, "The Simplest Protocol for Oblivious Transfer" (LATINCRYPT 2015), in the
# prime-order subgroup of edwards25519 (order ℓ = 2^252 + 27742317777372353535851937790883648493,
# written additively with base point G):
#
#     sender:    a ← Z_ℓ*,  A = aG                           ── A ──▶
#     receiver:  b_i ← Z_ℓ*,  B_i = b_iG + c_i·A              ◀── B_i ──
#     receiver:  k_i = KDF(A, B_i, i, b_i·A)
#     sender:    k_i⁰ = KDF(A, B_i, i, a·B_i),  k_i¹ = KDF(A, B_i, i, a·B_i − a·A)
#
# so k_i = k_i^{c_i}; the other key needs a·b_i·G ± a²G, i.e. CDH. B_i is uniform whatever c_i,
# which hides the choice. The KDF is SHA-256 over a domain tag, both points and the index, so
# each key is bound to its whole transcript and position (the remedy usually given for the gap
# Genç–Iovino–Rial and Hauck–Loss (2017) found in the original proof). Security is
# semi-honest; every received point is checked.

from __future__ import annotations

import hashlib

import nacl.bindings as sodium
import nacl.exceptions
import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import InvalidCryptoInputError, InvalidPointError
from chaihuo.crypto._random import random_below
from chaihuo.crypto.gc._circuit import check_input_bits

__all__ = ["KEY_BYTES", "POINT_BYTES", "BaseOTReceiver", "BaseOTSender", "choice_bits"]

POINT_BYTES = 32
KEY_BYTES = 16
_GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
_IDENTITY = b"\x01" + bytes(31)
_KDF_DOMAIN = b"chaihuo/ot/co15/v1"


def _random_scalar() -> bytes:
    """Uniform nonzero scalar mod ℓ, little-endian, from the OS CSPRNG."""
    return (random_below(_GROUP_ORDER - 1) + 1).to_bytes(32, "little")


def _check_point(data: bytes, what: str) -> bytes:
    """Reject anything but a canonical, non-identity element of the prime-order subgroup."""
    if len(data) != POINT_BYTES:
        raise InvalidPointError(f"{what}: a point is {POINT_BYTES} bytes, got {len(data)}")
    if data == _IDENTITY or not sodium.crypto_core_ed25519_is_valid_point(data):
        raise InvalidPointError(f"{what}: not a valid element of the ed25519 prime-order group")
    return data


def _mul(scalar: bytes, point: bytes, what: str) -> bytes:
    try:
        result: bytes = sodium.crypto_scalarmult_ed25519_noclamp(scalar, point)
    except nacl.exceptions.CryptoError as exc:  # identity result or bad point
        raise InvalidPointError(f"{what}: scalar multiplication failed") from exc
    return result


def _kdf(sender_point: bytes, receiver_point: bytes, index: int, shared: bytes) -> bytes:
    digest = hashlib.sha256(_KDF_DOMAIN)
    digest.update(sender_point + receiver_point + index.to_bytes(8, "little") + shared)
    return digest.digest()[:KEY_BYTES]


def choice_bits(choices: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Validate OT choice bits: a non-empty 1-D array of 0/1."""
    bits = check_input_bits(choices, np.size(choices), "choice", InvalidCryptoInputError)
    if bits.ndim != 1 or not len(bits):
        raise InvalidCryptoInputError("choice bits must be a non-empty 1-D array")
    return bits


def _check_count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidCryptoInputError(f"OT count must be a positive int, got {count!r}")
    return count


class BaseOTSender:
    """Sender of `count` random OTs; ends with two 16-byte keys per OT."""

    def __init__(self, count: int) -> None:
        self._count = _check_count(count)
        self._secret = _random_scalar()
        self._point = sodium.crypto_scalarmult_ed25519_base_noclamp(self._secret)
        self._finished = False

    @property
    def count(self) -> int:
        """Number of OTs."""
        return self._count

    def first_message(self) -> bytes:
        """A = aG, 32 bytes, to the receiver."""
        return bytes(self._point)

    def finish(self, response: bytes) -> npt.NDArray[np.uint8]:
        """Keys (count, 2, 16) from the receiver's points; usable once."""
        if self._finished:
            raise InvalidCryptoInputError("this base-OT sender has already finished")
        if len(response) != self._count * POINT_BYTES:
            raise InvalidCryptoInputError(
                f"base-OT response must be {self._count * POINT_BYTES} bytes, got {len(response)}"
            )
        self._finished = True
        a_times_a = _mul(self._secret, self._point, "sender point")
        keys = np.empty((self._count, 2, KEY_BYTES), dtype=np.uint8)
        for index in range(self._count):
            chunk = response[index * POINT_BYTES : (index + 1) * POINT_BYTES]
            point = _check_point(chunk, f"receiver point {index}")
            if point == self._point:  # B = A would make the 1-key the identity
                raise InvalidPointError(f"receiver point {index} equals the sender's point")
            shared0 = _mul(self._secret, point, f"receiver point {index}")
            shared1 = sodium.crypto_core_ed25519_sub(shared0, a_times_a)
            keys[index, 0] = np.frombuffer(_kdf(self._point, point, index, shared0), np.uint8)
            keys[index, 1] = np.frombuffer(_kdf(self._point, point, index, shared1), np.uint8)
        return keys


class BaseOTReceiver:
    """Receiver of random OTs with choice bits `choices`; learns one key per OT."""

    def __init__(self, choices: npt.ArrayLike) -> None:
        self._choices = choice_bits(choices)
        self._keys: npt.NDArray[np.uint8] | None = None

    @property
    def count(self) -> int:
        """Number of OTs."""
        return len(self._choices)

    def respond(self, first_message: bytes) -> bytes:
        """Points B_i (count × 32 bytes) for the sender; derives this side's keys."""
        if self._keys is not None:
            raise InvalidCryptoInputError("this base-OT receiver has already responded")
        sender_point = _check_point(first_message, "sender point")
        keys = np.empty((self.count, KEY_BYTES), dtype=np.uint8)
        points = []
        for index, choice in enumerate(self._choices.tolist()):
            secret = _random_scalar()
            masked = sodium.crypto_scalarmult_ed25519_base_noclamp(secret)
            # Both candidates are computed so the work does not depend on the choice bit.
            candidates = (masked, sodium.crypto_core_ed25519_add(masked, sender_point))
            point = bytes(candidates[choice])
            shared = _mul(secret, sender_point, "sender point")
            keys[index] = np.frombuffer(_kdf(sender_point, point, index, shared), np.uint8)
            points.append(point)
        self._keys = keys
        return b"".join(points)

    @property
    def keys(self) -> npt.NDArray[np.uint8]:
        """The chosen keys (count, 16), available after `respond`."""
        if self._keys is None:
            raise InvalidCryptoInputError("base-OT receiver keys exist only after respond()")
        return self._keys
