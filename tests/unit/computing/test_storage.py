"""Partition files: the allow-list codec never calls what it was not told to, names are safe."""

from __future__ import annotations

import datetime
import ipaddress
import os
import pickle
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from chaihuo.computing import Block, UnstorableValueError
from chaihuo.computing._storage import (
    DEFAULT_STORABLE,
    EMPTY,
    check_name,
    decode,
    encode,
    read_segment,
    read_segments,
    write_sections,
)
from chaihuo.core import InvalidInputError


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > /dev/null",))


def test_default_values_round_trip() -> None:
    values = [
        1,
        -(2**200),
        1.5,
        "s",
        b"b",
        None,
        True,
        (1, (2, "x")),
        [1, 2],
        {"a": {1, 2}},
        frozenset({3}),
        complex(1, 2),
        bytearray(b"ba"),
        np.arange(6.0).reshape(2, 3),
        np.array(["a", "bc"]),
        np.array([1, "x", None], dtype=object),
        np.float64(2.5),
        np.int32(7),
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        Decimal("1.25"),
        Block(np.array(["a"], dtype=object), np.zeros((1, 2)), np.array([1])),
    ]
    decoded = decode(encode(values, DEFAULT_STORABLE), DEFAULT_STORABLE)
    for before, after in zip(values, decoded, strict=True):
        if isinstance(before, np.ndarray):
            assert before.dtype == after.dtype and before.tolist() == after.tolist()
        elif isinstance(before, Block):
            assert after.ids.tolist() == ["a"] and after.features.shape == (1, 2)
        else:
            assert before == after and type(before) is type(after)


def test_loading_a_code_executing_pickle_is_refused() -> None:
    payload = pickle.dumps(([1], [_Exploit()]))
    with pytest.raises(UnstorableValueError, match=r"(posix|os):system"):
        decode(payload, DEFAULT_STORABLE)


def test_writing_an_unregistered_type_is_refused_early() -> None:
    with pytest.raises(UnstorableValueError, match=r"(posix|os):system"):
        encode(([1], [_Exploit()]), DEFAULT_STORABLE)
    with pytest.raises(UnstorableValueError, match="IPv4Address"):
        encode(ipaddress.IPv4Address("10.0.0.1"), DEFAULT_STORABLE)
    allowed = DEFAULT_STORABLE | {"ipaddress:IPv4Address"}
    address = ipaddress.IPv4Address("10.0.0.1")
    assert decode(encode(address, allowed), allowed) == address
    with pytest.raises(UnstorableValueError):
        decode(encode(address, allowed), DEFAULT_STORABLE)


def test_corrupt_bytes_are_a_typed_error() -> None:
    with pytest.raises(UnstorableValueError, match="corrupt"):
        decode(b"\x80\x05garbage", DEFAULT_STORABLE)


def test_sections_and_segments(tmp_path: Path) -> None:
    path = tmp_path / "f.cht"
    segments = write_sections(
        path, [(["a"], [1]), ([], []), (["b", "c"], [2, 3])], DEFAULT_STORABLE
    )
    assert segments[1] == EMPTY
    assert read_segment(segments[2], DEFAULT_STORABLE) == (["b", "c"], [2, 3])
    assert read_segments(segments, DEFAULT_STORABLE) == (["a", "b", "c"], [1, 2, 3])
    empty = tmp_path / "e.cht"
    assert write_sections(empty, [([], [])], DEFAULT_STORABLE) == [EMPTY]
    assert not empty.exists()


@pytest.mark.parametrize("name", ["a", "job-1_x.v2", "A" * 128])
def test_safe_names(name: str) -> None:
    assert check_name("name", name) == name


@pytest.mark.parametrize("name", ["", "..", "a/b", "a\\b", ".x", "-x", "a..b", "A" * 129, "é"])
def test_unsafe_names(name: str) -> None:
    with pytest.raises(InvalidInputError):
        check_name("name", name)
