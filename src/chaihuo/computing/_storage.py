"""Partition files on this party's disk: an allow-listed pickle codec and segment I/O."""

from __future__ import annotations

import io
import os
import pickle
import re
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaihuo.computing._errors import UnstorableValueError
from chaihuo.core import InvalidInputError

__all__ = [
    "DEFAULT_STORABLE",
    "EMPTY",
    "Columns",
    "Segment",
    "check_name",
    "decode",
    "encode",
    "qualified_name",
    "read_segment",
    "read_segments",
    "split_pairs",
    "write_sections",
]

# Why pickle, and why it is safe here. Table values are arbitrary Python objects (numbers,
# numpy arrays, ciphertext vectors), and pickle is the only fast codec for them. Loading a
# pickle can run code, though: any callable the stream names is called. So every byte read
# back from disk goes through an Unpickler whose `find_class` resolves only the globals on an
# allow-list (numpy's array rebuilders, a few builtins, explicitly registered classes); a
# stream that names anything else -- os.system, builtins.eval, subprocess.Popen -- is refused
# before the callable exists. Writing uses a Pickler that checks the same list, so an
# unregistered type fails in the operation that produced it rather than at a later read.
# Functions never go to disk: they travel to this party's own workers over in-memory pipes.

DEFAULT_STORABLE: frozenset[str] = frozenset(
    {
        "builtins:complex",
        "builtins:set",
        "builtins:frozenset",
        "builtins:bytearray",
        "builtins:slice",
        "builtins:range",
        "collections:OrderedDict",
        "collections:deque",
        "datetime:date",
        "datetime:datetime",
        "datetime:time",
        "datetime:timedelta",
        "datetime:timezone",
        "decimal:Decimal",
        "fractions:Fraction",
        "numpy:dtype",
        "numpy:ndarray",
        "numpy._core.numeric:_frombuffer",
        "numpy.core.numeric:_frombuffer",
        "numpy._core.multiarray:_reconstruct",
        "numpy.core.multiarray:_reconstruct",
        "numpy._core.multiarray:scalar",
        "numpy.core.multiarray:scalar",
        "chaihuo.computing._data:Block",
    }
)

Columns = tuple[list[Any], list[Any]]
"""One partition's (keys, values): two parallel lists, which pickle faster than a list of pairs."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_PROTOCOL = 5


def split_pairs(pairs: Iterable[tuple[Any, Any]]) -> Columns:
    """(keys, values) of an iterable of pairs; anything but 2-item pairs raises ValueError."""
    materialised = pairs if isinstance(pairs, list) else list(pairs)
    # Unpacking in a comprehension both splits and checks the shape, at C speed.
    return [key for key, _ in materialised], [value for _, value in materialised]


def qualified_name(obj: object) -> str:
    """The ``module:qualname`` under which pickle stores a class or function."""
    module = getattr(obj, "__module__", None) or "builtins"
    return f"{module}:{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def check_name(kind: str, value: str) -> str:
    """Validate a table namespace or name: one safe path component, never '..' or a slash."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
        raise InvalidInputError(
            f"table {kind} must be 1-128 characters of letters, digits, '_', '.' and '-' "
            "(not starting with '.' or '-', no '..')",
            **{kind: value},
        )
    return value


class _CheckedPickler(pickle.Pickler):
    """Refuses to write any global the matching reader would refuse."""

    def __init__(self, file: io.BytesIO, allowed: frozenset[str]) -> None:
        super().__init__(file, protocol=_PROTOCOL)
        self._allowed = allowed

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
            name = qualified_name(obj)
            if name not in self._allowed:
                raise UnstorableValueError(
                    f"a table value needs {name}, which is not storable; register the type "
                    "with the computing session (storable=...) if it is plain data",
                    type=name,
                )
        return NotImplemented


class _AllowListUnpickler(pickle.Unpickler):
    """Resolves only allow-listed globals, so loading cannot call anything else."""

    def __init__(self, file: io.BytesIO, allowed: frozenset[str]) -> None:
        super().__init__(file)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if f"{module}:{name}" not in self._allowed:
            raise UnstorableValueError(
                f"stored table data names {module}:{name}, which is not storable "
                "(a file written with another allow-list, or tampered with)",
                type=f"{module}:{name}",
            )
        return super().find_class(module, name)


def encode(obj: object, allowed: frozenset[str]) -> bytes:
    """Pickle `obj`, refusing globals outside `allowed`."""
    buffer = io.BytesIO()
    _CheckedPickler(buffer, allowed).dump(obj)
    return buffer.getvalue()


def decode(data: bytes, allowed: frozenset[str]) -> Any:
    """Unpickle `data`, refusing globals outside `allowed`."""
    try:
        return _AllowListUnpickler(io.BytesIO(data), allowed).load()
    except UnstorableValueError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise UnstorableValueError(f"corrupt table data: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Segment:
    """One partition's bytes: `length` bytes at `offset` in `path` holding `count` entries."""

    path: str
    offset: int
    length: int
    count: int


EMPTY = Segment("", 0, 0, 0)
"""An empty partition, which has no file."""


def write_sections(
    path: Path, sections: Sequence[Columns], allowed: frozenset[str]
) -> list[Segment]:
    """Write each (keys, values) section to one file; empty sections get `EMPTY` and no bytes."""
    segments: list[Segment] = []
    offset = 0
    with open(path, "wb") as handle:
        for keys, values in sections:
            if not keys:
                segments.append(EMPTY)
                continue
            data = encode((keys, values), allowed)
            handle.write(data)
            segments.append(Segment(str(path), offset, len(data), len(keys)))
            offset += len(data)
    if offset == 0:
        os.unlink(path)
    return segments


def read_segment(segment: Segment, allowed: frozenset[str]) -> Columns:
    """The (keys, values) of one segment."""
    if segment.count == 0:
        return [], []
    with open(segment.path, "rb") as handle:
        handle.seek(segment.offset)
        data = handle.read(segment.length)
    keys, values = decode(data, allowed)
    return keys, values


def read_segments(segments: Iterable[Segment], allowed: frozenset[str]) -> Columns:
    """The concatenated (keys, values) of several segments, in order."""
    parts = [read_segment(segment, allowed) for segment in segments if segment.count]
    if len(parts) == 1:
        return parts[0]
    keys: list[Any] = []
    values: list[Any] = []
    for part_keys, part_values in parts:
        keys.extend(part_keys)
        values.extend(part_values)
    return keys, values
