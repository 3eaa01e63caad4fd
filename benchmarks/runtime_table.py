"""Table benchmark: a map / reduceByKey / join pipeline, local backend beside the Spark backend."""

from __future__ import annotations

import argparse
import operator
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyspark.cloudpickle

from _harness import Report, rate
from chaihuo.computing import ComputingSession, LocalComputing, SparkComputing, Table

GROUPS = 1024


def _shift(key: int, value: int) -> tuple[int, int]:
    return key, value + 1


def _by_group(pairs: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    return ((key % GROUPS, value) for key, value in pairs)


def _difference(left: int, right: int) -> int:
    return left - right


def pipeline(source: Table[int, int]) -> int:
    """map every row, reduce by key into 1024 groups, join the mapped rows back to the source.

    Returns the rows processed (each of the three stages touches every row once).
    """
    mapped = source.map(_shift)
    groups = mapped.mapReducePartitions(_by_group, operator.add)
    joined = mapped.join(source, _difference)
    assert groups.count() == min(GROUPS, source.count())
    assert joined.count() == source.count()
    return source.count()


def _rows_per_second(session: ComputingSession, rows: int, partitions: int) -> float:
    """One timed pipeline run over a table built beforehand (building it is not timed)."""
    source = session.parallelize(range(rows), partitions=partitions)
    pipeline(session.parallelize(range(1000), partitions=partitions))  # warm workers up
    return rate(lambda: pipeline(source), min_seconds=0.0)


def table_section(report: Report, quick: bool) -> None:
    """``table_pipeline_rows``: rows/s of the pipeline, local backend vs Spark local[2]."""
    rows = 10**6 if quick else 10**7
    if __name__ != "__main__":  # imported by another script: Spark workers cannot import us
        pyspark.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with tempfile.TemporaryDirectory(prefix="chaihuo-bench-") as scratch:
        with LocalComputing(Path(scratch) / "local") as local:
            partitions = max(2 * local.workers, 4)
            ours = _rows_per_second(local, rows, partitions)
        spark = SparkComputing(
            "local[2]", data_dir=Path(scratch) / "spark", default_partitions=partitions
        )
        try:
            reference = _rows_per_second(spark, rows, partitions)
        finally:
            spark.stop()
    report.add("table_pipeline_rows", ours, reference, "Spark local[2] backend")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10^6 rows instead of 10^7")
    args = parser.parse_args(argv)
    report = Report("runtime_table")
    report.header()
    table_section(report, args.quick)
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
