"""Per-party local computing sessions for tests, each in its own folder, stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chaihuo.computing import LocalComputing
from chaihuo.federation import Party

__all__ = ["local_sessions"]


@contextmanager
def local_sessions(folder: Path, workers: int = 1) -> Iterator[Callable[[Party], LocalComputing]]:
    """A factory for `run_parties(computing=...)`: one LocalComputing per party under `folder`
    (`<role>-<party id>`), all stopped when the block ends."""
    made: list[LocalComputing] = []

    def make(party: Party) -> LocalComputing:
        session = LocalComputing(folder / f"{party.role.value}-{party.party_id}", workers=workers)
        made.append(session)
        return session

    try:
        yield make
    finally:
        for session in made:
            session.stop()
