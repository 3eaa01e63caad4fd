"""Per-party feature components against numpy/scikit-learn: scale, one-hot, statistics, reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from chaihuo.components.builtin._feature_scale import FEATURE_SCALE
from chaihuo.components.builtin._one_hot import ONE_HOT
from chaihuo.components.builtin._reader import READER
from chaihuo.components.builtin._statistics import STATISTICS
from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Party
from chaihuo.ml import dataset_arrays
from chaihuo.ml.feature import UnknownColumnError
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"
GUEST = Party(Role.GUEST, "9999")
EXACT = 1e-12  # same float64 formulas as the references, up to summation order


def _component(spec: Any, ctx: Context, name: str, params: dict[str, Any], **inputs: Any) -> Any:
    return spec.runners[ctx.role](ctx.sub(name), spec.params(**params), inputs)


def _on_guest(computing: Any, fn: Any) -> Any:
    return run_parties(fn, {"guest": 9999}, computing=computing)[GUEST]


def _read(ctx: Context, path: Path, label: str | None = "y", **extra: Any) -> Any:
    params = {"path": str(path), "id": "id", "label": label, **extra}
    return _component(READER, ctx, f"reader_{len(extra)}", params)["data"]


def _matrix(dataset: Any) -> np.ndarray:
    return dataset_arrays(dataset).features


def _by_id(dataset: Any) -> dict[str, list[float]]:
    arrays = dataset_arrays(dataset)
    return {str(k): row.tolist() for k, row in zip(arrays.ids, arrays.features, strict=True)}


def _split_csv(tmp: Path, source: Path, rows: int) -> tuple[Path, Path]:
    lines = source.read_text().splitlines()
    train, test = tmp / "train.csv", tmp / "test.csv"
    train.write_text("\n".join([lines[0], *lines[1 : rows + 1]]) + "\n")
    test.write_text("\n".join([lines[0], *lines[rows + 1 :]]) + "\n")
    return train, test


@pytest.mark.parametrize(
    ("params", "reference"),
    [
        ({"method": "standard"}, StandardScaler()),
        ({"method": "minmax"}, MinMaxScaler(clip=True)),
        ({"method": "minmax", "feature_range": (-1, 1)}, MinMaxScaler((-1, 1), clip=True)),
        ({"method": "minmax", "clip": False}, MinMaxScaler()),
    ],
)
def test_feature_scale_matches_scikit_learn_on_fit_and_new_data(
    computing: Any, tmp_path: Path, params: dict[str, Any], reference: Any
) -> None:
    train, test = _split_csv(tmp_path, DATA / "breast_hetero_host.csv", 400)

    def party(ctx: Context) -> Any:
        fitted = _component(FEATURE_SCALE, ctx, "s0", params, data=_read(ctx, train, None))
        again = _component(
            FEATURE_SCALE, ctx, "s1", {}, data=_read(ctx, test, None), model=fitted["model"]
        )
        return _matrix(_read(ctx, train, None)), _matrix(_read(ctx, test, None)), fitted, again

    x_train, x_test, fitted, again = _on_guest(computing, party)
    reference.fit(x_train)
    np.testing.assert_allclose(_matrix(fitted["data"]), reference.transform(x_train), atol=EXACT)
    np.testing.assert_allclose(_matrix(again["data"]), reference.transform(x_test), atol=EXACT)


def test_scaling_constant_and_all_missing_columns_is_defined(
    computing: Any, tmp_path: Path
) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,a,c,m\n" + "".join(f"u{i},{i},5,\n" for i in range(10)))
    for method, constant in (("standard", 0.0), ("minmax", 0.0)):

        def party(ctx: Context, method: str = method) -> Any:
            data = _read(ctx, path, None)
            return _component(FEATURE_SCALE, ctx, "s", {"method": method}, data=data)

        out = _on_guest(computing, party)
        matrix = _matrix(out["data"])
        assert np.all(matrix[:, 1] == constant) and np.all(np.isnan(matrix[:, 2]))
        assert np.all(np.isfinite(matrix[:, 0]))


def test_min_max_cap_mode_clips_at_quantiles(computing: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,a\n" + "".join(f"u{i},{i}\n" for i in range(101)))

    def party(ctx: Context) -> Any:
        params = {"method": "minmax", "clip_quantiles": (0.1, 0.9)}
        return _component(FEATURE_SCALE, ctx, "s", params, data=_read(ctx, path, None))

    rows = _by_id(_on_guest(computing, party)["data"])
    values = np.array([rows[f"u{i}"][0] for i in range(101)])
    expected = (np.clip(np.arange(101.0), 10, 90) - 10) / 80
    np.testing.assert_allclose(values, expected, atol=EXACT)


def test_one_hot_matches_scikit_learn_with_unseen_categories(
    computing: Any, tmp_path: Path
) -> None:
    train, test = _split_csv(tmp_path, DATA / "student_hetero_guest.csv", 300)
    columns = ["x1", "x2", "x3"]

    def party(ctx: Context) -> Any:
        fitted = _component(ONE_HOT, ctx, "o0", {"columns": columns}, data=_read(ctx, train))
        again = _component(ONE_HOT, ctx, "o1", {}, data=_read(ctx, test), model=fitted["model"])
        return _read(ctx, train), _read(ctx, test), fitted, again

    raw_train, raw_test, fitted, again = _on_guest(computing, party)
    names = list(raw_train.schema.feature_names)
    picked = [names.index(c) for c in columns]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(
        _matrix(raw_train)[:, picked]
    )
    for raw, out in ((raw_train, fitted), (raw_test, again)):
        matrix = _matrix(out["data"])
        expected_hot = encoder.transform(_matrix(raw)[:, picked])
        hot_names = [n for n in out["data"].schema.feature_names if n.split("_")[0] in columns]
        hot = matrix[:, [out["data"].schema.feature_names.index(n) for n in hot_names]]
        np.testing.assert_array_equal(hot, expected_hot)
        kept = [j for j, n in enumerate(names) if n not in columns]
        rest = [out["data"].schema.feature_names.index(names[j]) for j in kept]
        np.testing.assert_array_equal(matrix[:, rest], _matrix(raw)[:, kept])
    expected_names = [
        f"{c}_{int(v)}" for c, cats in zip(columns, encoder.categories_, strict=True) for v in cats
    ]
    assert hot_names == expected_names


def test_one_hot_auto_detects_small_integer_columns_and_refuses_floats(
    computing: Any, tmp_path: Path
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "id,cat,big,real\n" + "".join(f"u{i},{i % 3},{i},{i / 7:.3f}\n" for i in range(40))
    )

    def party(ctx: Context) -> Any:
        out = _component(ONE_HOT, ctx, "o", {"max_categories": 5}, data=_read(ctx, path, None))
        try:
            _component(ONE_HOT, ctx, "bad", {"columns": ["real"]}, data=_read(ctx, path, None))
        except InvalidInputError as exc:
            return out, exc
        return out, None

    out, error = _on_guest(computing, party)
    assert out["data"].schema.feature_names == ("cat_0", "cat_1", "cat_2", "big", "real")
    assert "non-integer value" in str(error) and "'real'" in str(error)


def test_statistics_match_numpy(computing: Any) -> None:
    path = DATA / "breast_hetero_guest.csv"
    quantiles = [0.1, 0.5, 0.9]

    def party(ctx: Context) -> Any:
        data = _read(ctx, path)
        params = {"quantiles": quantiles}
        return data, _component(STATISTICS, ctx, "st", params, data=data)["statistics"]

    data, stats = _on_guest(computing, party)
    arrays = dataset_arrays(data)
    for j, name in enumerate(data.schema.feature_names):
        column, got = arrays.features[:, j], stats["features"][name]
        assert got["count"] == 569 and got["missing_ratio"] == 0.0
        assert (
            abs(got["mean"] - column.mean()) < EXACT
            and abs(got["std"] - column.std(ddof=1)) < EXACT
        )
        assert got["min"] == column.min() and got["max"] == column.max()
        for q in quantiles:
            assert abs(got["quantiles"][str(q)] - np.quantile(column, q)) < EXACT
    assert stats["label"]["classes"] == {"0": 212, "1": 357}


def test_statistics_of_missing_and_constant_columns(computing: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,a,c,m\n" + "".join(f"u{i},{i if i % 4 else ''},2,\n" for i in range(8)))

    def party(ctx: Context) -> Any:
        return _component(STATISTICS, ctx, "st", {}, data=_read(ctx, path, None))["statistics"]

    stats = _on_guest(computing, party)["features"]
    assert stats["a"]["missing_ratio"] == 0.25 and stats["a"]["count"] == 6
    assert stats["c"]["std"] == 0.0
    assert stats["m"] == {
        "count": 0, "missing_ratio": 1.0, "mean": None, "std": None, "min": None, "max": None,
        "quantiles": {"0.25": None, "0.5": None, "0.75": None},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        ({"missing_fill": "mean"}, [2.0, 0.0]),
        ({"missing_fill": "median"}, [1.0, 0.0]),
        ({"missing_fill": "zero"}, [0.0, 0.0]),
        ({"missing_fill": "constant", "fill_value": -1}, [-1.0, -1.0]),
    ],
)
def test_reader_fills_missing_cells(
    computing: Any, tmp_path: Path, fill: dict[str, Any], expected: list[float]
) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,y,a,m\nu0,1,0,\nu1,0,,\nu2,1,1,\nu3,0,5,\n")

    def party(ctx: Context) -> Any:
        return _by_id(_read(ctx, path, **fill))

    rows = _on_guest(computing, party)
    assert rows["u1"] == expected and rows["u0"][0] == 0.0
    assert not np.isnan(list(rows.values())).any()


def test_reader_types_labels(computing: Any, tmp_path: Path) -> None:
    whole, fractional = tmp_path / "w.csv", tmp_path / "f.csv"
    whole.write_text("id,y,a\nu0,1.0,3\nu1,0.0,4\n")
    fractional.write_text("id,y,a\nu0,1.5,3\nu1,0.0,4\n")

    def party(ctx: Context) -> Any:
        auto = _read(ctx, whole)
        as_int = _read(ctx, whole, label_type="int")
        as_float = _read(ctx, DATA / "breast_hetero_guest.csv", label_type="float")
        return auto, as_int, as_float

    auto, as_int, as_float = _on_guest(computing, party)
    assert auto.schema.label_dtype == "float64"
    assert as_int.schema.label_dtype == "int64"
    arrays = dataset_arrays(as_int)
    labels = arrays.labels.tolist()  # type: ignore[union-attr]
    assert dict(zip(arrays.ids.tolist(), labels, strict=True)) == {"u0": 1, "u1": 0}
    assert as_float.schema.label_dtype == "float64"
    with pytest.raises(PartyFailedError, match=r"label 'y' of id 'u0' is 1\.5"):
        _on_guest(computing, lambda ctx: _read(ctx, fractional, label_type="int"))


def test_unknown_columns_are_named(computing: Any) -> None:
    path = DATA / "breast_hetero_guest.csv"
    for spec in (FEATURE_SCALE, ONE_HOT, STATISTICS):
        with pytest.raises(PartyFailedError) as info:
            _on_guest(
                computing,
                lambda ctx, spec=spec: _component(
                    spec, ctx, "c", {"columns": ["x0", "income"]}, data=_read(ctx, path)
                ),
            )
        assert isinstance(info.value.error, UnknownColumnError)
        assert "'income'" in str(info.value.error)
