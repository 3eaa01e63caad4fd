"""Fixed-key AES as a batched tweakable hash on 128-bit blocks, and AES-CTR as a PRG."""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from chaihuo.crypto._errors import InvalidCryptoInputError

__all__ = ["BLOCK_BYTES", "Blocks", "FixedKeyAES", "prg"]

BLOCK_BYTES = 16
# A 128-bit block is a row of two little-endian uint64 words; its "lsb" is bit 0 of word 0.
Blocks = npt.NDArray[np.uint64]

# Nothing-up-my-sleeve public key for the fixed permutation π: SHA-256 of a label, truncated.
_FIXED_KEY = hashlib.sha256(b"chaihuo/gc/fixed-key-aes/v1").digest()[:16]


class FixedKeyAES:
    """π = AES-128 under a fixed public key, applied to whole arrays of blocks at once.

    Hashing follows Guo, Katz, Wang, Yu, "Efficient and Secure Multiparty Computation from
    Fixed-Key Block Ciphers" (S&P 2020, eprint 2019/074, §7.4): the tweakable circular
    correlation-robust hash TCCR(x, i) = π(π(x) ⊕ i) ⊕ π(x). Half-gates needs tccr security,
    and the one-call π(σ(x) ⊕ i) ⊕ σ(x) (with or without a final ⊕ i) is not tccr: since σ
    is linear, any x, x' with σ(x) ⊕ i = σ(x') ⊕ i' still collide after both are shifted by
    the secret Δ. So a layer costs two AES passes, each a single `update` over all of the
    layer's hash inputs, never a call per gate.
    """

    def __init__(self) -> None:
        # ECB is the raw permutation π here, never an encryption mode for data.
        cipher = Cipher(algorithms.AES(_FIXED_KEY), modes.ECB())  # noqa: S305
        self._encryptor = cipher.encryptor()

    def permute(self, blocks: Blocks) -> Blocks:
        """π applied to each row of an (n, 2) uint64 array."""
        data = np.ascontiguousarray(blocks, dtype=np.uint64)
        out = self._encryptor.update(data.view(np.uint8).data)
        return np.frombuffer(out, dtype=np.uint64).reshape(-1, 2)

    def tccr(self, blocks: Blocks, tweak_low: npt.NDArray[np.uint64], tweak_high: int) -> Blocks:
        """TCCR(x_k, i_k) with tweak i_k = (tweak_low[k], tweak_high) as two uint64 words."""
        first = self.permute(blocks)
        masked = first.copy()
        masked[:, 0] ^= tweak_low
        masked[:, 1] ^= np.uint64(tweak_high)
        return np.bitwise_xor(self.permute(masked), first)


def prg(seeds: npt.NDArray[np.uint8], nbytes: int) -> npt.NDArray[np.uint8]:
    """Expand each 16-byte seed (rows of a (k, 16) uint8 array) to `nbytes` pseudorandom bytes.

    The PRG is AES-128-CTR keyed by the seed from counter 0; each seed is a fresh base-OT
    key used for one expansion only, so the fixed nonce is never reused under one key.
    """
    if seeds.ndim != 2 or seeds.shape[1] != 16 or seeds.dtype != np.uint8:
        raise InvalidCryptoInputError(f"PRG seeds must be a (k, 16) uint8 array, got {seeds.shape}")
    if nbytes < 0:
        raise InvalidCryptoInputError(f"PRG output length must be non-negative, got {nbytes}")
    out = np.empty((len(seeds), nbytes), dtype=np.uint8)
    zeros = bytes(nbytes)
    for row, seed in enumerate(seeds):
        stream = Cipher(algorithms.AES(seed.tobytes()), modes.CTR(bytes(16))).encryptor()
        out[row] = np.frombuffer(stream.update(zeros), dtype=np.uint8)
    return out
