"""The revocation denylist: parsing and refresh."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from chaihuo.core import ConfigError
from chaihuo.federation import Denylist
from chaihuo.federation._denylist import parse_denylist


def test_parse_accepts_hex_with_comments_and_colons() -> None:
    text = "# revoked\n0x1f\nAB:CD  # trailing comment\n\n  ff \n"
    assert parse_denylist(text) == {0x1F, 0xABCD, 0xFF}
    with pytest.raises(ConfigError, match=r"denylist:2:"):
        parse_denylist("1\nnot-hex\n")


def test_missing_file_revokes_nothing_and_refresh_picks_up_changes(tmp_path: Path) -> None:
    path = tmp_path / "deny.txt"
    denylist = Denylist(path, refresh_s=0.05)
    assert not denylist.is_revoked(0x10)
    path.write_text("10\n")
    time.sleep(0.06)
    assert denylist.is_revoked(0x10)


def test_malformed_update_keeps_previous_list(tmp_path: Path) -> None:
    path = tmp_path / "deny.txt"
    path.write_text("10\n")
    denylist = Denylist(path, refresh_s=0.05)
    path.write_text("zz-not-a-serial\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    time.sleep(0.06)
    assert denylist.is_revoked(0x10)


def test_malformed_file_at_start_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "deny.txt"
    path.write_text("nope\n")
    with pytest.raises(ConfigError):
        Denylist(path, refresh_s=1)
