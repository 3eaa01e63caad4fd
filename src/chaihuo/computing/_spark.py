"""The Spark backend: the same tables as RDDs partitioned by the stable key hash."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pyspark import RDD, SparkConf, SparkContext, StorageLevel

from chaihuo.computing import _spark_ops as ops
from chaihuo.computing._errors import ComputingError, DataInvalidError, TableNotFoundError
from chaihuo.computing._keys import key_hash
from chaihuo.computing._session import ComputingSession, pairs_of
from chaihuo.computing._storage import check_name
from chaihuo.computing._table import Table, check_partitions

__all__ = ["SparkComputing", "SparkTable"]

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
W = TypeVar("W")
R = TypeVar("R")

# Every table's RDD is hash-partitioned by Partitioner(n, key_hash). PySpark compares
# partitioners by (n, function identity), so after a union of two such RDDs (which keeps the
# partitioner) partitionBy is a no-op: co-partitioned joins need no shuffle, as on the local
# backend. Each operator persists its RDD and counts it, which makes evaluation eager (errors
# surface in the operator that caused them) and stops iterative algorithms from recomputing
# the whole lineage every time a table is reused.

_LOCAL_DEFAULTS = {
    # The executors are this machine's processes: keep traffic on loopback and use Unix
    # sockets between the JVM and Python workers (markedly faster small tasks on Spark 4).
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.python.unix.domain.socket.enabled": "true",
}


def _config(master: str, app_name: str, partitions: int, conf: Mapping[str, str]) -> SparkConf:
    settings = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "WARN",
        "spark.default.parallelism": str(partitions),
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.python.worker.reuse": "true",
        "spark.python.daemon.module": "chaihuo.computing._spark_daemon",
    }
    if master.startswith("local"):
        settings.update(_LOCAL_DEFAULTS)
    settings.update(conf)
    spark_conf = SparkConf(loadDefaults=False)
    for key, value in settings.items():
        spark_conf.set(key, value)
    return spark_conf


def _configured_python(conf: Mapping[str, str] | None) -> str | None:
    """The interpreter named by ``spark.pyspark.python`` in ``conf``, if any."""
    return (conf or {}).get("spark.pyspark.python")


def _unpersist(rdd: RDD[Any]) -> None:
    with contextlib.suppress(Exception):  # the context may be stopped already
        rdd.unpersist(blocking=False)


class SparkComputing(ComputingSession):
    """A computing session on Spark: ``master`` is ``local[N]``, ``spark://host:port``,
    ``yarn`` or ``k8s://...``. Executors need chaihuo installed (same version).

    ``warehouse`` is the URI saved tables live under (default ``data_dir/spark-tables``;
    use ``hdfs://...`` on a cluster). An existing ``spark_context`` is used as is and not
    stopped by `stop`; otherwise one is created from ``conf`` over quiet defaults (UI off,
    log level WARN, small shuffles). CSV and Parquet files are read on the driver.
    """

    def __init__(
        self,
        master: str = "local[2]",
        *,
        data_dir: str | Path,
        warehouse: str | None = None,
        app_name: str = "chaihuo",
        conf: Mapping[str, str] | None = None,
        default_partitions: int | None = None,
        spark_context: SparkContext | None = None,
        session_id: str | None = None,
        storable: Iterable[object] = (),
    ) -> None:
        super().__init__(session_id, storable)
        self.data_dir = Path(data_dir)
        self.warehouse = warehouse or (self.data_dir / "spark-tables").resolve().as_uri()
        if spark_context is None:
            partitions = default_partitions or 2
            spark_conf = _config(master, app_name, partitions, conf or {})
            self._owns_context = SparkContext._active_spark_context is None
            spark_context = SparkContext.getOrCreate(spark_conf)
            spark_context.setLogLevel("WARN")
            if self._owns_context and master.startswith("local"):
                # PySpark starts workers with $PYSPARK_PYTHON or "python3" from PATH and
                # ignores spark.pyspark.python; local workers must run this interpreter to
                # see the same installed packages (chaihuo among them).
                spark_context.pythonExec = os.environ.get(
                    "PYSPARK_PYTHON", _configured_python(conf) or sys.executable
                )
        else:
            self._owns_context = False
        self.context = spark_context
        self._default_partitions = default_partitions or spark_context.defaultParallelism

    @property
    def default_partitions(self) -> int:
        return self._default_partitions

    def materialize(
        self, rdd: RDD[Any], partitions: int, count: int | None = None
    ) -> SparkTable[Any, Any]:
        """Persist ``rdd`` and compute it now; translate an executor failure."""
        rdd = rdd.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            # Counting on the JVM side computes and caches every partition in one Python
            # pass; rdd.count() would feed the cached data through a second Python worker.
            # (The JVM sees pickled batches, so its count is not the entry count.)
            rdd._jrdd.count()
        except Exception as exc:
            _unpersist(rdd)
            raise ops.translate(exc) from None
        return SparkTable(self, rdd, partitions, count)

    def partitioned(
        self, rdd: RDD[Any], partitions: int, unique: bool, count: int | None = None
    ) -> SparkTable[Any, Any]:
        """Place pairs by the stable partitioner (a no-op if already there) and store."""
        placed = rdd.partitionBy(partitions, key_hash)
        if unique:
            placed = placed.mapPartitions(ops.check_unique, preservesPartitioning=True)
        return self.materialize(placed, partitions, count)

    def parallelize(
        self, items: Iterable[Any], *, partitions: int | None = None, include_key: bool = False
    ) -> SparkTable[Any, Any]:
        count = check_partitions(partitions or self.default_partitions)
        if include_key:
            keys, values = pairs_of(items)
            pairs = list(zip(keys, values, strict=True))
        else:
            pairs = list(enumerate(items))
        rdd = self.context.parallelize(pairs, count)
        return self.partitioned(rdd, count, unique=include_key, count=len(pairs))

    def _path(self, namespace: str, name: str) -> str:
        return f"{self.warehouse}/{check_name('namespace', namespace)}/{check_name('name', name)}"

    def _filesystem(self, path: str) -> tuple[Any, Any]:
        """Hadoop FileSystem and Path objects for a warehouse URI (through the JVM)."""
        jvm: Any = self.context._jvm
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self.context._jsc.hadoopConfiguration()), hadoop_path

    def load(self, namespace: str, name: str) -> SparkTable[Any, Any]:
        path = self._path(namespace, name)
        fs, hadoop_path = self._filesystem(path + "/_SUCCESS")
        if not fs.exists(hadoop_path):
            raise TableNotFoundError("no such table", namespace=namespace, name=name)
        decode = ops.Decode(self.storable)
        records = self.context.textFile(path).map(decode)
        try:
            partitions = records.first()[0]
        except Exception as exc:
            raise ops.translate(exc) from None
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise DataInvalidError("malformed saved table", path=path)
        return self.partitioned(records.flatMap(ops.pairs_of), partitions, unique=True)

    def save(self, table: SparkTable[Any, Any], namespace: str, name: str) -> None:
        """Persist ``table`` (see `Table.save`): write beside the target, then swap it in."""
        target = self._path(namespace, name)
        staging = f"{target.rsplit('/', 1)[0]}/.{name}.{uuid.uuid4().hex}"
        lines = table.rdd.mapPartitionsWithIndex(ops.Encode(table.partitions, self.storable))
        try:
            lines.saveAsTextFile(staging)
        except Exception as exc:
            raise ops.translate(exc) from None
        fs, target_path = self._filesystem(target)
        _, staging_path = self._filesystem(staging)
        fs.delete(target_path, True)
        if not fs.rename(staging_path, target_path):
            raise ComputingError("could not move a saved table into place", path=target)

    def drop(self, namespace: str, name: str) -> bool:
        fs, path = self._filesystem(self._path(namespace, name))
        return bool(fs.delete(path, True))

    def stop(self) -> None:
        if self._owns_context:
            self._owns_context = False
            self.context.stop()


class SparkTable(Table[K, V]):
    """A table of the Spark backend: a persisted RDD of (key, value) pairs (see `Table`)."""

    def __init__(
        self,
        session: SparkComputing,
        rdd: RDD[tuple[K, V]],
        partitions: int,
        count: int | None,
    ) -> None:
        self._session = session
        self.rdd = rdd
        self._partitions = partitions
        self._count = count
        weakref.finalize(self, _unpersist, rdd)

    @property
    def partitions(self) -> int:
        return self._partitions

    def count(self) -> int:
        if self._count is None:
            try:
                self._count = self.rdd.count()
            except Exception as exc:
                raise ops.translate(exc) from None
        return self._count

    def _keyed(self, rdd: RDD[Any], unique: bool = True) -> SparkTable[Any, Any]:
        # Without the uniqueness check the output has one entry per source partition.
        count = None if unique else self._partitions
        return self._session.partitioned(rdd, self._partitions, unique, count)

    def _paired(
        self, op: str, other: Table[Any, Any], func: Callable[..., Any] | None, count: int
    ) -> SparkTable[Any, Any]:
        if not isinstance(other, SparkTable) or other._session.context is not self._session.context:
            raise DataInvalidError("both tables must belong to the same Spark session")
        tagged = self.rdd.mapValues(ops.Tag(0)).union(other.rdd.mapValues(ops.Tag(1)))
        merged = tagged.partitionBy(count, key_hash).mapPartitions(
            ops.PairOp(op, func), preservesPartitioning=True
        )
        return self._session.materialize(merged, count)

    def map(self, func: Callable[[K, V], tuple[K2, V2]]) -> Table[K2, V2]:
        return self._keyed(self.rdd.map(ops.Call(func)))

    def mapValues(self, func: Callable[[V], V2]) -> Table[K, V2]:  # noqa: N802
        return self._session.materialize(self.rdd.mapValues(func), self._partitions, self._count)

    def mapPartitions(  # noqa: N802
        self, func: Callable[[Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        return self._keyed(self.rdd.mapPartitions(ops.Drained(func, with_index=False)))

    def applyPartitions(  # noqa: N802
        self, func: Callable[[Iterator[tuple[K, V]]], R]
    ) -> Table[int, R]:
        return self._keyed(self.rdd.mapPartitionsWithIndex(ops.Apply(func)), unique=False)

    def mapPartitionsWithIndex(  # noqa: N802
        self, func: Callable[[int, Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        return self._keyed(self.rdd.mapPartitionsWithIndex(ops.Drained(func, with_index=True)))

    def mapReducePartitions(  # noqa: N802
        self,
        mapper: Callable[[Iterator[tuple[K, V]]], Iterable[tuple[K2, V2]]],
        reducer: Callable[[V2, V2], V2],
    ) -> Table[K2, V2]:
        reduced = self.rdd.mapPartitions(ops.Drained(mapper, with_index=False)).reduceByKey(
            reducer, self._partitions, partitionFunc=key_hash
        )
        return self._session.materialize(reduced, self._partitions)

    def flatMap(  # noqa: N802
        self, func: Callable[[K, V], Iterable[tuple[K2, V2]]]
    ) -> Table[K2, V2]:
        return self._keyed(self.rdd.flatMap(ops.Call(func)))

    def _reduce_partitions(self, func: Callable[[V, V], V]) -> list[tuple[bool, Any]]:
        try:
            return self.rdd.mapPartitions(ops.Fold(func)).collect()
        except Exception as exc:
            raise ops.translate(exc) from None

    def glom(self) -> Table[int, list[tuple[K, V]]]:
        return self._keyed(self.rdd.mapPartitionsWithIndex(ops.Glom), unique=False)

    def filter(self, func: Callable[[K, V], bool]) -> Table[K, V]:
        return self._session.materialize(self.rdd.filter(ops.Call(func)), self._partitions)

    def join(self, other: Table[K, W], func: Callable[[V, W], R]) -> Table[K, R]:
        return self._paired("join", other, func, max(self.partitions, other.partitions))

    def union(self, other: Table[K, V], func: Callable[[V, V], V] | None = None) -> Table[K, V]:
        return self._paired("union", other, func, max(self.partitions, other.partitions))

    def subtractByKey(self, other: Table[K, Any]) -> Table[K, V]:  # noqa: N802
        return self._paired("subtractByKey", other, None, self.partitions)

    def collect(self) -> Iterator[tuple[K, V]]:
        try:
            return iter(self.rdd.collect())
        except Exception as exc:
            raise ops.translate(exc) from None

    def take(self, n: int = 1) -> list[tuple[K, V]]:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            return super().take(n)
        if n == 0:
            return []
        try:
            heads = self.rdd.mapPartitions(ops.Head(n)).collect()
        except Exception as exc:
            raise ops.translate(exc) from None
        return heads[:n]

    def repartition(self, partitions: int) -> Table[K, V]:
        count = check_partitions(partitions)
        if count == self._partitions:
            return self  # tables are immutable, and the placement would not change
        moved = self.rdd.partitionBy(count, key_hash)
        return self._session.materialize(moved, count, self._count)

    def save(self, namespace: str, name: str) -> None:
        self._session.save(self, namespace, name)
