"""Spark failures become chaihuo errors: executor tracebacks are parsed, never trusted as code."""

from __future__ import annotations

from chaihuo.computing import ComputingError, DuplicateKeyError
from chaihuo.computing._spark_ops import PairOp, translate

JAVA_WRAPPED = """An error occurred while calling o123.collectAndServe.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 failed
org.apache.spark.api.python.PythonException: Traceback (most recent call last):
  File "/x/pyspark/worker.py", line 1, in main
    process()
  File "/x/chaihuo/computing/_spark_ops.py", line 67, in check_unique
    raise DuplicateKeyError(f"key {key!r} produced twice", key=repr(key)[:200])
{final}
 SQLSTATE: 38000
\tat org.apache.spark.api.python.BasePythonRunner.handlePythonException(PythonRunner.scala:1)
"""


def test_our_errors_keep_their_class() -> None:
    final = "chaihuo.computing._errors.DuplicateKeyError: key 'a' produced twice (key=\"'a'\")"
    error = translate(RuntimeError(JAVA_WRAPPED.replace("{final}", final)))
    assert type(error) is DuplicateKeyError
    assert "key 'a' produced twice" in str(error)


def test_user_errors_become_computing_errors_with_details() -> None:
    error = translate(
        RuntimeError(JAVA_WRAPPED.replace("{final}", "ZeroDivisionError: division by zero"))
    )
    assert type(error) is ComputingError
    assert error.details["error_type"] == "ZeroDivisionError"
    assert error.details["error"] == "division by zero"
    assert error.details["traceback"].startswith("Traceback (most recent call last):")
    assert str(error) == "a table function raised ZeroDivisionError: division by zero"


def test_foreign_module_names_do_not_pick_our_classes() -> None:
    final = "evil.DuplicateKeyError: nope"
    assert type(translate(RuntimeError(JAVA_WRAPPED.replace("{final}", final)))) is ComputingError


def test_failures_without_a_python_traceback() -> None:
    error = translate(RuntimeError("Py4JNetworkError: connection refused\nmore"))
    assert type(error) is ComputingError
    assert "connection refused" in str(error)


def test_pair_op_semantics() -> None:
    tagged = [("a", (0, 1)), ("b", (0, 2)), ("b", (1, 20)), ("c", (1, 30))]
    assert list(PairOp("join", lambda x, y: x + y)(iter(tagged))) == [("b", 22)]
    assert list(PairOp("union", None)(iter(tagged))) == [("a", 1), ("b", 2), ("c", 30)]
    assert list(PairOp("subtractByKey", None)(iter(tagged))) == [("a", 1)]
