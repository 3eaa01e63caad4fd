"""Table conformance: every operator behaves the same on the local and the Spark backend."""

from __future__ import annotations

import ipaddress
import itertools
import operator
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pyspark.cloudpickle
import pytest

from chaihuo.computing import (
    ComputingError,
    ComputingSession,
    Dataset,
    DuplicateKeyError,
    EmptyTableError,
    InvalidKeyError,
    LocalComputing,
    LocalTable,
    Table,
    TableNotFoundError,
    UnstorableValueError,
    partition_of,
)
from chaihuo.computing._keys import sample_priority
from chaihuo.computing._spark import SparkComputing, SparkTable
from chaihuo.computing._storage import DEFAULT_STORABLE, read_segment
from chaihuo.core import InvalidInputError

# Spark executors cannot import this test module: ship its functions by value.
for _pickler in (cloudpickle, pyspark.cloudpickle):
    _pickler.register_pickle_by_value(sys.modules[__name__])

# In-process Spark: `make test` runs these in a pytest process of their own (marker spark_jvm).
# In a shared xdist worker, after the other conformance suites, the JVM gateway once exited
# before sending its port (gRPC had logged "skipping fork() handlers" and an epoll_wait EBADF);
# a chaihuo party opens Spark before gRPC starts its threads for the same reason.
SPARK = pytest.mark.spark_jvm
STORABLE = DEFAULT_STORABLE | {"ipaddress:IPv4Address"}


@pytest.fixture(scope="session")
def spark_computing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkComputing]:
    session = SparkComputing(
        "local[2]",
        data_dir=tmp_path_factory.mktemp("spark-computing"),
        default_partitions=3,
        conf={"spark.sql.shuffle.partitions": "2"},
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def local_computing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalComputing]:
    # inline_below=0: even tiny stages go through the worker pool, as large ones do.
    with LocalComputing(
        tmp_path_factory.mktemp("local-computing"), workers=2, inline_below=0
    ) as session:
        yield session


@pytest.fixture
def computing(request: pytest.FixtureRequest) -> ComputingSession:
    session: ComputingSession = request.getfixturevalue(f"{request.param}_computing")
    return session


# Parametrised per test rather than by fixture params: pytest-xdist groups tests by the marks
# of their parameters, and only this way do all Spark tests share one worker and one JVM.
BACKENDS = pytest.mark.parametrize(
    "computing", ["local", pytest.param("spark", marks=SPARK)], indirect=True
)


def table(computing: ComputingSession, pairs: list[tuple[Any, Any]], p: int) -> Table[Any, Any]:
    return computing.parallelize(pairs, partitions=p, include_key=True)


def placement(t: Table[Any, Any]) -> list[list[tuple[Any, Any]]]:
    """Each partition's pairs as the backend stores them (white-box: one cheap job)."""
    if isinstance(t, SparkTable):
        return t.rdd.glom().collect()
    assert isinstance(t, LocalTable)
    return [list(zip(*read_segment(segment, STORABLE), strict=True)) for segment in t.segments]


def as_dict(t: Table[Any, Any]) -> dict[Any, Any]:
    """The table's contents, after checking count, key uniqueness and the partitioner: every
    key sits in partition key_hash(key) % partitions, on every backend."""
    parts = placement(t)
    assert len(parts) == t.partitions
    for index, pairs in enumerate(parts):
        assert all(partition_of(key, t.partitions) == index for key, _ in pairs)
    collected = [pair for pairs in parts for pair in pairs]
    assert len(collected) == len({key for key, _ in collected}), "keys must be unique"
    assert t.count() == len(collected)
    return dict(collected)


PAIRS = [(f"id{i}", i) for i in range(40)]


# --- parallelize, collect, count, partitioner ------------------------------------------------


@BACKENDS
@pytest.mark.parametrize("p", [1, 4])
def test_parallelize_keys_values_and_partitioner(computing: ComputingSession, p: int) -> None:
    auto = computing.parallelize(["a", "b", "c"], partitions=p)
    assert auto.partitions == p
    assert as_dict(auto) == {0: "a", 1: "b", 2: "c"}
    keyed = table(computing, PAIRS, p)
    assert as_dict(keyed) == dict(PAIRS)
    glom = dict(keyed.glom().collect())
    assert sorted(glom) == list(range(p))
    assert sorted(pair for pairs in glom.values() for pair in pairs) == sorted(PAIRS)


@BACKENDS
def test_collect_is_in_partition_order(computing: ComputingSession) -> None:
    t = table(computing, PAIRS, 5)
    owners = [partition_of(key, 5) for key, _ in t.collect()]
    assert owners == sorted(owners)
    assert t.take(7) == list(t.collect())[:7]
    assert t.first() == next(t.collect())
    assert t.take(0) == []
    assert len(t.take(100)) == 40


@BACKENDS
def test_mixed_key_types_share_one_partitioner(computing: ComputingSession) -> None:
    pairs = [(1, "int"), ("1", "str"), (b"1", "bytes"), ((1, "a"), "tuple"), (None, "none")]
    pairs += [(2.5, "float"), (-(2**70), "big int")]
    t = table(computing, pairs, 4)
    assert as_dict(t) == dict(pairs)
    # 1, 1.0 and True are one key, as in a dict; they must land in one partition.
    assert partition_of(1, 7) == partition_of(1.0, 7) == partition_of(True, 7)


@BACKENDS
def test_duplicate_and_invalid_keys_are_refused(computing: ComputingSession) -> None:
    with pytest.raises(DuplicateKeyError):
        computing.parallelize([("a", 1), ("a", 2)], include_key=True)
    with pytest.raises(DuplicateKeyError):
        computing.parallelize([(1, 1), (1.0, 2)], include_key=True)
    with pytest.raises(InvalidKeyError):
        computing.parallelize([(["list"], 1)], include_key=True)


# --- element-wise operators ---------------------------------------------------------------------


@BACKENDS
def test_map_mapvalues_flatmap_filter(computing: ComputingSession) -> None:
    t = table(computing, PAIRS, 3)
    mapped = t.map(lambda k, v: (v, k))
    assert as_dict(mapped) == {v: k for k, v in PAIRS}
    assert as_dict(t.mapValues(lambda v: v * 10)) == {k: v * 10 for k, v in PAIRS}
    flat = t.flatMap(lambda k, v: [(k, v), ((k, "twice"), 2 * v)])
    assert as_dict(flat) == {**dict(PAIRS), **{(k, "twice"): 2 * v for k, v in PAIRS}}
    odd = t.filter(lambda k, v: v % 2 == 1)
    assert as_dict(odd) == {k: v for k, v in PAIRS if v % 2 == 1}
    assert odd.partitions == 3


@BACKENDS
def test_functions_that_produce_a_key_twice_raise(computing: ComputingSession) -> None:
    t = table(computing, PAIRS, 4)
    with pytest.raises(DuplicateKeyError):
        t.map(lambda k, v: (v % 3, v))
    with pytest.raises(DuplicateKeyError):
        t.flatMap(lambda k, v: [(k, 1), (k, 2)])
    with pytest.raises(DuplicateKeyError):  # one key from two partitions
        t.mapPartitions(lambda pairs: [("same", sum(v for _, v in pairs))])


@BACKENDS
def test_user_errors_surface_as_computing_error(computing: ComputingSession) -> None:
    t = table(computing, PAIRS, 2)
    with pytest.raises(ComputingError) as raised:
        t.mapValues(lambda v: 1 // (v - v))
    assert raised.value.details["error_type"] == "ZeroDivisionError"
    with pytest.raises(ComputingError):
        t.map(lambda k, v: (k, v, "three"))


# --- partition-wise operators -------------------------------------------------------------------


def sums(pairs: Iterator[tuple[Any, int]]) -> int:
    return sum(value for _, value in pairs)


@BACKENDS
def test_map_partitions_and_with_index(computing: ComputingSession) -> None:
    t = table(computing, PAIRS, 4)
    glom = dict(t.glom().collect())
    per_partition = t.mapPartitions(lambda pairs: [(f"sum-{min(k for k, _ in pairs)}", 0)])
    assert per_partition.count() == sum(1 for pairs in glom.values() if pairs)
    indexed = t.mapPartitionsWithIndex(lambda i, pairs: [(k, (i, v)) for k, v in pairs])
    assert as_dict(indexed) == {k: (i, v) for i, pairs in glom.items() for k, v in pairs}


@BACKENDS
@pytest.mark.parametrize("p", [1, 5])
def test_apply_partitions_and_glom(computing: ComputingSession, p: int) -> None:
    t = table(computing, PAIRS[:3], p)  # with p=5 some partitions are empty
    glom = dict(t.glom().collect())
    applied = t.applyPartitions(sums)
    assert applied.partitions == p
    assert as_dict(applied) == {i: sum(v for _, v in pairs) for i, pairs in glom.items()}


@BACKENDS
def test_map_reduce_partitions_with_skewed_keys(computing: ComputingSession) -> None:
    t = table(computing, [(i, i) for i in range(200)], 4)

    def mapper(pairs: Iterator[tuple[int, int]]) -> Iterator[tuple[str, int]]:
        for key, value in pairs:
            yield ("hot" if key % 10 else f"cold{key % 7}"), value

    reduced = t.mapReducePartitions(mapper, operator.add)
    expected: dict[str, int] = {}
    for key, value in mapper(iter((i, i) for i in range(200))):
        expected[key] = expected.get(key, 0) + value
    assert as_dict(reduced) == expected
    assert reduced.partitions == 4


@BACKENDS
def test_reduce(computing: ComputingSession) -> None:
    assert table(computing, PAIRS, 3).reduce(operator.add) == sum(range(40))
    assert table(computing, [("x", 7)], 4).reduce(operator.add) == 7
    strings = table(computing, [(i, str(i)) for i in range(30)], 3)
    assert sorted(strings.reduce(operator.add)) == sorted("".join(map(str, range(30))))


# --- binary operators ---------------------------------------------------------------------------


@BACKENDS
@pytest.mark.parametrize(("left_p", "right_p"), [(3, 3), (2, 5)])
def test_join(computing: ComputingSession, left_p: int, right_p: int) -> None:
    left = table(computing, [(i, f"l{i}") for i in range(30)], left_p)
    right = table(computing, [(i, f"r{i}") for i in range(20, 50)], right_p)
    joined = left.join(right, lambda a, b: a + b)
    assert as_dict(joined) == {i: f"l{i}r{i}" for i in range(20, 30)}
    assert joined.partitions == max(left_p, right_p)


@BACKENDS
@pytest.mark.parametrize(("left_p", "right_p"), [(4, 4), (6, 1)])
def test_union_and_subtract(computing: ComputingSession, left_p: int, right_p: int) -> None:
    left = table(computing, [(i, 1) for i in range(10)], left_p)
    right = table(computing, [(i, 100) for i in range(5, 15)], right_p)
    assert as_dict(left.union(right)) == {i: 1 if i < 10 else 100 for i in range(15)}
    merged = left.union(right, operator.add)
    assert as_dict(merged) == {i: 1 if i < 5 else 101 if i < 10 else 100 for i in range(15)}
    assert merged.partitions == max(left_p, right_p)
    rest = left.subtractByKey(right)
    assert as_dict(rest) == dict.fromkeys(range(5), 1)
    assert rest.partitions == left_p


@BACKENDS
def test_operators_on_empty_tables(computing: ComputingSession) -> None:
    empty = computing.parallelize([], partitions=3)
    full = table(computing, PAIRS[:5], 2)
    assert empty.count() == 0
    assert list(empty.collect()) == []
    assert empty.take(3) == []
    for derived in (
        empty.map(lambda k, v: (k, v)),
        empty.mapValues(str),
        empty.flatMap(lambda k, v: [(k, v)]),
        empty.filter(lambda k, v: True),
        empty.mapPartitions(list),
        empty.mapReducePartitions(list, operator.add),
        empty.join(full, operator.add),
        full.join(empty, operator.add),
        empty.subtractByKey(full),
        empty.repartition(5),
        empty.sample(num=0, seed=1),
    ):
        assert derived.count() == 0
    assert as_dict(empty.union(full)) == dict(PAIRS[:5])
    assert as_dict(full.subtractByKey(empty)) == dict(PAIRS[:5])
    assert as_dict(empty.glom()) == {0: [], 1: [], 2: []}
    assert as_dict(empty.applyPartitions(lambda pairs: len(list(pairs)))) == {0: 0, 1: 0, 2: 0}
    with pytest.raises(EmptyTableError):
        empty.reduce(operator.add)
    with pytest.raises(EmptyTableError):
        empty.first()


# --- repartition, sample ------------------------------------------------------------------------


@BACKENDS
def test_every_partition_count_from_1_to_16(computing: ComputingSession) -> None:
    pairs = [(f"k{i}", i) for i in range(60)]
    counts = range(1, 17) if isinstance(computing, LocalComputing) else (1, 2, 7, 16)
    t = table(computing, pairs, 4)
    for p in counts:
        moved = t.repartition(p)
        assert moved.partitions == p
        assert as_dict(moved.mapValues(lambda v: v + 1)) == {k: v + 1 for k, v in pairs}


@BACKENDS
def test_sample_is_seeded_and_backend_independent(computing: ComputingSession) -> None:
    t = table(computing, [(i, i) for i in range(300)], 4)
    by_priority = sorted(range(300), key=lambda key: sample_priority(key, 42))
    exact = t.sample(num=25, seed=42)
    assert set(as_dict(exact)) == set(by_priority[:25])
    assert exact.partitions == 4
    assert as_dict(t.repartition(7).sample(num=25, seed=42)) == as_dict(exact)
    fraction = t.sample(fraction=0.2, seed=42)
    expected = {key for key in range(300) if sample_priority(key, 42) < int(0.2 * 2.0**64)}
    assert set(as_dict(fraction)) == expected
    assert 30 <= len(expected) <= 90
    assert t.sample(num=300, seed=1).count() == 300
    assert t.sample(fraction=0.0, seed=1).count() == 0
    assert as_dict(t.sample(num=10, seed=7)) == as_dict(t.sample(num=10, seed=7))


@BACKENDS
def test_sample_refuses_bad_arguments(computing: ComputingSession) -> None:
    t = table(computing, PAIRS[:5], 2)
    for kwargs in ({}, {"fraction": 0.5, "num": 1}, {"fraction": 1.5}, {"num": 6}, {"num": -1}):
        with pytest.raises(InvalidInputError):
            t.sample(seed=1, **kwargs)
    with pytest.raises(InvalidInputError):
        t.sample(num=1, seed=-1)


# --- save and load ------------------------------------------------------------------------------


@BACKENDS
def test_save_load_overwrite_drop(computing: ComputingSession) -> None:
    t = table(computing, PAIRS, 3)
    t.save("conformance", "pairs")
    loaded = computing.load("conformance", "pairs")
    assert loaded.partitions == 3
    assert as_dict(loaded) == dict(PAIRS)
    computing.parallelize([], partitions=2).save("conformance", "pairs")
    replaced = computing.load("conformance", "pairs")
    assert (replaced.partitions, replaced.count()) == (2, 0)
    assert computing.drop("conformance", "pairs")
    assert not computing.drop("conformance", "pairs")
    with pytest.raises(TableNotFoundError):
        computing.load("conformance", "pairs")
    for bad in ("..", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(InvalidInputError):
            t.save("conformance", bad)


@BACKENDS
def test_only_storable_values_are_saved(computing: ComputingSession) -> None:
    t = table(computing, [(1, 1)], 1)
    with pytest.raises(UnstorableValueError):  # local: at mapValues; Spark: at save
        t.mapValues(lambda v: ipaddress.IPv4Address("10.0.0.1")).save("conformance", "ip")
    computing.register_storable(ipaddress.IPv4Address)
    t.mapValues(lambda v: ipaddress.IPv4Address("10.0.0.1")).save("conformance", "ip")
    assert as_dict(computing.load("conformance", "ip")) == {1: ipaddress.IPv4Address("10.0.0.1")}


# --- the two backends agree ---------------------------------------------------------------------


@SPARK
def test_backends_agree_partition_by_partition(
    local_computing: LocalComputing, spark_computing: SparkComputing
) -> None:
    pairs = [(i if i % 3 else f"s{i}", float(i)) for i in range(100)]
    results = []
    for session in (local_computing, spark_computing):
        t = table(session, pairs, 6)
        pipeline = t.mapReducePartitions(
            lambda it: ((k if isinstance(k, int) else k[:2], v) for k, v in it), operator.add
        ).join(t, lambda a, b: (a, b))
        glom = {i: sorted(p, key=repr) for i, p in pipeline.glom().collect()}
        results.append((glom, sorted(t.sample(num=13, seed=5).collect(), key=repr)))
    assert results[0] == results[1]


@BACKENDS
def test_take_matches_itertools(computing: ComputingSession) -> None:
    t = table(computing, PAIRS, 4)
    assert t.take(5) == list(itertools.islice(t.collect(), 5))


def test_tables_live_under_the_data_directory(local_computing: LocalComputing) -> None:
    t = table(local_computing, PAIRS, 2)
    t.save("conformance", "where")
    assert (Path(local_computing.data_dir) / "tables" / "conformance" / "where").is_dir()


# --- datasets -----------------------------------------------------------------------------------

CSV = "id,y,a,b\n" + "".join(
    f"u{i},{i % 2},{i * 0.5},{'' if i % 7 == 0 else -i}\n" for i in range(50)
)


@BACKENDS
def test_dataset_blocks_rows_and_back(computing: ComputingSession, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    dataset = computing.read_csv(path, label="y", partitions=3)
    assert dataset.count() == 50
    blocks = dataset.collect_blocks()
    for index, block in enumerate(blocks):
        ids = block.ids.tolist()
        assert ids == sorted(ids) and all(partition_of(key, 3) == index for key in ids)
    rows = dataset.rows()
    features, label = as_dict(rows)["u14"]
    assert features.tolist()[0] == 7.0 and np.isnan(features[1]) and label == 0
    again = Dataset.from_rows(dataset.schema, rows).collect_blocks()
    for before, after in zip(blocks, again, strict=True):
        assert before.ids.tolist() == after.ids.tolist()
        assert np.array_equal(before.features, after.features, equal_nan=True)


@SPARK
def test_backends_read_identical_blocks(
    local_computing: LocalComputing, spark_computing: SparkComputing, tmp_path: Path
) -> None:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    local, spark = (
        s.read_csv(path, label="y", partitions=4) for s in (local_computing, spark_computing)
    )
    assert local.schema == spark.schema
    for mine, theirs in zip(local.collect_blocks(), spark.collect_blocks(), strict=True):
        assert mine.ids.tolist() == theirs.ids.tolist()
        assert np.array_equal(mine.features, theirs.features, equal_nan=True)
        assert mine.labels is not None and theirs.labels is not None
        assert mine.labels.tolist() == theirs.labels.tolist()
