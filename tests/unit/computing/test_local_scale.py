"""The local backend at scale (slow tier): a million-row pipeline equals a dict reference."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaihuo.computing import LocalComputing

ROWS = 2_000_000
GROUPS = 997


def _by_group(pairs: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    return ((key % GROUPS, value) for key, value in pairs)


@pytest.mark.slow
def test_map_reduce_join_at_scale(tmp_path: Path) -> None:
    with LocalComputing(tmp_path) as session:
        source = session.parallelize(range(ROWS), partitions=8)
        mapped = source.map(lambda k, v: (ROWS - 1 - k, v * 2))
        groups = dict(mapped.mapReducePartitions(_by_group, operator.add).collect())
        joined = mapped.join(source, operator.sub)
        expected: dict[int, int] = {}
        for key in range(ROWS):
            expected[(ROWS - 1 - key) % GROUPS] = (
                expected.get((ROWS - 1 - key) % GROUPS, 0) + 2 * key
            )
        assert groups == expected
        assert joined.count() == ROWS
        assert joined.filter(lambda k, v: v != 2 * (ROWS - 1) - 3 * k).count() == 0
        assert source.sample(num=1000, seed=1).count() == 1000
