"""The stable key hash and canonical encoding: fixed values, batch == scalar, equal keys agree."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaihuo.computing import InvalidKeyError, canonical_key, key_hash, partition_of
from chaihuo.computing._keys import key_hashes, partitions_of, sample_priorities, sample_priority

# Parties and backends place keys by these values: changing the hash breaks co-partitioning
# between a new and an old installation, so they are pinned.
GOLDEN = {
    0: 0,
    1: 6238072747940578789,
    -1: 13029008266876403067,
    2**63 - 1: 6514504133438201533,
    "id133": 10184784870549516427,
    "": 15573649723082471743,
    b"\x00": 16251163094696862762,
    (1, "a"): 9800474127440956773,
    None: 16938330391483325906,
    2.5: 12161342413310896973,
    2**64: 14710231371921471654,
}

scalars = st.one_of(
    st.integers(),
    st.text(max_size=12),
    st.binary(max_size=12),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)
keys = st.recursive(scalars, lambda inner: st.tuples(inner, inner), max_leaves=4)


@pytest.mark.parametrize(("key", "expected"), GOLDEN.items(), ids=repr)
def test_hash_values_are_pinned(key: Any, expected: int) -> None:
    assert key_hash(key) == expected


@given(st.lists(keys, max_size=30))
def test_batch_hash_equals_scalar_hash(batch: list[Any]) -> None:
    assert key_hashes(batch).tolist() == [key_hash(key) for key in batch]
    assert partitions_of(batch, 7).tolist() == [partition_of(key, 7) for key in batch]


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50))
def test_int_fast_path(batch: list[int]) -> None:
    assert key_hashes(batch).tolist() == [key_hash(key) for key in batch]


@given(st.lists(st.text(), max_size=50))
def test_str_fast_path(batch: list[str]) -> None:
    assert key_hashes(batch).tolist() == [key_hash(key) for key in batch]


@given(st.integers(-(2**80), 2**80))
def test_keys_equal_under_eq_hash_and_encode_equally(value: int) -> None:
    twins: list[Any] = [value, np.int64(value)] if -(2**63) <= value < 2**63 else [value]
    if abs(value) < 2**53:
        twins.append(float(value))
    if value in (0, 1):
        twins += [bool(value), np.bool_(value)]
    assert len({key_hash(twin) for twin in twins}) == 1
    assert len({canonical_key(twin) for twin in twins}) == 1
    assert key_hash((value, "x")) == key_hash((twins[-1], np.str_("x")))


@given(keys, keys)
def test_canonical_encoding_is_injective(a: Any, b: Any) -> None:
    assert (canonical_key(a) == canonical_key(b)) == (a == b)


def test_str_keys_sort_like_python_strings() -> None:
    words = ["b", "a", "ab", "é", "Z", "aa"]
    assert sorted(words, key=canonical_key) == sorted(words)


@pytest.mark.parametrize("bad", [["list"], {"a": 1}, frozenset({1}), 1j, object()])
def test_unsupported_keys_are_refused(bad: object) -> None:
    with pytest.raises(InvalidKeyError):
        key_hash(bad)
    with pytest.raises(InvalidKeyError):
        key_hashes(["fine", bad])


def test_partitions_are_roughly_uniform() -> None:
    owners = partitions_of([f"id{i}" for i in range(16_000)], 16)
    counts = np.bincount(owners, minlength=16)
    assert counts.min() > 850 and counts.max() < 1150
    owners = partitions_of(list(range(16_000)), 16)
    assert np.bincount(owners, minlength=16).min() > 850


def test_sample_priorities_depend_on_seed_and_key_only() -> None:
    batch = ["a", 1, (2, "b")]
    assert sample_priorities(batch, 9).tolist() == [sample_priority(key, 9) for key in batch]
    assert sample_priority("a", 9) != sample_priority("a", 10)
    assert sample_priority(1, 9) == sample_priority(1.0, 9)
