"""The closed type registry: tag-prefixed binary encoding and a decoder that imports nothing."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

import numpy as np

from chaihuo.crypto import CryptoError
from chaihuo.crypto.paillier import (
    EncryptedVector,
    PackedVector,
    PaillierPublicKey,
    packed_from_bytes,
    packed_to_bytes,
    vector_from_bytes,
    vector_to_bytes,
)
from chaihuo.serde._errors import PayloadTooLargeError, SerdeError, UnsupportedTypeError
from chaihuo.serde._limits import Keyring, SerdeLimits
from chaihuo.serde._table_meta import TableMeta

__all__ = ["MAGIC", "Tag", "dumps", "loads"]

MAGIC: Final = b"CHS\x01"


class Tag:
    """One byte per registered type. The set is closed: a new type needs a new tag here."""

    NONE, FALSE, TRUE, INT, FLOAT, STR, BYTES = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
    LIST, TUPLE, DICT, NDARRAY = 0x07, 0x08, 0x09, 0x0A
    ENCRYPTED_VECTOR, PACKED_VECTOR, PAILLIER_KEY, TABLE_META = 0x0B, 0x0C, 0x0D, 0x0E


# numpy dtypes that may cross the wire (always little-endian); object dtypes never may.
_DTYPES: Final[tuple[str, ...]] = (
    "|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8",
    "<c8", "<c16",
)  # fmt: skip
_DTYPE_CODE: Final = {np.dtype(code): index for index, code in enumerate(_DTYPES)}
_FLOAT: Final = struct.Struct(">d")
_MAX_NDIM: Final = 32


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Encoder:
    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = [MAGIC]

    def emit(self, tag: int, body: bytes | memoryview = b"") -> None:
        self.parts.append(bytes((tag,)))
        if body:
            self.parts.append(body)

    def sized(self, tag: int, body: bytes | memoryview) -> None:
        self.parts.append(bytes((tag,)) + _varint(len(body)))
        self.parts.append(body)

    def encode(self, obj: object) -> None:
        if obj is None:
            self.emit(Tag.NONE)
        elif isinstance(obj, bool | np.bool_):
            self.emit(Tag.TRUE if obj else Tag.FALSE)
        elif isinstance(obj, int | np.integer):
            value = int(obj)
            self.sized(Tag.INT, value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True))
        elif isinstance(obj, float | np.floating):
            self.emit(Tag.FLOAT, _FLOAT.pack(float(obj)))
        elif isinstance(obj, str):
            self.sized(Tag.STR, obj.encode("utf-8"))
        elif isinstance(obj, bytes | bytearray | memoryview):
            self.sized(Tag.BYTES, bytes(obj) if isinstance(obj, bytearray) else obj)
        elif isinstance(obj, list | tuple):
            self.parts.append(bytes((Tag.LIST if isinstance(obj, list) else Tag.TUPLE,)))
            self.parts.append(_varint(len(obj)))
            for item in obj:
                self.encode(item)
        elif isinstance(obj, dict):
            self.parts.append(bytes((Tag.DICT,)) + _varint(len(obj)))
            for key, value in obj.items():
                self.encode(key)
                self.encode(value)
        elif isinstance(obj, np.ndarray):
            self._array(obj)
        else:
            self._crypto_or_meta(obj)

    def _array(self, array: np.ndarray) -> None:
        wire = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        code = _DTYPE_CODE.get(wire)
        if code is None or array.ndim > _MAX_NDIM:
            raise UnsupportedTypeError(f"numpy arrays of dtype {array.dtype} cannot be sent")
        data = np.require(array, dtype=wire, requirements="C")
        header = bytes((Tag.NDARRAY, code, data.ndim)) + b"".join(_varint(d) for d in data.shape)
        self.parts.append(header)
        self.parts.append(data.reshape(-1).view(np.uint8).data if data.size else b"")

    def _crypto_or_meta(self, obj: object) -> None:
        if isinstance(obj, EncryptedVector):
            self.sized(Tag.ENCRYPTED_VECTOR, obj.public_key.to_bytes())
            self.parts.append(_framed(vector_to_bytes(obj)))
        elif isinstance(obj, PackedVector):
            self.sized(Tag.PACKED_VECTOR, obj.ciphertexts.public_key.to_bytes())
            self.parts.append(_framed(packed_to_bytes(obj)))
        elif isinstance(obj, PaillierPublicKey):
            self.sized(Tag.PAILLIER_KEY, obj.to_bytes())
        elif isinstance(obj, TableMeta):
            self.parts.append(bytes((Tag.TABLE_META,)))
            self.encode(obj.to_wire())
        else:
            raise UnsupportedTypeError(
                f"objects of type {type(obj).__name__} cannot cross a party boundary"
            )


def _framed(body: bytes) -> bytes:
    return _varint(len(body)) + body


def dumps(obj: object) -> bytes:
    """Encode `obj` (None, bool, int, float, str, bytes, list, tuple, dict, numeric ndarray,
    EncryptedVector, PackedVector, PaillierPublicKey, TableMeta) or raise UnsupportedTypeError.

    Encrypted vectors that are results of homomorphic operations are re-randomised first.
    """
    encoder = _Encoder()
    encoder.encode(obj)
    return b"".join(encoder.parts)


class _Decoder:
    def __init__(self, data: memoryview, limits: SerdeLimits, keyring: Keyring) -> None:
        self.data, self.pos, self.limits, self.keyring = data, len(MAGIC), limits, keyring
        self.items = 0
        self.table: dict[int, Callable[[int], object]] = {
            Tag.NONE: lambda _: None,
            Tag.FALSE: lambda _: False,
            Tag.TRUE: lambda _: True,
            Tag.INT: lambda _: self._int(),
            Tag.FLOAT: lambda _: _FLOAT.unpack(self.take(8))[0],
            Tag.STR: lambda _: self._str(),
            Tag.BYTES: lambda _: bytes(self.take(self.length())),
            Tag.LIST: self._sequence,
            Tag.TUPLE: lambda depth: tuple(self._sequence(depth)),
            Tag.DICT: self._dict,
            Tag.NDARRAY: lambda _: self._array(),
            Tag.ENCRYPTED_VECTOR: lambda _: self._encrypted(packed=False),
            Tag.PACKED_VECTOR: lambda _: self._encrypted(packed=True),
            Tag.PAILLIER_KEY: lambda _: self.keyring.intern(bytes(self.take(self.length()))),
            Tag.TABLE_META: lambda depth: TableMeta.from_wire(self.value(depth + 1)),
        }

    def take(self, count: int) -> memoryview:
        end = self.pos + count
        if count < 0 or end > len(self.data):
            raise SerdeError(f"payload truncated at byte {self.pos}: {count} bytes declared")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def length(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise SerdeError(f"length varint too long at byte {self.pos}")

    def count(self, amount: int) -> int:
        self.items += amount
        if self.items > self.limits.max_items:
            raise PayloadTooLargeError(f"payload declares over {self.limits.max_items} items")
        return amount

    def value(self, depth: int = 0) -> object:
        if depth > self.limits.max_depth:
            raise SerdeError(f"payload nested deeper than {self.limits.max_depth}")
        tag = self.take(1)[0]
        decode = self.table.get(tag)
        if decode is None:
            raise SerdeError(f"unknown type tag 0x{tag:02x} at byte {self.pos - 1}")
        return decode(depth)

    def _int(self) -> int:
        size = self.length()
        if size > self.limits.max_int_bytes:
            raise PayloadTooLargeError(f"integer of {size} bytes exceeds the limit")
        return int.from_bytes(self.take(size), "big", signed=True)

    def _str(self) -> str:
        raw = self.take(self.length())
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as exc:
            raise SerdeError(f"invalid UTF-8 in string ending at byte {self.pos}") from exc

    def _sequence(self, depth: int) -> list[object]:
        size = self.count(self.length())
        if size > len(self.data) - self.pos:  # every item takes at least one byte
            raise SerdeError(f"sequence of {size} items cannot fit the remaining payload")
        return [self.value(depth + 1) for _ in range(size)]

    def _dict(self, depth: int) -> dict[object, object]:
        size = self.count(self.length())
        if 2 * size > len(self.data) - self.pos:
            raise SerdeError(f"dict of {size} entries cannot fit the remaining payload")
        out: dict[object, object] = {}
        for _ in range(size):
            key = self.value(depth + 1)
            try:
                out[key] = self.value(depth + 1)
            except TypeError as exc:
                raise SerdeError(f"unhashable dict key of type {type(key).__name__}") from exc
        return out

    def _array(self) -> np.ndarray:
        code, ndim = self.take(1)[0], self.take(1)[0]
        if code >= len(_DTYPES) or ndim > _MAX_NDIM:
            raise SerdeError(f"unknown array dtype code {code} or {ndim} dimensions")
        shape = tuple(self.length() for _ in range(ndim))
        dtype = np.dtype(_DTYPES[code])
        elements = 1
        for dim in shape:
            elements *= dim
        self.count(elements)
        raw = self.take(elements * dtype.itemsize)
        # Zero-copy, read-only view of the received buffer.
        return np.frombuffer(raw, dtype=dtype).reshape(shape)

    def _encrypted(self, *, packed: bool) -> EncryptedVector | PackedVector:
        key = self.keyring.intern(bytes(self.take(self.length())))
        body = self.take(self.length())
        try:
            if packed:
                return packed_from_bytes(body, key)
            return vector_from_bytes(body, key)
        except CryptoError as exc:
            raise SerdeError(f"invalid ciphertexts: {exc}") from exc


def loads(
    data: bytes | bytearray | memoryview,
    *,
    limits: SerdeLimits | None = None,
    keyring: Keyring | None = None,
) -> object:
    """Decode a payload made by `dumps`; every failure is a SerdeError raised before use."""
    limits = limits or SerdeLimits()
    view = memoryview(data).cast("B")
    if len(view) > limits.max_bytes:
        raise PayloadTooLargeError(f"payload of {len(view)} bytes exceeds {limits.max_bytes}")
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise SerdeError("not a chaihuo payload (bad magic or version)")
    decoder = _Decoder(view, limits, keyring or Keyring())
    value = decoder.value()
    if decoder.pos != len(view):
        raise SerdeError(f"{len(view) - decoder.pos} trailing bytes after the payload")
    return value
