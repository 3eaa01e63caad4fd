"""Errors of the computing layer: backend failures and data a table refuses."""

from __future__ import annotations

from typing import Any

from chaihuo.core import ChaihuoError, InvalidInputError

__all__ = [
    "ComputingError",
    "DataInvalidError",
    "DuplicateKeyError",
    "EmptyTableError",
    "InvalidKeyError",
    "MalformedDataError",
    "TableNotFoundError",
    "UnstorableValueError",
]


def _rebuild(cls: type[ChaihuoError], message: str, details: dict[str, Any]) -> ChaihuoError:
    return cls(message, **details)


class _PicklableError(ChaihuoError):
    """Keeps `details` when an error travels back from a worker process."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.details))


class ComputingError(_PicklableError):
    """The backend failed, or a user function raised inside it (type, message and traceback
    of the original exception are in `details`)."""

    code = "COMPUTING_ERROR"

    def __str__(self) -> str:
        # The details hold a whole remote traceback: too long for one line of text.
        return self.message


class DataInvalidError(_PicklableError, ValueError):
    """Data a table refuses: says what was wrong and where."""

    code = "DATA_INVALID"


class DuplicateKeyError(DataInvalidError):
    """An operation produced a key that is already in the table (tables hold each key once)."""


class InvalidKeyError(DataInvalidError):
    """A key whose type has no stable partition hash (e.g. a list, a dict or an object)."""


class EmptyTableError(DataInvalidError):
    """`first` or `reduce` on a table without entries."""


class UnstorableValueError(DataInvalidError):
    """A value whose type is not on the session's storable allow-list."""


class MalformedDataError(DataInvalidError):
    """An input file (CSV, Parquet) that cannot become a table.

    The message reads ``FILE:line N: reason``; ``details`` hold ``file``, ``reason`` and
    ``line`` (CSV, 1-based physical line) or ``row`` (Parquet, 1-based), and ``column``.
    """

    def __str__(self) -> str:
        return self.message


class TableNotFoundError(_PicklableError, InvalidInputError):
    """`load(namespace, name)` of a table that was never saved."""
