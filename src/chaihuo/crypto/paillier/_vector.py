"""EncryptedVector: a numpy-like vector of Paillier ciphertexts sharing one key and exponent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

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
from chaihuo.crypto.paillier._encoding import FixedPoint, decode_signed, to_floats, to_residues
from chaihuo.crypto.paillier._kernels import power_products
from chaihuo.crypto.paillier._keys import PaillierPrivateKey, PaillierPublicKey
from chaihuo.crypto.paillier._parallel import MIN_PARALLEL_ITEMS, PaillierPool

__all__ = ["EncryptedVector", "encrypt_residues"]

Key = PaillierPublicKey | PaillierPrivateKey


def _public(key: Key) -> PaillierPublicKey:
    return key if isinstance(key, PaillierPublicKey) else key.public_key


def _plain_array(values: npt.ArrayLike) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim > 1:
        raise InvalidCryptoInputError(f"expected a scalar or 1-D array, got shape {array.shape}")
    return array


def encrypt_residues(key: Key, residues: list[int], pool: PaillierPool | None) -> list[mpz]:
    """Encrypt integers in [0, n), in the pool when the batch is long enough to pay for it."""
    if pool is not None and len(residues) >= MIN_PARALLEL_ITEMS:
        return pool.encrypt(key, residues)
    return key.raw_encrypt(residues)


class EncryptedVector:
    """Ciphertexts [[x_0]], …, [[x_{m−1}]] under one public key with one fixed-point exponent.

    Supports `+`/`-` with ciphertexts and plaintexts, `*` by a scalar or element-wise by a
    plaintext vector, `sum`, `matrix @ vector` (plaintext matrix times encrypted vector),
    slicing and concatenation. Every result keeps `bound_bits`, a public upper bound on
    log2|plaintext|; an operation whose bound would reach n/3 raises EncodingOverflowError
    instead of producing a value that would decrypt wrongly. `fresh` is True when every
    ciphertext carries its own random obfuscator (just encrypted or re-randomised); results of
    homomorphic operations are not fresh and are re-randomised before they are serialised.
    """

    __array_ufunc__: ClassVar[None] = None  # make numpy defer `ndarray @ vector` to __rmatmul__
    __slots__ = ("bound_bits", "codec", "exponent", "fresh", "public_key", "values")

    def __init__(
        self,
        public_key: PaillierPublicKey,
        ciphertexts: list[mpz],
        *,
        exponent: int,
        bound_bits: int,
        codec: FixedPoint,
        fresh: bool = False,
    ) -> None:
        self.public_key = public_key
        self.values = ciphertexts
        self.exponent = exponent
        self.bound_bits = bound_bits
        self.codec = codec
        self.fresh = fresh

    # ---------------------------------------------------------------- construction and decryption
    @classmethod
    def encrypt(
        cls,
        key: Key,
        values: npt.ArrayLike,
        codec: FixedPoint | None = None,
        *,
        pool: PaillierPool | None = None,
    ) -> EncryptedVector:
        """Encrypt a scalar or 1-D array; integer dtypes are exact, floats use the codec."""
        codec = codec or FixedPoint()
        public_key = _public(key)
        residues = to_residues(codec.encode(_plain_array(values).ravel()), int(public_key.n))
        vector = cls(
            public_key,
            encrypt_residues(key, residues, pool),
            exponent=codec.exponent,
            bound_bits=codec.value_bits,
            codec=codec,
            fresh=True,
        )
        vector._check_bound(codec.value_bits)
        return vector

    def decrypt_int(
        self, private_key: PaillierPrivateKey, *, pool: PaillierPool | None = None
    ) -> list[int]:
        """The signed fixed-point integers (exact); equal to the plaintext when exponent is 0."""
        self._require_key(private_key.public_key)
        if pool is not None and len(self.values) >= MIN_PARALLEL_ITEMS:
            residues = pool.decrypt(private_key, self.values)
        else:
            residues = private_key.raw_decrypt(self.values)
        return decode_signed(residues, int(self.public_key.n))

    def decrypt(
        self, private_key: PaillierPrivateKey, *, pool: PaillierPool | None = None
    ) -> npt.NDArray[np.float64]:
        """Decrypt and scale back to floats by 2^−exponent."""
        return to_floats(self.decrypt_int(private_key, pool=pool), self.exponent)

    # ------------------------------------------------------------------------- container protocol
    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int | slice | Sequence[int] | npt.NDArray[Any]) -> EncryptedVector:
        if isinstance(index, int | np.integer):
            picked = [self.values[int(index)]]
        elif isinstance(index, slice):
            picked = self.values[index]
        else:
            positions = np.asarray(index)
            if positions.dtype == np.bool_:
                positions = np.flatnonzero(positions)
            picked = [self.values[int(i)] for i in positions.tolist()]
        return self._like(picked, fresh=self.fresh)

    @classmethod
    def concat(cls, vectors: Sequence[EncryptedVector]) -> EncryptedVector:
        """Join vectors under one key and exponent end to end."""
        if not vectors:
            raise InvalidCryptoInputError("concat needs at least one vector")
        first = vectors[0]
        for other in vectors[1:]:
            first._require_compatible(other)
        joined = [c for vector in vectors for c in vector.values]
        return first._like(
            joined,
            bound_bits=max(v.bound_bits for v in vectors),
            fresh=all(v.fresh for v in vectors),
        )

    def _like(
        self,
        ciphertexts: list[mpz],
        *,
        exponent: int | None = None,
        bound_bits: int | None = None,
        fresh: bool = False,
    ) -> EncryptedVector:
        return EncryptedVector(
            self.public_key,
            ciphertexts,
            exponent=self.exponent if exponent is None else exponent,
            bound_bits=self.bound_bits if bound_bits is None else bound_bits,
            codec=self.codec,
            fresh=fresh,
        )

    # --------------------------------------------------------------------------------- invariants
    def _require_key(self, public_key: PaillierPublicKey) -> None:
        if public_key.fingerprint != self.public_key.fingerprint:
            raise KeyMismatchError(
                "ciphertexts were made under key "
                f"{self.public_key.fingerprint.hex()[:16]}, not {public_key.fingerprint.hex()[:16]}"
            )

    def _require_compatible(self, other: EncryptedVector) -> None:
        self._require_key(other.public_key)
        if other.exponent != self.exponent:
            raise ExponentMismatchError(
                f"fixed-point exponents differ: {self.exponent} and {other.exponent}"
            )

    def _check_bound(self, bits: int) -> int:
        limit = int(self.public_key.max_int).bit_length() - 1
        if bits > limit:
            raise EncodingOverflowError(
                f"result could need {bits} bits, but only {limit} bits decode safely under this "
                "key: decrypt and re-encrypt, or lower the fixed-point exponent"
            )
        return bits

    def _length_match(self, count: int) -> None:
        if count not in (1, len(self.values)):
            raise InvalidCryptoInputError(
                f"operand of length {count} does not match vector of length {len(self.values)}"
            )

    # --------------------------------------------------------------------------------- arithmetic
    def __add__(self, other: object) -> EncryptedVector:
        nsq = self.public_key.nsquare
        if isinstance(other, EncryptedVector):
            self._require_compatible(other)
            self._length_match(len(other))
            bound = self._check_bound(max(self.bound_bits, other.bound_bits) + 1)
            right = other.values * len(self.values) if len(other) == 1 else other.values
            left = self.values * len(right) if len(self) == 1 else self.values
            return self._like(
                [a * b % nsq for a, b in zip(left, right, strict=True)], bound_bits=bound
            )
        plain = _plain_array(cast("npt.ArrayLike", other))
        signed = self.codec.encode(plain.ravel(), self.exponent)
        self._length_match(len(signed))
        bound = self._check_bound(max(self.bound_bits, self.codec.value_bits) + 1)
        n = self.public_key.n
        lifts = [(n * (v % n) + 1) for v in signed] * (len(self) if len(signed) == 1 else 1)
        left = self.values * len(lifts) if len(self) == 1 else self.values
        return self._like([c * g % nsq for c, g in zip(left, lifts, strict=True)], bound_bits=bound)

    def __radd__(self, other: object) -> EncryptedVector:
        return self.__add__(other)

    def __neg__(self) -> EncryptedVector:
        nsq = self.public_key.nsquare
        return self._like([gmpy2.invert(c, nsq) for c in self.values])

    def __sub__(self, other: object) -> EncryptedVector:
        if isinstance(other, EncryptedVector):
            return self + (-other)
        negated: npt.NDArray[Any] = -_plain_array(cast("npt.ArrayLike", other))
        return self.__add__(negated)

    def __rsub__(self, other: object) -> EncryptedVector:
        return (-self) + other

    def mul(self, other: npt.ArrayLike, *, pool: PaillierPool | None = None) -> EncryptedVector:
        """Multiply by a plaintext scalar or element-wise by a plaintext vector.

        Integer operands are exact and keep the exponent; float operands are encoded with the
        codec's exponent, so the result's exponent is the sum of both.
        """
        plain = _plain_array(other)
        extra = 0 if plain.dtype.kind in "biu" else self.codec.exponent
        scalars = self.codec.encode(plain.ravel(), extra)
        self._length_match(len(scalars))
        scalar_bits = max((abs(k).bit_length() for k in scalars), default=0)
        bound = self._check_bound(self.bound_bits + min(scalar_bits, self.codec.value_bits + extra))
        if len(scalars) == 1:
            scalars = scalars * len(self)
        left = self.values * len(scalars) if len(self) == 1 else self.values
        nsq = self.public_key.nsquare
        pairs = list(zip(left, scalars, strict=True))
        if pool is not None and len(pairs) >= MIN_PARALLEL_ITEMS:
            product = pool.elementwise_power(nsq, pairs)
        else:
            product = [gmpy2.powmod(c, k, nsq) for c, k in pairs]
        return self._like(product, exponent=self.exponent + extra, bound_bits=bound)

    def __mul__(self, other: object) -> EncryptedVector:
        if isinstance(other, EncryptedVector):
            return NotImplemented
        return self.mul(cast("npt.ArrayLike", other))

    def __rmul__(self, other: object) -> EncryptedVector:
        return self.__mul__(other)

    def sum(self) -> EncryptedVector:
        """[[Σ x_i]] as a vector of length 1."""
        nsq = self.public_key.nsquare
        acc = mpz(1)
        for c in self.values:
            acc = acc * c % nsq
        bound = self._check_bound(self.bound_bits + max(len(self.values) - 1, 0).bit_length())
        return self._like([acc], bound_bits=bound)

    def rmatmul(
        self,
        matrix: npt.ArrayLike,
        *,
        exponent: int | None = None,
        pool: PaillierPool | None = None,
    ) -> EncryptedVector:
        """matrix @ [[x]] for a plaintext (m × len) matrix: m outputs, Π_i c_i^(M_ji) each.

        Float matrices are encoded with `exponent` fractional bits (default: the codec's);
        fewer bits make the short scalars shorter and the product faster.
        """
        dense = np.asarray(matrix)
        if dense.ndim != 2 or dense.shape[1] != len(self.values):
            raise InvalidCryptoInputError(
                f"matrix of shape {dense.shape} cannot multiply a vector of length {len(self)}"
            )
        extra = (
            0
            if dense.dtype.kind in "biu"
            else (self.codec.exponent if exponent is None else exponent)
        )
        encoded = np.array(FixedPoint(extra, 62).encode(dense.ravel(), extra), dtype=np.int64)
        exponents = encoded.reshape(dense.shape).T
        scalar_bits = int(np.abs(exponents).max(initial=0)).bit_length()
        terms = max(len(self.values) - 1, 0).bit_length()
        bound = self._check_bound(self.bound_bits + scalar_bits + terms)
        nsq = self.public_key.nsquare
        if pool is not None and dense.shape[0] >= 2 and dense.size >= MIN_PARALLEL_ITEMS * 16:
            out = pool.power_products(nsq, self.values, exponents)
        else:
            out = power_products(self.values, exponents, nsq)
        return self._like(out, exponent=self.exponent + extra, bound_bits=bound)

    def __rmatmul__(self, matrix: object) -> EncryptedVector:
        return self.rmatmul(cast("npt.ArrayLike", matrix))

    def dot(self, weights: npt.ArrayLike, *, exponent: int | None = None) -> EncryptedVector:
        """[[Σ_i w_i x_i]] for a plaintext weight vector (length-1 result)."""
        return self.rmatmul(np.asarray(weights).reshape(1, -1), exponent=exponent)

    def rerandomize(self, *, pool: PaillierPool | None = None) -> EncryptedVector:
        """Same plaintexts under fresh obfuscators (unlinkable to the inputs)."""
        if pool is not None and len(self.values) >= MIN_PARALLEL_ITEMS:
            values = pool.rerandomize(self.public_key, self.values)
        else:
            values = self.public_key.rerandomize(self.values)
        return self._like(values, fresh=True)

    def __repr__(self) -> str:
        return (
            f"EncryptedVector(len={len(self.values)}, exponent={self.exponent}, "
            f"bound_bits={self.bound_bits}, key={self.public_key.fingerprint.hex()[:16]})"
        )
