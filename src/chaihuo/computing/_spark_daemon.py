"""PySpark's worker daemon with chaihuo preloaded, so each forked worker starts warm."""

# PySpark forks one Python worker per task from this daemon. Importing chaihuo's executor
# code (and numpy) here, once, spares every worker that import; the Spark backend selects
# this module with spark.python.daemon.module.
from pyspark import daemon

import chaihuo.computing._spark_ops  # noqa: F401

if __name__ == "__main__":
    daemon.manager()
