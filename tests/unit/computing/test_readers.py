"""CSV and Parquet input: FATE's example files load, malformed files name file, line, reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chaihuo.computing import (
    Dataset,
    LocalComputing,
    MalformedDataError,
    partition_of,
)

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"  # make links data/


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalComputing]:
    with LocalComputing(tmp_path_factory.mktemp("readers"), workers=1) as computing:
        yield computing


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "id_name", "label", "rows", "features", "label_dtype"),
    [
        ("breast_hetero_guest.csv", "id", "y", 569, 10, "int64"),
        ("breast_hetero_host.csv", "id", None, 569, 20, None),
        ("default_credit_hetero_guest.csv", "id", "y", 30000, 13, "int64"),
        ("ionosphere_scale_hetero_guest.csv", "sid", "label", 351, 15, "int64"),
        ("motor_hetero_guest.csv", "idx", "motor_speed", 800, 4, "float64"),
        ("student_homo_guest.csv", None, "y", 158, 13, "int64"),
        ("breast_hetero_guest_repeated_id.csv", "mock_id", "y", 2139, 11, "int64"),
    ],
)
def test_fate_example_files_load(
    session: LocalComputing,
    name: str,
    id_name: str | None,
    label: str | None,
    rows: int,
    features: int,
    label_dtype: str | None,
) -> None:
    dataset = session.read_csv(DATA / name, id=id_name, label=label, partitions=4)
    schema = dataset.schema
    assert (dataset.count(), schema.num_features, schema.label_dtype) == (
        rows,
        features,
        label_dtype,
    )
    assert schema.id_name == (id_name or "id")
    assert label not in schema.feature_names
    blocks = dataset.collect_blocks()
    assert len(blocks) == 4
    for index, block in enumerate(blocks):
        ids = block.ids.tolist()
        assert ids == sorted(ids)
        assert all(partition_of(key, 4) == index for key in ids)
        assert block.features.dtype == np.float64
        assert block.features.shape == (len(ids), features)
        assert (block.labels is None) == (label is None)


def test_values_match_the_file(session: LocalComputing) -> None:
    dataset = session.read_csv(DATA / "breast_hetero_guest.csv", id="id", label="y", partitions=3)
    rows = dict(dataset.rows().collect())
    features, label = rows["133"]
    assert label == 1
    assert features[:3].tolist() == [0.254879, -1.046633, 0.209656]
    ionosphere = session.read_csv(
        DATA / "ionosphere_scale_hetero_guest.csv", id="sid", label="label"
    )
    assert ionosphere.schema.feature_dtypes[1] == "null"  # x2 is empty throughout
    assert all(np.isnan(block.features[:, 1]).all() for block in ionosphere.collect_blocks())


def test_guest_and_host_blocks_are_row_aligned(session: LocalComputing) -> None:
    guest = session.read_csv(DATA / "breast_hetero_guest.csv", label="y", partitions=5)
    host = session.read_csv(DATA / "breast_hetero_host.csv", partitions=5)
    for mine, theirs in zip(guest.collect_blocks(), host.collect_blocks(), strict=True):
        assert mine.ids.tolist() == theirs.ids.tolist()


def test_rows_round_trip_through_a_join(session: LocalComputing) -> None:
    guest = session.read_csv(DATA / "breast_hetero_guest.csv", label="y", partitions=3)
    keep = session.parallelize([(str(i), None) for i in range(0, 600, 2)], include_key=True)
    subset = Dataset.from_rows(guest.schema, guest.rows().join(keep, lambda row, _: row))
    expected = {key for key, _ in guest.ids().collect()} & {str(i) for i in range(0, 600, 2)}
    blocks = subset.collect_blocks()
    assert {key for block in blocks for key in block.ids.tolist()} == expected
    assert subset.count() == len(expected)
    assert all(block.labels is not None and block.labels.dtype == np.int64 for block in blocks)


def test_the_headerless_tag_value_file_is_refused_clearly(session: LocalComputing) -> None:
    path = DATA / "breast_hetero_host_tag_value.csv"
    with pytest.raises(MalformedDataError) as raised:
        session.read_csv(path, header=False)
    assert raised.value.details["line"] == 1
    assert "non-numeric feature 'c1'" in str(raised.value)
    with pytest.raises(MalformedDataError, match="line 2: non-numeric feature"):
        session.read_csv(path)


@pytest.mark.parametrize(
    ("text", "kwargs", "line", "reason"),
    [
        ("", {}, 1, "empty file"),
        ("\n\n", {}, 1, "empty file"),
        ("id,y,x0\n1,0,0.5\n2,1\n", {"label": "y"}, 3, "ragged row: expected 3 fields, got 2"),
        ("id,y,x0\n1,0,0.5\n2,1,0.5,9\n", {}, 3, "ragged row: expected 3 fields, got 4"),
        ("id,y,x0\n1,0,0.5\n\n2,1,abc\n", {"label": "y"}, 4, "non-numeric feature 'x0': 'abc'"),
        ("id,y,x0\n1,yes,0.5\n", {"label": "y"}, 2, "non-numeric label 'y': 'yes'"),
        ("id,y,x0\n1,,0.5\n", {"label": "y"}, 2, "missing label 'y'"),
        ("id,x0\n7,1\n8,2\n7,3\n", {}, 4, "repeated id '7' (first at line 2)"),
        ("id,x0\n7,1\n,2\n", {}, 3, "empty id in column 'id'"),
        ("uid,x0\n7,1\n", {"id": "id"}, 1, "missing id column 'id'"),
        ("id,x0\n7,1\n", {"label": "y"}, 1, "missing label column 'y'"),
        ("id,x0,x0\n7,1,2\n", {}, 1, "repeated column names ['x0']"),
        ('id,x0\n"a\nb",1\n1,2\n1,3\n', {}, 5, "repeated id '1' (first at line 4)"),
    ],
)
def test_malformed_csv_names_file_line_and_reason(
    session: LocalComputing,
    tmp_path: Path,
    text: str,
    kwargs: dict[str, str],
    line: int,
    reason: str,
) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(MalformedDataError) as raised:
        session.read_csv(path, **kwargs)
    error = raised.value
    assert str(error) == f"{path}:line {line}: {reason}"
    assert error.details["file"] == str(path)
    assert error.details["line"] == line
    assert error.code == "DATA_INVALID"


def test_missing_values_and_odd_numbers(session: LocalComputing, tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,y,a,b\nr1,0.5,,1e3\nr2,1.5,NA, 2\nr3,2,nan,-inf\n")
    dataset = session.read_csv(path, label="y", partitions=1)
    (block,) = dataset.collect_blocks()
    assert block.ids.tolist() == ["r1", "r2", "r3"]
    assert np.isnan(block.features[:, 0]).all()
    assert block.features[:, 1].tolist() == [1000.0, 2.0, -np.inf]
    assert dataset.schema.label_dtype == "float64"
    assert block.labels is not None and block.labels.tolist() == [0.5, 1.5, 2.0]


def test_missing_file(session: LocalComputing, tmp_path: Path) -> None:
    with pytest.raises(MalformedDataError, match="no such file"):
        session.read_csv(tmp_path / "absent.csv")


def test_parquet(session: LocalComputing, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(
        pa.table({"id": [3, 1, 2], "y": [0, 1, 0], "f": [0.5, None, 2.0], "g": [1, 2, 3]}), path
    )
    dataset = session.read_parquet(path, label="y", partitions=2)
    assert dataset.schema.feature_names == ("f", "g")
    assert dataset.count() == 3
    rows = dict(dataset.rows().collect())
    assert sorted(rows) == ["1", "2", "3"]
    assert rows["3"][0].tolist() == [0.5, 1.0] and rows["3"][1] == 0
    pq.write_table(pa.table({"id": ["a", "a"], "f": [1.0, 2.0]}), path)
    with pytest.raises(MalformedDataError, match=r"row 2: repeated id 'a' \(first at row 1\)"):
        session.read_parquet(path)
    pq.write_table(pa.table({"id": ["a"], "f": ["x"]}), path)
    with pytest.raises(MalformedDataError, match="row 1: non-numeric feature 'f'"):
        session.read_parquet(path)
    path.write_bytes(b"not parquet")
    with pytest.raises(MalformedDataError, match="unreadable Parquet"):
        session.read_parquet(path)


def test_a_utf8_bom_from_excel_is_not_part_of_the_header(
    session: LocalComputing, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("id,y,x0\nr1,0,0.5\nr2,1,1.5\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfid,")
    dataset = session.read_csv(path, id="id", label="y", partitions=1)
    assert dataset.schema.id_name == "id"
    assert dataset.schema.feature_names == ("x0",)
    assert sorted(key for key, _ in dataset.ids().collect()) == ["r1", "r2"]
    path.write_text("id,x0\n7,1\n7,2\n", encoding="utf-8-sig")
    with pytest.raises(MalformedDataError) as raised:
        session.read_csv(path, id="id")
    assert str(raised.value) == f"{path}:line 3: repeated id '7' (first at line 2)"
    path.write_text("r1,0.5\nr2,1.5\n", encoding="utf-8-sig")
    headerless = session.read_csv(path, header=False, partitions=1)
    assert sorted(key for key, _ in headerless.ids().collect()) == ["r1", "r2"]


def test_an_empty_table_is_legitimate_for_the_table_api(
    session: LocalComputing, tmp_path: Path
) -> None:
    # The `reader` component refuses it (tests/unit/components/test_reader_edges.py).
    dataset = session.read_csv(_csv(tmp_path, "id,y,x0\n"), label="y", partitions=2)
    assert dataset.count() == 0
    assert dataset.schema.feature_names == ("x0",)
