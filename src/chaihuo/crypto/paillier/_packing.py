"""Packing many small signed fixed-point values into one Paillier plaintext (BatchCrypt style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2
import numpy as np
import numpy.typing as npt
from gmpy2 import mpz

from chaihuo.crypto._errors import (
    EncodingOverflowError,
    ExponentMismatchError,
    InvalidCryptoInputError,
    KeyMismatchError,
)
from chaihuo.crypto.paillier._encoding import FixedPoint, to_floats
from chaihuo.crypto.paillier._keys import PaillierPrivateKey, PaillierPublicKey
from chaihuo.crypto.paillier._parallel import MIN_PARALLEL_ITEMS, PaillierPool
from chaihuo.crypto.paillier._vector import EncryptedVector, encrypt_residues

__all__ = ["PackedVector", "PackingScheme"]


@dataclass(frozen=True, slots=True)
class PackingScheme:
    """Slot layout: signed values of `value_bits` bits (sign included) at a fixed exponent.

    A value v with |v| < 2^(value_bits−1) is stored as u = v + 2^(value_bits−1) ∈ [0,
    2^value_bits) in a slot of value_bits + headroom_bits bits, so up to 2^headroom_bits
    packed plaintexts can be added before a slot could carry into its neighbour (the offsets
    add up too and are removed on unpacking). This is the layout of BatchCrypt (Zhang et al.,
    USENIX ATC 2020) and of SecureBoost+'s gradient packing (Chen et al., 2021).
    """

    value_bits: int = 48
    headroom_bits: int = 16
    exponent: int = 24

    def __post_init__(self) -> None:
        if self.value_bits < 2 or self.headroom_bits < 0 or self.exponent < 0:
            raise InvalidCryptoInputError("packing needs value_bits ≥ 2, headroom, exponent ≥ 0")

    @property
    def slot_bits(self) -> int:
        """Width of one slot."""
        return self.value_bits + self.headroom_bits

    @property
    def max_additions(self) -> int:
        """How many packed plaintexts may be summed before a slot could overflow."""
        return 1 << self.headroom_bits

    def slots(self, public_key: PaillierPublicKey) -> int:
        """Slots per plaintext: as many as fit below n."""
        count = (public_key.key_bits - 1) // self.slot_bits
        if count < 1:
            raise InvalidCryptoInputError(f"a {self.slot_bits}-bit slot does not fit this key")
        return count

    @property
    def _offset(self) -> int:
        return 1 << (self.value_bits - 1)

    def _codec(self) -> FixedPoint:
        return FixedPoint(self.exponent, self.value_bits - 1)

    def pack(self, rows: npt.NDArray[Any]) -> list[int]:
        """One plaintext integer per row; row j's value k sits in slot k."""
        offset, slot = self._offset, self.slot_bits
        signed = self._codec().encode(rows.ravel())
        width = rows.shape[1]
        out = []
        for start in range(0, len(signed), width):
            acc = 0
            for value in reversed(signed[start : start + width]):
                acc = (acc << slot) | (value + offset)
            out.append(acc)
        return out

    def unpack(self, plaintexts: Sequence[int], width: int, additions: int) -> list[int]:
        """Signed fixed-point integers of every slot, after `additions` summed plaintexts."""
        slot, mask, shift = self.slot_bits, (1 << self.slot_bits) - 1, additions * self._offset
        out = []
        for value in plaintexts:
            v = int(value)
            for _ in range(width):
                out.append((v & mask) - shift)
                v >>= slot
            if v:
                raise EncodingOverflowError("packed plaintext has bits beyond its last slot")
        return out


def _packed_vector(
    public_key: PaillierPublicKey, ciphertexts: list[mpz], *, fresh: bool = False
) -> EncryptedVector:
    # Slot overflow is tracked by PackedVector.additions, not by the scalar bound.
    return EncryptedVector(
        public_key, ciphertexts, exponent=0, bound_bits=0, codec=FixedPoint(0), fresh=fresh
    )


class PackedVector:
    """Rows of packed ciphertexts: each ciphertext holds `width` values of one scheme.

    Adding two packed vectors adds slot-wise; `sum` adds rows. `additions` counts how many
    original packed plaintexts were summed into each ciphertext (bounded by the headroom).
    """

    __slots__ = ("additions", "ciphertexts", "count", "scheme", "width")

    def __init__(
        self,
        ciphertexts: EncryptedVector,
        scheme: PackingScheme,
        width: int,
        additions: int,
        count: int | None = None,
    ) -> None:
        if additions > scheme.max_additions:
            raise EncodingOverflowError(
                f"{additions} additions exceed the scheme's headroom of {scheme.max_additions}"
            )
        self.ciphertexts = ciphertexts
        self.scheme = scheme
        self.width = width
        self.additions = additions
        self.count = len(ciphertexts) * width if count is None else count

    @classmethod
    def encrypt(
        cls,
        key: PaillierPublicKey | PaillierPrivateKey,
        rows: npt.ArrayLike,
        scheme: PackingScheme,
        *,
        pool: PaillierPool | None = None,
    ) -> PackedVector:
        """Pack each row of a (rows × width) array into one plaintext and encrypt it."""
        matrix = np.asarray(rows)
        if matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        public_key = key if isinstance(key, PaillierPublicKey) else key.public_key
        if matrix.ndim != 2 or matrix.shape[1] > scheme.slots(public_key):
            raise InvalidCryptoInputError(
                f"rows of width {matrix.shape[-1]} exceed {scheme.slots(public_key)} slots"
            )
        ciphertexts = encrypt_residues(key, scheme.pack(matrix), pool)
        return cls(_packed_vector(public_key, ciphertexts, fresh=True), scheme, matrix.shape[1], 1)

    @classmethod
    def compress(cls, vector: EncryptedVector, scheme: PackingScheme) -> PackedVector:
        """Homomorphically pack an encrypted vector: m ciphertexts become ⌈m/slots⌉.

        Horner's rule on ciphertexts: [[Σ_k u_k·2^(s·k)]] = (…([[u_K]]^(2^s)·[[u_{K−1}]])…),
        with u_k = x_k + offset; cost ≈ s squarings per value instead of one decryption each.
        """
        if vector.exponent != scheme.exponent:
            raise ExponentMismatchError(
                f"vector exponent {vector.exponent} differs from the scheme's {scheme.exponent}"
            )
        if vector.bound_bits > scheme.value_bits - 1:
            raise EncodingOverflowError(
                f"values bounded by 2^{vector.bound_bits} do not fit {scheme.value_bits}-bit slots"
            )
        public_key = vector.public_key
        n, nsq, slot = public_key.n, public_key.nsquare, scheme.slot_bits
        lift = n * scheme._offset + 1
        shifted = [c * lift % nsq for c in vector.values]
        width = scheme.slots(public_key)
        packed = []
        for start in range(0, len(shifted), width):
            group = shifted[start : start + width]
            acc = group[-1]
            for c in reversed(group[:-1]):
                acc = gmpy2.powmod(acc, mpz(1) << slot, nsq) * c % nsq
            packed.append(acc)
        return cls(_packed_vector(public_key, packed), scheme, width, 1, count=len(shifted))

    def __len__(self) -> int:
        return len(self.ciphertexts)

    def __add__(self, other: PackedVector) -> PackedVector:
        if not isinstance(other, PackedVector):
            return NotImplemented
        if (other.scheme, other.width, other.count) != (self.scheme, self.width, self.count):
            raise InvalidCryptoInputError("packed vectors use different layouts")
        if other.ciphertexts.public_key.fingerprint != self.ciphertexts.public_key.fingerprint:
            raise KeyMismatchError("packed vectors are under different keys")
        nsq = self.ciphertexts.public_key.nsquare
        summed = [
            a * b % nsq
            for a, b in zip(self.ciphertexts.values, other.ciphertexts.values, strict=True)
        ]
        return PackedVector(
            self.ciphertexts._like(summed),
            self.scheme,
            self.width,
            self.additions + other.additions,
            self.count,
        )

    def __getitem__(self, index: slice | Sequence[int] | npt.NDArray[Any]) -> PackedVector:
        """Select rows (whole ciphertexts)."""
        return PackedVector(self.ciphertexts[index], self.scheme, self.width, self.additions)

    def sum(self) -> PackedVector:
        """Slot-wise sum of all rows as a single packed ciphertext (row-packed vectors only)."""
        if self.count != len(self.ciphertexts) * self.width:
            raise InvalidCryptoInputError("sum adds rows; a compressed vector has no rows")
        nsq = self.ciphertexts.public_key.nsquare
        acc = mpz(1)
        for c in self.ciphertexts.values:
            acc = acc * c % nsq
        return PackedVector(
            self.ciphertexts._like([acc]),
            self.scheme,
            self.width,
            self.additions * len(self.ciphertexts),
        )

    def decrypt_int(
        self, private_key: PaillierPrivateKey, *, pool: PaillierPool | None = None
    ) -> list[int]:
        """Signed fixed-point integers, row after row (width values per ciphertext)."""
        vector = self.ciphertexts
        vector._require_key(private_key.public_key)
        if pool is not None and len(vector) >= MIN_PARALLEL_ITEMS:
            plaintexts = pool.decrypt(private_key, vector.values)
        else:
            plaintexts = private_key.raw_decrypt(vector.values)
        return self.scheme.unpack(plaintexts, self.width, self.additions)[: self.count]

    def decrypt(
        self, private_key: PaillierPrivateKey, *, pool: PaillierPool | None = None
    ) -> npt.NDArray[np.float64]:
        """Floats of the first `count` slots, row after row (reshape to (-1, width) for rows)."""
        return to_floats(self.decrypt_int(private_key, pool=pool), self.scheme.exponent)
