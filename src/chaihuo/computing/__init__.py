"""Partitioned key-value tables over a local process pool or Spark, and datasets read into them."""

from typing import TYPE_CHECKING

from chaihuo.computing._data import Block, Dataset, Schema
from chaihuo.computing._errors import (
    ComputingError,
    DataInvalidError,
    DuplicateKeyError,
    EmptyTableError,
    InvalidKeyError,
    MalformedDataError,
    TableNotFoundError,
    UnstorableValueError,
)
from chaihuo.computing._factory import check_backend, open_computing
from chaihuo.computing._keys import canonical_key, key_hash, partition_of
from chaihuo.computing._local import LocalComputing, LocalTable
from chaihuo.computing._session import ComputingSession
from chaihuo.computing._spill import remove_stale_spill
from chaihuo.computing._table import Table

if TYPE_CHECKING:  # Spark loads only when a session asks for it (pyspark costs ~0.5 s to import)
    from chaihuo.computing._spark import SparkComputing, SparkTable


def __getattr__(name: str) -> object:
    if name in {"SparkComputing", "SparkTable"}:
        from chaihuo.computing import _spark  # noqa: PLC0415

        return getattr(_spark, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Block",
    "ComputingError",
    "ComputingSession",
    "DataInvalidError",
    "Dataset",
    "DuplicateKeyError",
    "EmptyTableError",
    "InvalidKeyError",
    "LocalComputing",
    "LocalTable",
    "MalformedDataError",
    "Schema",
    "SparkComputing",
    "SparkTable",
    "Table",
    "TableNotFoundError",
    "UnstorableValueError",
    "canonical_key",
    "check_backend",
    "key_hash",
    "open_computing",
    "partition_of",
    "remove_stale_spill",
]
