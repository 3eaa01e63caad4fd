"""The `reader` component on edge files: an Excel BOM is accepted, a file without rows refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chaihuo.components.builtin import default_registry
from chaihuo.computing import MalformedDataError
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

REGISTRY = default_registry()
GUEST = Party(Role.GUEST, "1")


def _read(computing: Callable[[Party], Any], params: dict[str, object]) -> Any:
    def party(ctx: Context) -> object:
        spec = REGISTRY.get("reader")
        sub = ctx.sub("reader_0")
        out = spec.runners[ctx.role](sub, spec.params(**params), {})
        return out, ctx.metrics_sink.latest("reader_0")

    return run_parties(party, {"guest": 1}, computing=computing)[GUEST]


def _refused(computing: Callable[[Party], Any], params: dict[str, object]) -> MalformedDataError:
    with pytest.raises(PartyFailedError) as raised:
        _read(computing, params)
    error = raised.value.error
    assert isinstance(error, MalformedDataError)
    return error


def test_a_csv_saved_by_excel_with_a_bom_reads(
    computing: Callable[[Party], Any], tmp_path: Path
) -> None:
    path = tmp_path / "guest.csv"
    path.write_text("id,y,x0\nu1,0,1.0\nu2,1,2.0\nu3,0,3.0\n", encoding="utf-8-sig")
    out, metrics = _read(computing, {"path": str(path), "id": "id", "label": "y"})
    assert out["data"].schema.id_name == "id"
    assert metrics == {"rows": 3.0, "features": 1.0}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_a_csv_with_a_header_but_no_rows_is_refused(
    computing: Callable[[Party], Any], tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "header_only.csv"
    path.write_text("id,y,x0,x1\n\n", encoding=encoding)
    error = _refused(computing, {"path": str(path), "id": "id", "label": "y"})
    assert error.code == "DATA_INVALID"
    assert str(error) == f"{path}: the file has a header but no data rows: nothing to read"
    assert error.details["file"] == str(path)
    assert error.details["rows"] == 0


def test_a_parquet_file_with_zero_rows_is_refused(
    computing: Callable[[Party], Any], tmp_path: Path
) -> None:
    path = tmp_path / "empty.parquet"
    schema = pa.schema([("id", pa.string()), ("x0", pa.float64())])
    pq.write_table(pa.table({"id": [], "x0": []}, schema=schema), path)
    error = _refused(computing, {"path": str(path), "id": "id"})
    assert error.code == "DATA_INVALID"
    assert str(error) == f"{path}: the file has a schema but no data rows: nothing to read"
