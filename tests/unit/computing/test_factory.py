"""open_computing picks the backend from one string; load_uri reads job-file table references."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaihuo.computing import LocalComputing, TableNotFoundError, open_computing
from chaihuo.core import ConfigError, InvalidInputError


def test_local_is_the_default(tmp_path: Path) -> None:
    with open_computing(data_dir=tmp_path, workers=1, session_id="job-1") as session:
        assert isinstance(session, LocalComputing)
        assert session.default_partitions == 1
        assert (tmp_path / "tmp" / "job-1").is_dir()
        session.parallelize(["a", "b"]).save("guest", "data")
        assert sorted(session.load_uri("guest/data").collect()) == [(0, "a"), (1, "b")]
        with pytest.raises(InvalidInputError):
            session.load_uri("no-slash")
        with pytest.raises(TableNotFoundError):
            session.load_uri("guest/absent")


@pytest.mark.parametrize("backend", ["", "spark", "hdfs://x", "remote"])
def test_unknown_backends_are_config_errors(tmp_path: Path, backend: str) -> None:
    with pytest.raises(ConfigError):
        open_computing(backend, data_dir=tmp_path)


def test_session_ids_are_path_safe(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        LocalComputing(tmp_path, session_id="../escape")
