"""Partitioned key-value tables over a local process pool or Spark, and datasets read into them."""

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
from chaihuo.computing._factory import open_computing
from chaihuo.computing._keys import canonical_key, key_hash, partition_of
from chaihuo.computing._local import LocalComputing, LocalTable
from chaihuo.computing._session import ComputingSession
from chaihuo.computing._spark import SparkComputing, SparkTable
from chaihuo.computing._spill import remove_stale_spill
from chaihuo.computing._table import Table

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
    "key_hash",
    "open_computing",
    "partition_of",
    "remove_stale_spill",
]
