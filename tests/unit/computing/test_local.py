"""Local backend specifics: pool == sequential, files under data_dir, failures, cleanup."""

from __future__ import annotations

import gc
import json
import operator
import os
import pickle
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from chaihuo.computing import (
    ComputingError,
    DataInvalidError,
    LocalComputing,
    LocalTable,
    Table,
    UnstorableValueError,
)

cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalComputing]:
    with LocalComputing(tmp_path_factory.mktemp("pooled"), workers=2, inline_below=0) as s:
        yield s


@pytest.fixture
def sequential(tmp_path: Path) -> Iterator[LocalComputing]:
    with LocalComputing(tmp_path, workers=1) as session:
        yield session


def _pipeline(session: LocalComputing) -> list[Any]:
    """Every operator once, keeping the backend's own order (no sorting)."""
    source = session.parallelize(
        [(f"k{i}", i) for i in range(3000)], partitions=5, include_key=True
    )
    mapped = source.map(lambda k, v: (v * 7 % 3001, (k, v))).mapValues(lambda kv: kv[1])
    grouped = source.mapReducePartitions(
        lambda pairs: ((v % 37, v) for _, v in pairs), operator.add
    )
    joined = mapped.join(grouped, operator.sub).union(grouped, operator.mul)
    parts = source.mapPartitionsWithIndex(lambda i, it: [(i, sum(v for _, v in it))])
    rest = mapped.subtractByKey(grouped).filter(lambda k, v: k % 2 == 0).repartition(3)
    return [
        list(joined.collect()),
        list(parts.collect()),
        list(rest.collect()),
        list(source.flatMap(lambda k, v: [(k, v), (v, k)]).glom().collect()),
        list(source.sample(num=50, seed=3).collect()),
        source.reduce(operator.add),
        list(source.applyPartitions(lambda it: [k for k, _ in it]).collect()),
    ]


def test_pool_gives_exactly_the_sequential_result(
    pooled: LocalComputing, sequential: LocalComputing
) -> None:
    assert _pipeline(pooled) == _pipeline(sequential)


def test_large_stages_use_the_pool(tmp_path: Path) -> None:
    with LocalComputing(tmp_path, workers=2, inline_below=100) as session:
        table = session.parallelize(range(1000), partitions=4)
        pids = table.applyPartitions(lambda it: os.getpid()).collect()
        assert os.getpid() not in {pid for _, pid in pids}
        small = session.parallelize(range(10), partitions=4)
        assert {pid for _, pid in small.applyPartitions(lambda it: os.getpid()).collect()} == {
            os.getpid()
        }


def test_files_live_under_data_dir_and_are_removed(tmp_path: Path) -> None:
    session = LocalComputing(tmp_path, workers=1, session_id="s1")
    table = session.parallelize(range(100), partitions=3)
    assert isinstance(table, LocalTable)
    directory = Path(table.segments[0].path).parent
    assert directory.parent == tmp_path / "tmp" / "s1"
    assert len(list(directory.glob("p-*.cht"))) == 3
    table.save("ns", "t")
    saved = tmp_path / "tables" / "ns" / "t"
    assert json.loads((saved / "table.json").read_text())["partitions"] == 3
    del table
    gc.collect()
    assert not directory.exists()
    session.stop()
    assert not (tmp_path / "tmp" / "s1").exists()
    assert saved.is_dir()
    with pytest.raises(ComputingError, match="stopped"):
        session.parallelize([1])
    session.stop()  # idempotent


def test_unpicklable_function_is_a_computing_error(sequential: LocalComputing) -> None:
    lock = threading.Lock()
    with pytest.raises(ComputingError, match="cannot ship"):
        sequential.parallelize([1]).mapValues(lambda v: (lock, v))


def test_a_dying_worker_is_reported_and_the_pool_recovers(tmp_path: Path) -> None:
    with LocalComputing(tmp_path, workers=2, inline_below=0) as session:
        table = session.parallelize(range(10), partitions=2)
        with pytest.raises(ComputingError, match="worker process died"):
            table.mapValues(lambda v: os._exit(3))
        assert sorted(table.mapValues(lambda v: v + 1).collect())[0] == (0, 1)


def test_tampered_partition_files_are_refused(tmp_path: Path) -> None:
    with LocalComputing(tmp_path, workers=1) as session:
        session.parallelize(range(3), partitions=1).save("ns", "victim")
        part = tmp_path / "tables" / "ns" / "victim" / "p-00000.cht"
        payload = pickle.dumps(([0], [_Exploit()]), protocol=5)
        part.write_bytes(payload)
        meta = tmp_path / "tables" / "ns" / "victim" / "table.json"
        meta.write_text(
            json.dumps({**json.loads(meta.read_text()), "segments": [[len(payload), 1]]})
        )
        with pytest.raises(UnstorableValueError):
            list(session.load("ns", "victim").collect())
        meta.write_text('{"format": "chaihuo-table/1", "partitions": 2, "segments": [null]}')
        with pytest.raises(DataInvalidError, match="malformed"):
            session.load("ns", "victim")


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > /dev/null",))


def test_tables_of_two_sessions_do_not_mix(tmp_path: Path) -> None:
    with (
        LocalComputing(tmp_path / "a", workers=1) as first,
        LocalComputing(tmp_path / "b", workers=1) as second,
    ):
        left: Table[int, int] = first.parallelize([1])
        with pytest.raises(ValueError, match="same local session"):
            left.join(second.parallelize([1]), operator.add)
