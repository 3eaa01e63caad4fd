"""Homomorphic steps of the GLM protocol: quantised features, X^T[[d]], masked gradients."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.crypto import EncodingOverflowError
from chaihuo.crypto.paillier import (
    EncryptedVector,
    PackedVector,
    PackingScheme,
    PaillierPool,
    PaillierPrivateKey,
    pooled_power_products,
)

__all__ = [
    "MASK_BITS",
    "Quantized",
    "decrypt_masked",
    "encrypted_matvec",
    "mask_gradient",
    "pool_for",
    "quantize",
    "unmask",
]

MASK_BITS = 48
"""Statistical hiding of masked gradients: a value |g| < 2^B plus r uniform on [0, 2^(B+48))
is within statistical distance 2^−48 of r alone, so the decrypting arbiter learns nothing."""

POOL_MIN_ROWS = 2048
"""Batches of fewer rows never start the party's worker pool (start-up would dominate)."""


def pool_for(cipher: Any, rows: int) -> PaillierPool | None:
    """The party's crypto pool (`ctx.cipher.pool`) for a batch of `rows`, if it pays off."""
    if rows < POOL_MIN_ROWS:
        return None
    pool: PaillierPool = cipher.pool
    return pool


@dataclass(frozen=True)
class Quantized:
    """Integer features Q with X ≈ Q · 2^−shift (one shift per column, block floating point)."""

    values: npt.NDArray[np.int64]
    shifts: npt.NDArray[np.int64]

    def rows(self, index: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The integer rows of a batch."""
        return np.ascontiguousarray(self.values[index])


def quantize(features: npt.NDArray[np.float64], bits: int) -> Quantized:
    """Scale column j by 2^s_j so that max_i |x_ij|·2^s_j < 2^bits, then round.

    Each column keeps `bits` significant bits whatever its scale (z-scored, min-max or tiny
    epsilon-style features alike); the exponent cost of X^T[[d]] is ≈ bits + 1 per cell.
    """
    if features.shape[0] == 0:
        return Quantized(np.zeros(features.shape, np.int64), np.full(features.shape[1], bits))
    peak = np.max(np.abs(features), axis=0)
    _, exponent = np.frexp(peak)  # peak = m·2^e, ½ ≤ m < 1, so peak < 2^e
    shifts = np.clip(bits - exponent.astype(np.int64), -60, 60)
    values = np.rint(np.ldexp(features, shifts[np.newaxis, :].astype(np.int32)))
    return Quantized(values.astype(np.int64), shifts.astype(np.int64))


def encrypted_matvec(
    vector: EncryptedVector, matrix: npt.NDArray[np.int64], pool: PaillierPool | None
) -> EncryptedVector:
    """[[Q^T v]] for an integer (rows × cols) Q: column j is Π_i [[v_i]]^(q_ij) mod n².

    The shared kernel of `chaihuo.crypto.paillier`; with a pool the rows are split into
    blocks (each worker gets only its rows) and the per-block products multiply together.
    """
    rows = matrix.shape[0]
    if rows != len(vector):
        raise ValueError(f"matrix with {rows} rows cannot multiply {len(vector)} ciphertexts")
    scalar_bits = int(np.abs(matrix).max(initial=0)).bit_length()
    bound = vector.bound_bits + scalar_bits + max(rows - 1, 0).bit_length()
    limit = int(vector.public_key.max_int).bit_length() - 1
    if bound > limit:
        raise EncodingOverflowError(
            f"X^T[[d]] could need {bound} bits, above the {limit} this key decodes: lower "
            "floating_point_precision or the batch size"
        )
    out = pooled_power_products(vector.values, matrix, vector.public_key.nsquare, pool)
    return EncryptedVector(
        vector.public_key, out, exponent=vector.exponent, bound_bits=bound, codec=vector.codec
    )


def mask_gradient(vector: EncryptedVector) -> tuple[EncryptedVector | PackedVector, list[int]]:
    """[[g + r]] with r_j uniform on [0, 2^(B+MASK_BITS)), packed for cheap decryption.

    The masks are added to the fixed-point integers themselves (a plaintext lift
    (1 + n·r) mod n² per ciphertext), so no low bit of g escapes the mask. The masked values
    are then packed homomorphically (`PackedVector.compress`), ⌊(k−1)/slot⌋ per ciphertext,
    which cuts the arbiter's decryptions by that factor.
    """
    key = vector.public_key
    bits = vector.bound_bits + MASK_BITS
    limit = int(key.max_int).bit_length() - 1
    if bits + 2 > limit:
        raise EncodingOverflowError(f"masked gradient needs {bits + 2} bits, key allows {limit}")
    masks = [secrets.randbits(bits) for _ in range(len(vector))]
    n, nsq = key.n, key.nsquare
    values = [c * (n * r + 1) % nsq for c, r in zip(vector.values, masks, strict=True)]
    masked = EncryptedVector(
        key, values, exponent=vector.exponent, bound_bits=bits + 1, codec=vector.codec
    )
    scheme = PackingScheme(value_bits=bits + 2, headroom_bits=0, exponent=vector.exponent)
    if len(vector) >= 2 and (key.key_bits - 1) // scheme.slot_bits >= 2:
        return PackedVector.compress(masked, scheme), masks
    return masked, masks


def decrypt_masked(
    received: object, private_key: PaillierPrivateKey, pool: PaillierPool | None
) -> list[int]:
    """The arbiter's step: decrypt a masked (packed or plain) gradient to signed integers."""
    if isinstance(received, PackedVector):
        return received.decrypt_int(private_key, pool=pool)
    if isinstance(received, EncryptedVector):
        return received.decrypt_int(private_key, pool=pool)
    raise TypeError(f"expected an encrypted gradient, got {type(received).__name__}")


def unmask(
    values: list[int], masks: list[int], exponent: int, shifts: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """g_j = (v_j − r_j) · 2^−(exponent + shift_j): exact integers, then one rounding."""
    if len(values) != len(masks):
        raise ValueError(f"expected {len(masks)} gradient values, got {len(values)}")
    return np.array(
        [
            math.ldexp(int(v) - r, -(exponent + int(s)))
            for v, r, s in zip(values, masks, shifts.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
