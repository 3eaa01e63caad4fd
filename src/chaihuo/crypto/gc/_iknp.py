"""IKNP oblivious-transfer extension: m OTs of 128-bit message pairs from κ = 128 base OTs."""

# Ishai, Kilian, Nissim, Petrank, "Extending Oblivious Transfers Efficiently" (CRYPTO 2003),
# with the Asharov–Lindell–Schneider–Zohner (CCS 2013) trick of expanding *both* base-OT keys.
# The roles of the base OTs are reversed: the extension receiver (choice bits r ∈ {0,1}^m) is
# the base-OT sender of κ random key pairs (k_i⁰, k_i¹); the extension sender picks s ← {0,1}^κ
# and learns k_i^{s_i}. With G a PRG and columns of κ × m bit matrices:
#
#     receiver:  t^i = G(k_i⁰),  u^i = t^i ⊕ G(k_i¹) ⊕ r                  ── u ──▶
#     sender:    q^i = G(k_i^{s_i}) ⊕ s_i·u^i = t^i ⊕ s_i·r
#     so each row of Q is q_j = t_j ⊕ r_j·s, and the sender sends
#                y_j⁰ = x_j⁰ ⊕ H(q_j, j),  y_j¹ = x_j¹ ⊕ H(q_j ⊕ s, j)         ◀── y ──
#     receiver:  x_j^{r_j} = y_j^{r_j} ⊕ H(t_j, j).
#
# H is the fixed-key AES TCCR hash with the OT index as tweak (Guo–Katz–Wang–Yu 2020 show a
# tweakable correlation-robust hash suffices for IKNP); q_j ⊕ s hides x_j^{1−r_j} because s
# is never revealed. Security is semi-honest. Bit matrices are rows of packed bytes, bit j of a
# row at byte j // 8, bit j % 8 (little-endian bit order), and are transposed with numpy.

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from chaihuo.crypto._errors import InvalidCryptoInputError
from chaihuo.crypto._random import random_bits_array
from chaihuo.crypto.gc._aes import Blocks, FixedKeyAES, prg
from chaihuo.crypto.gc._base_ot import BaseOTReceiver, BaseOTSender, choice_bits
from chaihuo.crypto.gc._garble import labels_from_bytes, labels_to_bytes

__all__ = ["KAPPA", "OTExtensionReceiver", "OTExtensionSender", "transpose_bit_matrix"]

KAPPA = 128
OT_TWEAK_DOMAIN = 1  # high tweak word; garbling uses 0, so the two never share a tweak
_TRANSPOSE_CHUNK = 1 << 16  # columns per transposition step, bounds the unpacked temporary


def transpose_bit_matrix(packed: npt.NDArray[np.uint8], columns: int) -> npt.NDArray[np.uint8]:
    """Transpose a (rows, ⌈columns/8⌉) packed bit matrix into (columns, ⌈rows/8⌉) packed."""
    if packed.ndim != 2 or packed.dtype != np.uint8 or packed.shape[1] != (columns + 7) // 8:
        raise InvalidCryptoInputError(
            f"bit matrix must be (rows, {(columns + 7) // 8}) uint8, got {packed.shape}"
        )
    rows = packed.shape[0]
    out = np.empty((columns, (rows + 7) // 8), dtype=np.uint8)
    for start in range(0, columns, _TRANSPOSE_CHUNK):
        stop = min(start + _TRANSPOSE_CHUNK, columns)
        block = packed[:, start // 8 : (stop + 7) // 8]
        bits = np.unpackbits(block, axis=1, count=stop - start, bitorder="little")
        out[start:stop] = np.packbits(bits.T, axis=1, bitorder="little")
    return out


def _as_blocks(rows: npt.NDArray[np.uint8]) -> Blocks:
    """(m, 16) bytes as (m, 2) little-endian uint64 blocks."""
    return np.ascontiguousarray(rows).view("<u8").astype(np.uint64)


def _ot_hash(rows: Blocks, count: int) -> Blocks:
    """H(row, j) for rows that are one or more stacked copies of j = 0..count-1."""
    indices = np.tile(np.arange(count, dtype=np.uint64), len(rows) // count)
    return FixedKeyAES().tccr(rows, indices, OT_TWEAK_DOMAIN)


class OTExtensionReceiver:
    """Chooser of m OTs (the evaluator): learns x_j^{r_j} and nothing about x_j^{1−r_j}."""

    def __init__(self, choices: npt.ArrayLike) -> None:
        self._choices = choice_bits(choices)
        self._base = BaseOTSender(KAPPA)
        self._t_rows: Blocks | None = None

    @property
    def count(self) -> int:
        """Number of OTs m."""
        return len(self._choices)

    def base_ot_setup(self) -> bytes:
        """First base-OT message (this side is the base-OT sender)."""
        return self._base.first_message()

    def extend(self, base_ot_response: bytes) -> bytes:
        """The κ × ⌈m/8⌉ matrix u (row-major bytes) for the sender."""
        if self._t_rows is not None:
            raise InvalidCryptoInputError("this OT-extension receiver has already extended")
        keys = self._base.finish(base_ot_response)
        width = (self.count + 7) // 8
        t = prg(np.ascontiguousarray(keys[:, 0]), width)
        u = t ^ prg(np.ascontiguousarray(keys[:, 1]), width)
        u ^= np.packbits(self._choices, bitorder="little")
        self._t_rows = _as_blocks(transpose_bit_matrix(t, self.count))
        return u.tobytes()

    def receive(self, ciphertexts: bytes) -> Blocks:
        """The chosen messages (m, 2) uint64 from the sender's (m × 2 × 16)-byte reply."""
        if self._t_rows is None:
            raise InvalidCryptoInputError("receive() needs extend() first")
        pairs = labels_from_bytes(ciphertexts, 2 * self.count).reshape(self.count, 2, 2)
        chosen = pairs[np.arange(self.count), self._choices]
        return np.bitwise_xor(chosen, _ot_hash(self._t_rows, self.count))


class OTExtensionSender:
    """Holder of m message pairs (the garbler): learns nothing about the choices."""

    def __init__(self) -> None:
        self._secret = random_bits_array(KAPPA)
        self._base = BaseOTReceiver(self._secret)
        self._done = False

    def base_ot_response(self, base_ot_setup: bytes) -> bytes:
        """Reply to the receiver's base-OT setup (this side is the base-OT receiver)."""
        return self._base.respond(base_ot_setup)

    def send(self, u: bytes, messages: npt.ArrayLike) -> bytes:
        """Encrypt the (m, 2, 2) uint64 pairs [j, b] = x_j^b for the receiver; usable once."""
        pairs = np.asarray(messages)
        if pairs.dtype != np.uint64 or pairs.ndim != 3 or pairs.shape[1:] != (2, 2):
            raise InvalidCryptoInputError(f"messages must be (m, 2, 2) uint64, got {pairs.shape}")
        count = len(pairs)
        width = (count + 7) // 8
        if count == 0 or len(u) != KAPPA * width:
            raise InvalidCryptoInputError(
                f"u must be {KAPPA} × {width} bytes for {count} OTs, got {len(u)} bytes"
            )
        if self._done:
            raise InvalidCryptoInputError("this OT-extension sender has already sent")
        self._done = True
        u_matrix = np.frombuffer(u, dtype=np.uint8).reshape(KAPPA, width)
        # q^i = G(k_i^{s_i}) ⊕ s_i·u^i, selected by a byte mask so every row costs the same.
        mask = (self._secret * np.uint8(0xFF))[:, None]
        q = prg(self._base.keys, width) ^ (u_matrix & mask)
        q_rows = _as_blocks(transpose_bit_matrix(q, count))
        s_block = _as_blocks(np.packbits(self._secret, bitorder="little")[None, :])
        hashed = _ot_hash(np.concatenate([q_rows, q_rows ^ s_block]), count)
        out = np.empty((count, 2, 2), dtype=np.uint64)
        out[:, 0] = pairs[:, 0] ^ hashed[:count]
        out[:, 1] = pairs[:, 1] ^ hashed[count:]
        return labels_to_bytes(out.reshape(2 * count, 2))
