"""Hetero feature binning: bins, WOE/IV against a plaintext numpy reference, privacy, bad input."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chaihuo.components.builtin._hetero_feature_binning import HETERO_FEATURE_BINNING
from chaihuo.components.builtin._reader import READER
from chaihuo.core import InvalidInputError, Role
from chaihuo.crypto.paillier import EncryptedVector
from chaihuo.federation import Party
from chaihuo.ml import ModelArtifact
from chaihuo.ml.feature.binning import (
    QuantileSummary,
    assign_bins,
    bucket_points,
    quantile_points,
    summary_points,
    woe_table,
)
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"
ROLES = {"guest": 9999, "host": 10000}
TOLERANCE = 1e-9  # the quality table: binning / WOE / IV equal to plaintext within 1e-9


# ------------------------------------------------------------------ plaintext reference (numpy)
def reference_points(values: np.ndarray, bins: int, method: str) -> np.ndarray:
    present = values[~np.isnan(values)]
    if method == "bucket":
        low, high = present.min(), present.max()
        return np.unique([*(low + k * (high - low) / bins for k in range(1, bins)), high])
    levels = [k / bins for k in range(1, bins + 1)]
    return np.unique(np.quantile(present, levels, method="inverted_cdf"))


def reference_woe(values: np.ndarray, y: np.ndarray, points: np.ndarray) -> dict[str, Any]:
    """FATE's iv_calculator, written out with math.log on per-bin counts."""
    index = np.minimum(np.searchsorted(points, values, side="left"), len(points) - 1)
    index[np.isnan(values)] = len(points)
    size = len(points) + 1
    events = np.bincount(index, weights=y, minlength=size).astype(int)
    rows = np.bincount(index, minlength=size)
    total_e, total_n = events.sum(), (rows - events).sum()
    woe, iv = [], 0.0
    for k in range(size):
        e, n = int(events[k]), int(rows[k] - events[k])
        if k == size - 1 and rows[k] == 0:
            woe.append(0.0)
            continue
        if e == 0 or n == 0:
            er, nr = (e + 0.5) / total_e, (n + 0.5) / total_n
        else:
            er, nr = e / total_e, n / total_n
        woe.append(math.log(er / nr))
        iv += (er - nr) * woe[-1]
    return {"events": events.tolist(), "rows": rows.tolist(), "woe": woe, "iv": iv}


def read_subsample(path: Path, rows: int | None) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    body = [line.split(",") for line in lines[1 : None if rows is None else rows + 1]]
    return header, body


def write_pair(tmp: Path, rows: int | None) -> tuple[Path, Path]:
    """default_credit guest/host restricted to the first `rows` guest ids (same ids on both)."""
    g_header, g_rows = read_subsample(DATA / "default_credit_hetero_guest.csv", rows)
    h_header, h_rows = read_subsample(DATA / "default_credit_hetero_host.csv", None)
    wanted = {r[0] for r in g_rows}
    guest, host = tmp / "guest.csv", tmp / "host.csv"
    guest.write_text("\n".join(",".join(r) for r in [g_header, *g_rows]) + "\n")
    host_rows = [r for r in h_rows if r[0] in wanted]
    host.write_text("\n".join(",".join(r) for r in [h_header, *host_rows]) + "\n")
    return guest, host


def joined(
    guest: Path, host: Path
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    g_header, g_rows = read_subsample(guest, None)
    h_header, h_rows = read_subsample(host, None)
    by_id = {r[0]: r for r in h_rows}
    y = np.array([float(r[1]) for r in g_rows])
    g_cols = {n: np.array([float(r[j]) for r in g_rows]) for j, n in enumerate(g_header) if j > 1}
    h_cols = {
        n: np.array([float(by_id[r[0]][j]) for r in g_rows]) for j, n in enumerate(h_header) if j
    }
    return y, g_cols, h_cols


# ------------------------------------------------------------------ federated runs
def run_binning(
    computing: Any,
    guest: Path,
    host: Path,
    params: dict[str, Any],
    record: bool = False,
    catch: Role | None = None,
    transport: str = "memory",
) -> dict[Party, Any]:
    """Reader + binning on both parties; `catch` returns that role's error instead of raising
    it (run_parties would otherwise close the other party's federation at once)."""

    def party(ctx: Context) -> Any:
        try:
            return run(ctx)
        except InvalidInputError as exc:
            if ctx.role != catch:
                raise
            return exc, []

    def run(ctx: Context) -> Any:
        log: list[tuple[str, Any]] = []
        if record:
            ctx = recording(ctx, log)
        read = {"path": str(guest if ctx.role == Role.GUEST else host), "id": "id"}
        if ctx.role == Role.GUEST:
            read["label"] = "y"
        data = READER.runners[ctx.role](ctx.sub("reader_0"), READER.params(**read), {})["data"]
        spec = HETERO_FEATURE_BINNING
        out = spec.runners[ctx.role](ctx.sub("binning_0"), spec.params(**params), {"data": data})
        return out, log

    return run_parties(party, ROLES, computing=computing, transport=transport)  # type: ignore[arg-type]


class _Recorder:
    """A federation that records every object this party receives (decoded)."""

    def __init__(self, inner: Any, log: list[tuple[str, Any]]) -> None:
        self._inner, self._log = inner, log

    def get(self, tag: str, parties: Any, timeout: float | None = None) -> list[Any]:
        objs = self._inner.get(tag, parties, timeout)
        self._log.extend((tag, obj) for obj in objs)
        return list(objs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def recording(ctx: Context, log: list[tuple[str, Any]]) -> Context:
    return Context(
        local=ctx.local,
        roster=ctx.roster,
        federation=_Recorder(ctx.federation, log),
        computing=ctx.computing,
        cipher=ctx.cipher,
        metrics=ctx.metrics_sink,
    )


def leaves(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict):
        for value in obj.values():
            yield from leaves(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from leaves(value)
    else:
        yield obj


def check_against_reference(
    results: dict[Party, Any], guest: Path, host: Path, bins: int, method: str
) -> float:
    """Compare every party's bins and the guest's WOE/IV with the plaintext reference."""
    y, g_cols, h_cols = joined(guest, host)
    guest_model: ModelArtifact = results[Party(Role.GUEST, "9999")][0]["model"]
    host_model: ModelArtifact = results[Party(Role.HOST, "10000")][0]["model"]
    worst = 0.0
    sides = [(g_cols, guest_model.meta["features"], None), (h_cols, host_model.meta["features"], 1)]
    for columns, fitted, is_host in sides:
        assert set(fitted) == set(columns)
        for name, values in columns.items():
            points = reference_points(values, bins, method)
            np.testing.assert_array_equal(fitted[name]["split_points"], points)
            ref = reference_woe(values, y, points)
            got = (
                guest_model.meta["host_features"][fitted[name]["anonymous"]]
                if is_host
                else fitted[name]
            )
            assert got["events"] == ref["events"]
            assert [e + n for e, n in zip(got["events"], got["non_events"], strict=True)] == ref[
                "rows"
            ]
            worst = max(worst, float(np.max(np.abs(np.subtract(got["woe"], ref["woe"])))))
            worst = max(worst, abs(got["iv"] - ref["iv"]))
    assert worst <= TOLERANCE
    return worst


# ------------------------------------------------------------------ tests
def test_quantile_points_match_numpy_inverted_cdf() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 7, 100, 1001):
        values = np.round(rng.normal(size=n), 2)
        for bins in (1, 3, 10):
            expected = np.unique(
                np.quantile(values, np.arange(1, bins + 1) / bins, method="inverted_cdf")
            )
            np.testing.assert_array_equal(quantile_points(values, bins), expected)


def test_approximate_quantiles_are_exact_on_small_parts_and_bounded_otherwise() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=20_000)
    parts = np.array_split(values, 4)
    whole = QuantileSummary.merge(
        [QuantileSummary.build(p, 0.001) for p in np.array_split(values[:800], 4)]
    )
    np.testing.assert_array_equal(summary_points(whole, 10), quantile_points(values[:800], 10))
    error = 0.01
    merged = QuantileSummary.merge([QuantileSummary.build(p, error) for p in parts])
    approx = summary_points(merged, 10)
    ranks = np.searchsorted(np.sort(values), approx, side="right")
    wanted = np.array([-(-k * len(values) // 10) for k in range(1, 11)])
    assert np.all(np.abs(ranks - wanted) <= error * len(values) + 1)


def test_bins_handle_constant_all_missing_and_unseen_values() -> None:
    constant = np.full(10, 3.0)
    assert quantile_points(constant, 10).tolist() == [3.0]
    assert bucket_points(constant, 10).tolist() == [3.0]
    assert assign_bins(np.array([2.0, 3.0, 9.0, np.nan]), np.array([3.0])).tolist() == [0, 0, 0, 1]
    empty = np.full(5, np.nan)
    assert quantile_points(empty, 4).size == 0 and bucket_points(empty, 4).size == 0
    assert assign_bins(np.array([np.nan, 1.0]), np.zeros(0)).tolist() == [0, 0]
    table = woe_table(np.array([3, 0]), np.array([10, 0]))  # constant feature: one bin
    assert table.woe.tolist() == [0.0, 0.0] and table.iv == 0.0
    with pytest.raises(InvalidInputError, match="both classes"):
        woe_table(np.array([0, 0]), np.array([4, 1]))


def test_woe_uses_fate_adjustment_for_pure_bins() -> None:
    table = woe_table(np.array([0, 5, 5, 2]), np.array([4, 10, 5, 3]), adjustment=0.5)
    ref = reference_woe(
        np.array([0.0] * 4 + [1.0] * 10 + [2.0] * 5 + [np.nan] * 3),
        np.array([0] * 4 + [1] * 5 + [0] * 5 + [1] * 5 + [1, 1, 0], dtype=float),
        np.array([0.0, 1.0, 2.0]),
    )
    np.testing.assert_allclose(table.woe, ref["woe"], rtol=0, atol=1e-15)
    assert abs(table.iv - ref["iv"]) < 1e-15


@pytest.mark.parametrize(
    ("params", "transport"),
    [
        ({"method": "quantile", "bin_num": 10}, "memory"),
        ({"method": "bucket", "bin_num": 6}, "grpc"),
        # Blocks of < 1/error rows are summarised whole: approximate equals exact here.
        ({"method": "quantile", "bin_num": 8, "quantile_method": "approximate"}, "memory"),
    ],
)
def test_federated_binning_equals_plaintext_on_default_credit_subsample(
    computing: Any, tmp_path: Path, params: dict[str, Any], transport: str
) -> None:
    guest, host = write_pair(tmp_path, 1500)
    results = run_binning(computing, guest, host, params, transport=transport)
    check_against_reference(results, guest, host, params["bin_num"], params["method"])
    guest_out = results[Party(Role.GUEST, "9999")][0]
    assert set(guest_out["model"].meta["host_features"]) == {f"host_10000_f{k}" for k in range(10)}


def test_binning_traffic_holds_no_label_and_no_host_value(computing: Any, tmp_path: Path) -> None:
    guest, host = write_pair(tmp_path, 400)
    y, _, h_cols = joined(guest, host)
    results = run_binning(
        computing, guest, host, {"transform": "woe", "shuffle_host_features": True}, record=True
    )
    guest_log = results[Party(Role.GUEST, "9999")][1]
    host_log = results[Party(Role.HOST, "10000")][1]
    # The host receives ciphertexts of the labels, then WOE per bin (transform: woe) only.
    assert [tag.rsplit(".", 1)[-1] for tag, _ in host_log] == ["labels", "woe"]
    labels_message = host_log[0][1]["labels"]
    assert isinstance(labels_message, EncryptedVector) and len(labels_message) == len(y)
    assert all(int(c) > 2**1000 for c in labels_message.values)  # ciphertexts, not 0/1
    for leaf in leaves(host_log[1][1]):
        assert isinstance(leaf, np.ndarray) and len(leaf) <= 11  # WOE of ≤ 11 bins, no rows
    # The guest receives a digest, then encrypted per-bin sums and per-bin counts only.
    host_values = {float(v) for column in h_cols.values() for v in column}
    for _, message in guest_log:
        for leaf in leaves(message):
            if isinstance(leaf, EncryptedVector):
                assert len(leaf) <= 10 * 11
            elif isinstance(leaf, np.ndarray):
                assert leaf.dtype.kind == "i" and len(leaf) <= 10 * 11
                assert not {float(v) for v in leaf} & host_values - {0.0, 1.0}
            else:
                assert isinstance(leaf, bytes | bool | str) or leaf is None
    host_model = results[Party(Role.HOST, "10000")][0]["model"]
    assert sorted(e["anonymous"] for e in host_model.meta["features"].values()) == sorted(
        f"host_10000_f{k}" for k in range(10)
    )
    # transform: woe on the host maps each value to the guest's WOE of its bin.
    host_data = results[Party(Role.HOST, "10000")][0]["data"]
    guest_model = results[Party(Role.GUEST, "9999")][0]["model"]
    name = host_data.schema.feature_names[0]
    entry = host_model.meta["features"][name]
    woe = guest_model.meta["host_features"][entry["anonymous"]]["woe"]
    got = np.concatenate([b.features[:, 0] for b in host_data.collect_blocks()])
    assert set(np.round(got, 12)) <= set(np.round(woe, 12))


def test_constant_and_all_missing_features_bin_without_dividing_by_zero(
    computing: Any, tmp_path: Path
) -> None:
    guest, host = tmp_path / "g.csv", tmp_path / "h.csv"
    rng = np.random.default_rng(9)
    y = (rng.random(60) < 0.4).astype(int)
    guest.write_text(
        "id,y,g0,gc\n" + "".join(f"u{i},{y[i]},{rng.normal():.4f},7\n" for i in range(60))
    )
    host.write_text("id,h0,hm,hc\n" + "".join(f"u{i},{rng.normal():.4f},,2\n" for i in range(60)))
    results = run_binning(computing, guest, host, {"transform": "bin"})
    guest_model = results[Party(Role.GUEST, "9999")][0]["model"]
    host_model = results[Party(Role.HOST, "10000")][0]["model"]
    assert guest_model.meta["features"]["gc"]["iv"] == 0.0
    assert host_model.meta["features"]["hm"]["split_points"] == []
    assert host_model.meta["features"]["hc"]["split_points"] == [2.0]
    for entry in guest_model.meta["host_features"].values():
        assert np.all(np.isfinite(entry["woe"])) and math.isfinite(entry["iv"])
    missing = guest_model.meta["host_features"][host_model.meta["features"]["hm"]["anonymous"]]
    assert missing["iv"] == 0.0 and missing["events"] == [int(y.sum())]
    host_data = results[Party(Role.HOST, "10000")][0]["data"]
    assert host_data.schema.feature_dtypes == ("int64", "int64", "int64")


def test_a_guest_error_reaches_the_host_without_the_labels(computing: Any, tmp_path: Path) -> None:
    guest, host = tmp_path / "g.csv", tmp_path / "h.csv"
    guest.write_text("id,y,g0\n" + "".join(f"u{i},{i % 3},{i}\n" for i in range(30)))
    host.write_text("id,h0\n" + "".join(f"u{i},{i}\n" for i in range(30)))
    with pytest.raises(PartyFailedError) as info:
        run_binning(computing, guest, host, {}, catch=Role.GUEST)
    host_error = str(info.value.error)
    assert info.value.party == Party(Role.HOST, "10000")
    assert "InvalidInputError on the guest" in host_error and "[0, 1, 2]" not in host_error
    with pytest.raises(PartyFailedError) as info:
        run_binning(computing, guest, host, {})
    assert "binary labels 0/1; the label has values [0, 1, 2]" in str(info.value.error)


def test_unknown_binning_column_is_named(computing: Any, tmp_path: Path) -> None:
    guest, host = write_pair(tmp_path, 50)
    with pytest.raises(PartyFailedError) as info:
        run_binning(computing, guest, host, {"columns": ["x0", "x10"]}, catch=Role.HOST)
    assert info.value.party == Party(Role.GUEST, "9999")  # the host (x0..x9) lacks x10
    assert "UnknownColumnError on host:10000" in str(info.value.error)
    with pytest.raises(PartyFailedError) as info:
        run_binning(computing, guest, host, {"columns": ["x0", "x10"]})
    host_error = info.value.others[Party(Role.HOST, "10000")]
    assert "no feature column named 'x10'" in str(host_error)


def test_a_saved_model_transforms_new_data_without_communication(
    computing: Any, tmp_path: Path
) -> None:
    guest, host = write_pair(tmp_path, 300)
    results = run_binning(computing, guest, host, {"transform": "woe"})
    saved = {}
    for party, (out, _) in results.items():
        path = out["model"].save(tmp_path / "models", party.role.value)
        saved[party.role] = (path, out["data"])

    def party(ctx: Context) -> Any:
        path, expected = saved[ctx.role]
        read = {"path": str(guest if ctx.role == Role.GUEST else host), "id": "id"}
        if ctx.role == Role.GUEST:
            read["label"] = "y"
        data = READER.runners[ctx.role](ctx.sub("r"), READER.params(**read), {})["data"]
        spec = HETERO_FEATURE_BINNING
        params = spec.params(transform="woe")
        out = spec.runners[ctx.role](ctx.sub("b"), params, {"data": data, "model": str(path)})
        got = np.vstack([b.features for b in out["data"].collect_blocks()])
        want = np.vstack([b.features for b in expected.collect_blocks()])
        return bool(np.array_equal(got, want))

    assert all(run_parties(party, {"guest": 9999}, computing=computing).values())
    assert all(run_parties(party, {"host": 10000}, computing=computing).values())


def test_two_hosts_each_get_anonymous_woe_iv(computing: Any, tmp_path: Path) -> None:
    source = (DATA / "breast_hetero_host.csv").read_text().splitlines()
    paths = {}
    for party_id, columns in (("10000", range(1, 11)), ("10001", range(11, 21))):
        rows = [line.split(",") for line in source]
        path = tmp_path / f"h{party_id}.csv"
        path.write_text("\n".join(",".join([r[0]] + [r[j] for j in columns]) for r in rows) + "\n")
        paths[party_id] = path
    guest = DATA / "breast_hetero_guest.csv"

    def party(ctx: Context) -> Any:
        path = guest if ctx.role == Role.GUEST else paths[ctx.local.party_id]
        read = {"path": str(path), "id": "id", "label": "y" if ctx.role == Role.GUEST else None}
        data = READER.runners[ctx.role](ctx.sub("r"), READER.params(**read), {})["data"]
        spec = HETERO_FEATURE_BINNING
        return spec.runners[ctx.role](ctx.sub("b"), spec.params(bin_num=5), {"data": data})["model"]

    models = run_parties(party, {"guest": 9999, "host": [10000, 10001]}, computing=computing)
    host_features = models[Party(Role.GUEST, "9999")].meta["host_features"]
    assert len(host_features) == 20
    for party_id, path in paths.items():
        y, _, h_cols = joined(guest, path)
        fitted = models[Party(Role.HOST, party_id)].meta["features"]
        for name, values in h_cols.items():
            ref = reference_woe(values, y, reference_points(values, 5, "quantile"))
            got = host_features[fitted[name]["anonymous"]]
            assert fitted[name]["anonymous"].startswith(f"host_{party_id}_f")
            assert abs(got["iv"] - ref["iv"]) <= TOLERANCE and got["events"] == ref["events"]
