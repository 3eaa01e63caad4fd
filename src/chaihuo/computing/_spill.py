"""Spill directories of local computing sessions: locked while in use, swept once abandoned."""

# A session spills its tables under <data_dir>/tmp/<session id>/ and holds an exclusive
# advisory lock (flock) on <session id>.lock beside it for its whole life. A process that is
# killed loses its locks with it, so a spill directory whose lock can be taken belongs to no
# live session and can go: every new session sweeps its siblings, and the launcher sweeps
# the runs of a work root before it starts a new one.

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path

__all__ = ["SpillLock", "remove_stale_spill"]


class SpillLock:
    """The lock that marks one spill directory as in use, held until `release`."""

    def __init__(self, directory: Path) -> None:
        self.path = directory.with_name(directory.name + ".lock")
        self._fd: int | None = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        """Unlock and remove the lock file (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _abandoned(lock_path: Path) -> bool:
    try:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    os.close(fd)  # closing drops the lock; we only wanted to know it was free
    return True


def remove_stale_spill(tmp_root: Path) -> int:
    """Remove every spill directory under `tmp_root` that no live session holds; returns how
    many went."""
    if not tmp_root.is_dir():
        return 0
    removed = 0
    for directory in tmp_root.iterdir():
        if not directory.is_dir():
            continue
        lock = directory.with_name(directory.name + ".lock")
        if _abandoned(lock):
            shutil.rmtree(directory, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            removed += 1
    return removed
