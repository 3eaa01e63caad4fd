"""Certificate revocation by serial: a text file the server re-reads at most every N seconds."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from chaihuo.core import ConfigError

__all__ = ["Denylist", "parse_denylist"]

_log = logging.getLogger("chaihuo.federation")


def parse_denylist(text: str, source: str = "denylist") -> frozenset[int]:
    """Serials, one hexadecimal number per line ('0x' optional); '#' starts a comment."""
    serials = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip().lower().removeprefix("0x").replace(":", "")
        if not entry:
            continue
        try:
            serials.add(int(entry, 16))
        except ValueError as exc:
            raise ConfigError(f"{source}:{number}: not a hexadecimal serial: {entry!r}") from exc
    return frozenset(serials)


class Denylist:
    """Revoked serials from `path`, refreshed lazily when older than `refresh_s` (R10 ≤ 60 s).

    A missing file means nothing is revoked; a file that turns malformed keeps the previous
    list and logs an error (revocations already in force are never dropped silently).
    """

    def __init__(self, path: str | os.PathLike[str] | None, refresh_s: float) -> None:
        self.path = None if path is None else Path(path)
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._serials: frozenset[int] = frozenset()
        self._mtime: int | None = None
        self._checked = 0.0
        self._reload(strict=True)

    def _reload(self, *, strict: bool) -> None:
        if self.path is None:
            return
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._serials, self._mtime = frozenset(), None
            return
        if stat.st_mtime_ns == self._mtime:
            return
        try:
            serials = parse_denylist(self.path.read_text(encoding="ascii"), str(self.path))
        except (ConfigError, OSError, UnicodeDecodeError) as exc:
            if strict:
                raise ConfigError(f"cannot read denylist {self.path}: {exc}") from exc
            _log.error("keeping the previous denylist: %s", exc)
            return
        self._serials, self._mtime = serials, stat.st_mtime_ns

    def is_revoked(self, serial: int) -> bool:
        """Whether `serial` is on the list (re-reading the file if it is due)."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked >= self.refresh_s:
                self._checked = now
                self._reload(strict=False)
            return serial in self._serials
