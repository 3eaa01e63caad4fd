"""Two-party Beaver triples under Paillier, without a third party (Gilboa-style cross terms)."""

# With a = a0 + a1 and b = b0 + b1 (party 0 holds a0, b0; party 1 holds a1, b1; all uniform in
# Z_2^64), c = a·b = a0·b0 + a1·b1 + (a0·b1 + a1·b0). The cross term is computed under party
# 0's Paillier key (Gilboa, "Two party RSA key generation", CRYPTO 1999, with Paillier in place
# of OT; the SecureML §4.2 "LHE-based generation" of triples):
#
#     party 0 → 1:  Enc(a0), Enc(b0)
#     party 1 → 0:  Enc(a0·b1 + a1·b0 + r)       r uniform in [0, 2^ρ), kept as −r
#     party 0:      t = Dec(...) ;  c0 = a0·b0 + t mod 2^64 ;   party 1: c1 = a1·b1 − r mod 2^64
#
# so c0 + c1 = a·b mod 2^64 exactly, since t < n/3 never wraps mod n. The cross term is below
# 2^129 (2^(128 + ⌈log2 k⌉ + 1) for a k-term matrix product), and ρ = that bound + 80 bits, so
# t is within statistical distance 2^-80 of r alone: party 0 learns nothing about a1, b1.
# Party 1 sees only ciphertexts (semantic security, DCR). Matrix triples use the same identity
# with A0@B1 + A1@B0: each row of Enc(A0) is multiplied by the plaintext B1ᵀ and each column of
# Enc(B0) by A1 through `EncryptedVector.rmatmul` (multi-exponentiation). rmatmul takes
# exponents below 2^62, so a 64-bit entry is split into two 32-bit limbs: M = 2^32·H + L.
# Cost per element: 2 encryptions, 2 short exponentiations, 1 encryption and 1 decryption of
# 2048-bit Paillier (a few ms per element): for small batches or offline preprocessing.

from __future__ import annotations

import math
import secrets
from typing import Final

import numpy as np

from chaihuo.crypto._random import random_uint64
from chaihuo.crypto.paillier import (
    MIN_KEY_BITS,
    EncryptedVector,
    FixedPoint,
    PaillierKeyPair,
    PaillierPool,
    PaillierPublicKey,
    generate_keypair,
)
from chaihuo.crypto.sharing import (
    BeaverTriple,
    MatrixTriple,
    RingArray,
    TruncationPair,
    ring_matmul,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._errors import InvalidInputError, ProtocolError, peer_data
from chaihuo.mpc._session import Session

__all__ = ["STATISTICAL_BITS", "PaillierTriples"]

STATISTICAL_BITS: Final = 80
"""Statistical hiding of the cross term by party 1's mask."""
_RING = 1 << 64
_LIMB = 32
_LIMB_MASK = np.uint64((1 << _LIMB) - 1)
_INPUT_CODEC = FixedPoint(0, 64)


def _to_ring(values: list[int]) -> RingArray:
    return np.array([v % _RING for v in values], dtype=np.uint64)


class PaillierTriples:
    """Triple source for exactly two parties; party 0 holds the Paillier key.

    Party 0 passes its `keypair` (or lets one of `key_bits` ≥ 2048 be generated on first use)
    and sends the public key to party 1; party 1 passes nothing. Two parties truncate by an
    oblivious-transfer wrap bit, so `truncation` is never needed.
    """

    def __init__(
        self,
        keypair: PaillierKeyPair | None = None,
        *,
        key_bits: int = MIN_KEY_BITS,
        pool: PaillierPool | None = None,
    ) -> None:
        self._keypair = keypair
        self._key_bits = key_bits
        self._pool = pool
        self._public: PaillierPublicKey | None = None

    def _key(self, session: Session) -> PaillierPublicKey:
        if session.n_parties != 2:
            raise InvalidInputError("Paillier triples are for exactly two parties; use a dealer")
        if self._public is not None:
            return self._public
        channel = session.peer(1 - session.index).sub("paillier-triples")
        if session.index == 0:
            if self._keypair is None:
                self._keypair = generate_keypair(self._key_bits)
            self._public = self._keypair.public_key
            channel.put("public_key", self._public)
        else:
            received = channel.get("public_key")
            if not isinstance(received, PaillierPublicKey):
                raise ProtocolError(
                    f"expected a Paillier public key, got {type(received).__name__}"
                )
            self._public = received
        return self._public

    def beaver(self, session: Session, scope: str, shape: tuple[int, ...]) -> BeaverTriple:
        """Shares of a fresh element-wise triple of `shape`."""
        key = self._key(session)
        size = math.prod(shape)
        a, b = _uniform(size), _uniform(size)
        channel = session.peer(1 - session.index).sub(scope).sub("paillier")
        if session.index == 0:
            cross = self._cross_as_keyholder(channel, np.concatenate([a, b]), size, 1)
            c = np.asarray(a * b + cross)
        else:
            enc = self._receive_inputs(channel, key, 2 * size)
            mask = _mask(size, 1)
            terms = enc[:size].mul(b, pool=self._pool) + enc[size:].mul(a, pool=self._pool)
            channel.put("cross", terms + self._encrypt_mask(key, mask, 1))
            c = np.asarray(a * b - _to_ring(mask))
        return BeaverTriple(a.reshape(shape), b.reshape(shape), c.reshape(shape))

    def matrix(
        self, session: Session, scope: str, rows: int, inner: int, cols: int
    ) -> MatrixTriple:
        """Shares of a fresh matrix triple A (rows×inner) @ B (inner×cols)."""
        key = self._key(session)
        a, b = _uniform(rows * inner).reshape(rows, inner), _uniform(inner * cols)
        b = b.reshape(inner, cols)
        channel = session.peer(1 - session.index).sub(scope).sub("paillier")
        if session.index == 0:
            flat = np.concatenate([a.ravel(), b.ravel()])
            cross = self._cross_as_keyholder(channel, flat, rows * cols, inner)
            c = np.asarray(ring_matmul(a, b) + cross.reshape(rows, cols))
        else:
            enc = self._receive_inputs(channel, key, rows * inner + inner * cols)
            enc_a, enc_b = enc[: rows * inner], enc[rows * inner :]
            # (A0 @ B1)[i, :] = B1ᵀ @ A0[i, :]   and   (A1 @ B0)[:, j] = A1 @ B0[:, j]
            left = [self._limb_matvec(enc_a[i * inner : (i + 1) * inner], b.T) for i in range(rows)]
            right = [self._limb_matvec(enc_b[np.arange(inner) * cols + j], a) for j in range(cols)]
            by_column = EncryptedVector.concat(right)
            row_major = (np.arange(rows)[:, None] + np.arange(cols)[None, :] * rows).ravel()
            mask = _mask(rows * cols, inner)
            terms = EncryptedVector.concat(left) + by_column[row_major]
            channel.put("cross", terms + self._encrypt_mask(key, mask, inner))
            c = np.asarray(ring_matmul(a, b) - _to_ring(mask).reshape(rows, cols))
        return MatrixTriple(a, b, c)

    def truncation(
        self, session: Session, scope: str, shape: tuple[int, ...], frac_bits: int
    ) -> TruncationPair:
        """Not used: two parties truncate by an oblivious-transfer wrap bit (`_truncate`)."""
        raise InvalidInputError("two parties truncate by OT; truncation pairs need a dealer")

    def close(self, session: Session) -> None:
        """Nothing to release."""

    # -- the two halves ----------------------------------------------------------------

    def _cross_as_keyholder(
        self, channel: Channel, inputs: RingArray, count: int, inner: int
    ) -> RingArray:
        """Party 0: send Enc(inputs), receive and decrypt the masked cross terms."""
        assert self._keypair is not None
        private = self._keypair.private_key
        channel.put(
            "inputs", EncryptedVector.encrypt(private, inputs, _INPUT_CODEC, pool=self._pool)
        )
        received = channel.get("cross")
        vector = _check_vector(received, private.public_key, count, "masked cross terms")
        with peer_data("masked cross terms"):
            values = vector.decrypt_int(private, pool=self._pool)
        limit = 1 << (_mask_bits(inner) + 1)
        if any(not 0 <= v < limit for v in values):
            raise ProtocolError(f"masked cross terms outside [0, 2^{_mask_bits(inner) + 1})")
        return _to_ring(values)

    def _receive_inputs(
        self, channel: Channel, key: PaillierPublicKey, count: int
    ) -> EncryptedVector:
        vector = _check_vector(channel.get("inputs"), key, count, "encrypted triple shares")
        if vector.bound_bits > 64:
            raise ProtocolError(f"encrypted triple shares declare {vector.bound_bits}-bit values")
        return vector

    def _encrypt_mask(self, key: PaillierPublicKey, mask: list[int], inner: int) -> EncryptedVector:
        codec = FixedPoint(0, _mask_bits(inner) + 1)
        return EncryptedVector.encrypt(key, np.array(mask, dtype=object), codec, pool=self._pool)

    def _limb_matvec(self, vector: EncryptedVector, matrix: RingArray) -> EncryptedVector:
        """Enc(M @ v) for a uint64 matrix M: rmatmul of the 32-bit limbs, 2^32·H + L."""
        rows = matrix.shape[0]
        high = (matrix >> np.uint64(_LIMB)).astype(np.int64)
        low = (matrix & _LIMB_MASK).astype(np.int64)
        both = vector.rmatmul(np.vstack([high, low]), pool=self._pool)
        return both[:rows].mul(np.int64(1 << _LIMB)) + both[rows:]


def _uniform(size: int) -> RingArray:
    return random_uint64(size)


def _mask_bits(inner: int) -> int:
    """ρ: bits of the cross term (2·64 + ⌈log2 inner⌉ + 1) plus the statistical margin."""
    return 128 + max(inner, 1).bit_length() + 1 + STATISTICAL_BITS


def _mask(count: int, inner: int) -> list[int]:
    bits = _mask_bits(inner)
    return [secrets.randbits(bits) for _ in range(count)]


def _check_vector(
    received: object, key: PaillierPublicKey, count: int, what: str
) -> EncryptedVector:
    if not isinstance(received, EncryptedVector):
        raise ProtocolError(f"{what}: expected an EncryptedVector, got {type(received).__name__}")
    if received.public_key.fingerprint != key.fingerprint:
        raise ProtocolError(f"{what}: ciphertexts under a foreign Paillier key")
    if received.exponent != 0 or len(received) != count:
        raise ProtocolError(
            f"{what}: expected {count} ciphertexts with exponent 0, "
            f"got {len(received)} with exponent {received.exponent}"
        )
    return received
