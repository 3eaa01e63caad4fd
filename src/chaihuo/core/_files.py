"""Atomic file writes: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from chaihuo.core._errors import StorageError

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o600) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over
    `path`. A failure (ENOSPC, EDQUOT, EACCES, ...) removes the temporary file and raises a
    StorageError naming the path; `path` keeps what it held before, or stays absent."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(staging, path)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}", path=str(path)) from exc
    return path
