"""Fixtures shared by every test tier."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chaihuo.computing import LocalComputing
from chaihuo.federation import Party
from chaihuo.testing import local_sessions


@pytest.fixture
def computing(tmp_path: Path) -> Iterator[Callable[[Party], LocalComputing]]:
    """One local computing session per party under tmp_path (one worker), stopped afterwards."""
    with local_sessions(tmp_path) as make:
        yield make
