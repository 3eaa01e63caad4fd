"""Wire format of encrypted and packed vectors: fixed-width big-endian ciphertexts + key tag."""

from __future__ import annotations

import struct

from gmpy2 import mpz

from chaihuo.crypto._errors import (
    ExponentMismatchError,
    InvalidCiphertextError,
    KeyMismatchError,
)
from chaihuo.crypto.paillier._encoding import FixedPoint
from chaihuo.crypto.paillier._keys import PaillierPublicKey
from chaihuo.crypto.paillier._packing import PackedVector, PackingScheme
from chaihuo.crypto.paillier._parallel import PaillierPool
from chaihuo.crypto.paillier._vector import EncryptedVector

__all__ = ["packed_from_bytes", "packed_to_bytes", "vector_from_bytes", "vector_to_bytes"]

_VECTOR_MAGIC = b"CHEV"
_PACKED_MAGIC = b"CHPV"
_VERSION = 1
# magic, version, exponent, bound bits, codec exponent, codec value bits, count, fingerprint,
# ciphertext width in bytes.
_VECTOR_HEADER = struct.Struct(">4sBHHHHI32sH")
# magic, version, value bits, headroom bits, exponent, width, additions, count.
_PACKED_HEADER = struct.Struct(">4sBHHHHII")
_BOUND_QUANTUM = 16


def _public_bound(bits: int, limit: int) -> int:
    # The exact bound can depend on local data (the multiplier's size); ship a coarser one.
    return min(-(-bits // _BOUND_QUANTUM) * _BOUND_QUANTUM, limit)


def vector_to_bytes(vector: EncryptedVector, *, pool: PaillierPool | None = None) -> bytes:
    """Serialise, re-randomising first unless every ciphertext is already fresh."""
    if not vector.fresh:
        vector = vector.rerandomize(pool=pool)
    key = vector.public_key
    width = key.ciphertext_bytes
    limit = int(key.max_int).bit_length() - 1
    header = _VECTOR_HEADER.pack(
        _VECTOR_MAGIC,
        _VERSION,
        vector.exponent,
        _public_bound(vector.bound_bits, limit),
        vector.codec.exponent,
        vector.codec.value_bits,
        len(vector),
        key.fingerprint,
        width,
    )
    return header + b"".join(c.to_bytes(width, "big") for c in vector.values)


def vector_from_bytes(
    data: bytes | memoryview,
    public_key: PaillierPublicKey,
    *,
    expected_exponent: int | None = None,
) -> EncryptedVector:
    """Parse and validate: magic, length, key fingerprint, exponent, and every ciphertext."""
    raw = memoryview(data)
    if len(raw) < _VECTOR_HEADER.size:
        raise InvalidCiphertextError("encrypted vector shorter than its header")
    magic, version, exponent, bound, codec_exp, codec_bits, count, fingerprint, width = (
        _VECTOR_HEADER.unpack_from(raw)
    )
    if magic != _VECTOR_MAGIC or version != _VERSION:
        raise InvalidCiphertextError("not an encrypted vector of a known version")
    if fingerprint != public_key.fingerprint:
        raise KeyMismatchError(
            f"ciphertexts are under key {fingerprint.hex()[:16]}, "
            f"expected {public_key.fingerprint.hex()[:16]}"
        )
    if width != public_key.ciphertext_bytes:
        raise InvalidCiphertextError(f"ciphertext width {width} does not match the key")
    if len(raw) != _VECTOR_HEADER.size + count * width:
        raise InvalidCiphertextError(
            f"encrypted vector of {count} ciphertexts needs {_VECTOR_HEADER.size + count * width}"
            f" bytes, got {len(raw)}"
        )
    if expected_exponent is not None and exponent != expected_exponent:
        raise ExponentMismatchError(
            f"ciphertexts use exponent {exponent}, the protocol expects {expected_exponent}"
        )
    limit = int(public_key.max_int).bit_length() - 1
    if bound > limit:
        raise InvalidCiphertextError(f"declared bound of {bound} bits exceeds the key's range")
    body = raw[_VECTOR_HEADER.size :]
    values = public_key.check_ciphertexts(
        mpz.from_bytes(bytes(body[i * width : (i + 1) * width]), "big") for i in range(count)
    )
    codec = _codec(codec_exp, codec_bits)
    return EncryptedVector(
        public_key, values, exponent=exponent, bound_bits=bound, codec=codec, fresh=True
    )


def _codec(exponent: int, value_bits: int) -> FixedPoint:
    try:
        return FixedPoint(exponent, value_bits)
    except ValueError as exc:
        raise InvalidCiphertextError(f"invalid fixed-point codec in header: {exc}") from exc


def packed_to_bytes(packed: PackedVector, *, pool: PaillierPool | None = None) -> bytes:
    """Serialise a packed vector (layout header + its ciphertexts)."""
    scheme = packed.scheme
    header = _PACKED_HEADER.pack(
        _PACKED_MAGIC,
        _VERSION,
        scheme.value_bits,
        scheme.headroom_bits,
        scheme.exponent,
        packed.width,
        packed.additions,
        packed.count,
    )
    return header + vector_to_bytes(packed.ciphertexts, pool=pool)


def packed_from_bytes(data: bytes | memoryview, public_key: PaillierPublicKey) -> PackedVector:
    """Parse and validate a packed vector."""
    raw = memoryview(data)
    if len(raw) < _PACKED_HEADER.size:
        raise InvalidCiphertextError("packed vector shorter than its header")
    magic, version, value_bits, headroom, exponent, width, additions, count = (
        _PACKED_HEADER.unpack_from(raw)
    )
    if magic != _PACKED_MAGIC or version != _VERSION:
        raise InvalidCiphertextError("not a packed vector of a known version")
    try:
        scheme = PackingScheme(value_bits, headroom, exponent)
        slots = scheme.slots(public_key)
    except ValueError as exc:
        raise InvalidCiphertextError(f"invalid packing layout: {exc}") from exc
    vector = vector_from_bytes(raw[_PACKED_HEADER.size :], public_key, expected_exponent=0)
    if not 1 <= width <= slots or count > len(vector) * width or additions < 1:
        raise InvalidCiphertextError("packed vector header is inconsistent with its ciphertexts")
    try:
        return PackedVector(vector, scheme, width, additions, count)
    except OverflowError as exc:
        raise InvalidCiphertextError(str(exc)) from exc
