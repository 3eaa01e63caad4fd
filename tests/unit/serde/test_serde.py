"""serde: round trips of every registered type, typed rejection of everything else (R02, R03)."""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaihuo.crypto.paillier import (
    EncryptedVector,
    FixedPoint,
    PackedVector,
    PackingScheme,
    PaillierKeyPair,
    generate_keypair,
)
from chaihuo.serde import (
    MAGIC,
    Keyring,
    PayloadTooLargeError,
    SerdeError,
    SerdeLimits,
    TableMeta,
    UnsupportedTypeError,
    dumps,
    loads,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**600), max_value=2**600)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
)
keys = st.none() | st.booleans() | st.integers() | st.text() | st.binary()
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300)
@given(values)
def test_round_trip_of_nested_primitives(value: object) -> None:
    assert loads(dumps(value)) == value


def test_floats_keep_nan_and_infinities() -> None:
    out = loads(dumps([float("nan"), float("inf"), -0.0]))
    assert isinstance(out, list)
    assert np.isnan(out[0]) and out[1] == float("inf") and str(out[2]) == "-0.0"


@pytest.mark.parametrize(
    "dtype",
    [
        *("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
        *("float16", "float32", "float64", "complex64", "complex128", ">f8", ">i4"),
    ],
)
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 0, 5), (2, 3, 2)])
def test_numeric_arrays_round_trip(dtype: str, shape: tuple[int, ...]) -> None:
    array = (np.arange(int(np.prod(shape))) % 3).astype(dtype).reshape(shape)
    out = loads(dumps(array))
    assert isinstance(out, np.ndarray)
    assert out.shape == shape and out.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(out, array)
    assert not out.flags.writeable  # zero-copy view of the received buffer


def test_non_contiguous_arrays_and_numpy_scalars() -> None:
    matrix = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(loads(dumps(matrix[:, ::2])), matrix[:, ::2])
    assert loads(dumps([np.int64(3), np.float32(0.5), np.bool_(True)])) == [3, 0.5, True]


def test_table_meta_round_trips_and_is_validated() -> None:
    meta = TableMeta("guest", "breast", 4, 569, {"x0": "float64"})
    assert loads(dumps(meta)) == meta
    forged = dumps(meta).replace(b"partitions", b"partitionz")
    with pytest.raises(SerdeError, match="five fields"):
        loads(forged)


@pytest.fixture(scope="module")
def keypair() -> PaillierKeyPair:
    return generate_keypair(2048)


def test_encrypted_vectors_keys_and_packed_vectors_round_trip(keypair: PaillierKeyPair) -> None:
    pk, sk = keypair
    vector = EncryptedVector.encrypt(pk, np.array([1, -2, 3]), FixedPoint(0))
    summed = vector + vector
    ring = Keyring()
    decoded = loads(dumps({"v": summed, "k": pk}), keyring=ring)
    assert isinstance(decoded, dict)
    assert decoded["v"].decrypt_int(sk) == [2, -4, 6]
    assert decoded["k"] is decoded["v"].public_key  # interned: one key object per job
    assert {int(c) for c in decoded["v"].values}.isdisjoint(int(c) for c in summed.values)
    packed = PackedVector.encrypt(pk, np.array([[1, 2], [3, 4]]), PackingScheme(16, 4, 0))
    assert loads(dumps(packed)).decrypt_int(sk) == [1, 2, 3, 4]  # type: ignore[attr-defined]


def test_keyring_refuses_unexpected_and_small_keys(keypair: PaillierKeyPair) -> None:
    other = generate_keypair(2048).public_key
    payload = dumps(EncryptedVector.encrypt(other, [1.0]))
    with pytest.raises(SerdeError, match="not expected"):
        loads(payload, keyring=Keyring(allowed={keypair.public_key.fingerprint}))
    small = generate_keypair(1024, allow_insecure_test_key=True).public_key
    with pytest.raises(SerdeError, match="refused"):
        loads(dumps(small))
    assert loads(dumps(small), keyring=Keyring(allow_insecure_test_keys=True)) == small


def test_tampered_ciphertexts_are_rejected(keypair: PaillierKeyPair) -> None:
    payload = bytearray(dumps(EncryptedVector.encrypt(keypair.public_key, [5], FixedPoint(0))))
    payload[-512:] = b"\xff" * 512  # c ≥ n²
    with pytest.raises(SerdeError, match="ciphertext"):
        loads(bytes(payload))


class Opaque:
    pass


@pytest.mark.parametrize(
    "value",
    [Opaque(), {1, 2}, frozenset(), print, np.array([object()]), np.array(["a"]), 1j, Opaque],
)
def test_unregistered_types_cannot_be_sent(value: object) -> None:
    with pytest.raises(UnsupportedTypeError):
        dumps(value)


def test_unknown_tag_truncation_and_trailing_bytes_are_rejected() -> None:
    good = dumps([1, "two", b"three"])
    with pytest.raises(SerdeError, match="unknown type tag"):
        loads(MAGIC + b"\x7f")
    for cut in range(len(MAGIC), len(good)):
        with pytest.raises(SerdeError):
            loads(good[:cut])
    with pytest.raises(SerdeError, match="trailing"):
        loads(good + b"\x00")
    with pytest.raises(SerdeError, match="magic"):
        loads(b"CHS\x02" + good[4:])


def test_declared_sizes_are_checked_before_allocation() -> None:
    start = time.perf_counter()
    huge_list = MAGIC + b"\x07" + b"\xff\xff\xff\xff\x0f"
    with pytest.raises(SerdeError):
        loads(huge_list)
    huge_array = MAGIC + bytes([0x0A, 11, 2]) + b"\xff\xff\xff\x7f" * 2
    with pytest.raises(SerdeError):
        loads(huge_array)
    assert time.perf_counter() - start < 1.0


def test_limits_are_enforced() -> None:
    with pytest.raises(PayloadTooLargeError):
        loads(dumps(b"x" * 100), limits=SerdeLimits(max_bytes=50))
    deep: object = 0
    for _ in range(100):
        deep = [deep]
    with pytest.raises(SerdeError, match="deeper"):
        loads(dumps(deep))
    with pytest.raises(PayloadTooLargeError):
        loads(dumps(list(range(100))), limits=SerdeLimits(max_items=10))
    with pytest.raises(PayloadTooLargeError):
        loads(dumps(2**100_000), limits=SerdeLimits(max_int_bytes=1024))
    with pytest.raises(SerdeError, match="UTF-8"):
        loads(MAGIC + b"\x05\x02\xff\xfe")


class _MarkerPayload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (eval, ("__import__('pathlib').Path('/tmp/chaihuo-serde-rce').touch()",))


def test_r02_pickle_payload_is_rejected_and_never_executed(tmp_path: object) -> None:
    marker = "/tmp/chaihuo-serde-rce"
    payload = pickle.dumps(_MarkerPayload())
    with pytest.raises(SerdeError):
        loads(payload)
    with pytest.raises(SerdeError):
        loads(MAGIC + payload)
    # A pickle stream inside a bytes field stays inert bytes.
    assert loads(dumps({"blob": payload})) == {"blob": payload}
    assert not os.path.exists(marker)


@pytest.mark.parametrize(
    "path",
    ["os.system", "subprocess.Popen", "numpy.testing._private.utils.runstring", "builtins.eval"],
)
def test_r03_importable_paths_are_never_imported(path: str) -> None:
    before = set(sys.modules)
    assert loads(dumps({"__class__": path, "type": path, path: [path]})) == {
        "__class__": path,
        "type": path,
        path: [path],
    }
    for tag in range(0x0F, 0x100):
        with pytest.raises(SerdeError):
            loads(MAGIC + bytes([tag]) + path.encode())
    assert set(sys.modules) == before


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=256))
def test_fuzz_random_bytes_only_raise_serde_errors(data: bytes) -> None:
    with contextlib.suppress(SerdeError):
        loads(MAGIC + data, limits=SerdeLimits(max_items=100_000))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.data())
def test_fuzz_mutated_valid_payloads_only_raise_serde_errors(
    value: object, data: st.DataObject
) -> None:
    payload = bytearray(dumps(value))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(payload) - 1))
        payload[index] = data.draw(st.integers(0, 255))
    start = time.perf_counter()
    with contextlib.suppress(SerdeError):
        loads(bytes(payload), limits=SerdeLimits(max_items=100_000))
    assert time.perf_counter() - start < 1.0
