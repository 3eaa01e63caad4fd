"""Quality: federated binning / WOE / IV on default_credit equals the plaintext computation."""

# The quality table: binning / WOE / IV on default_credit equal to the plaintext
# computation within 1e-9. The federated pipeline (reader → psi → hetero_feature_binning,
# Paillier 2048-bit) is compared, feature by feature and party by party, with split points,
# bin counts, WOE and IV written out in plain numpy on guest ⋈ host. The regular tier runs a
# 2000-row subsample; the full 30,000 rows run in the slow tier (make quality).

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chaihuo.components.builtin._hetero_feature_binning import HETERO_FEATURE_BINNING
from chaihuo.components.builtin._psi import PSI
from chaihuo.components.builtin._reader import READER
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.runtime import Context
from chaihuo.testing import local_sessions, run_parties

DATA = Path(__file__).resolve().parents[2] / "data" / "fate-examples"
TOLERANCE = 1e-9


@pytest.fixture
def computing(tmp_path: Path) -> Iterator[Any]:
    """Per-party sessions with two workers (the binning runs partition-parallel)."""
    with local_sessions(tmp_path, workers=2) as make:
        yield make


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def _files(tmp: Path, rows: int | None) -> tuple[Path, Path]:
    """The full pair, or the first `rows` guest rows with a host holding those ids and as many
    again that the guest lacks (so psi has something to remove)."""
    guest = DATA / "default_credit_hetero_guest.csv"
    host = DATA / "default_credit_hetero_host.csv"
    if rows is None:
        return guest, host
    g_header, g_rows = _table(guest)
    h_header, h_rows = _table(host)
    wanted = {r[0] for r in g_rows[:rows]}
    others = [r for r in h_rows if r[0] not in wanted][:rows]
    g_sub, h_sub = tmp / "guest_sub.csv", tmp / "host_sub.csv"
    g_sub.write_text("\n".join(",".join(r) for r in [g_header, *g_rows[:rows]]) + "\n")
    host_rows = [r for r in h_rows if r[0] in wanted] + others
    h_sub.write_text("\n".join(",".join(r) for r in [h_header, *host_rows]) + "\n")
    return g_sub, h_sub


def _reference(values: np.ndarray, y: np.ndarray, bins: int, method: str) -> dict[str, Any]:
    if method == "bucket":
        low, high = values.min(), values.max()
        points = np.unique([*(low + k * (high - low) / bins for k in range(1, bins)), high])
    else:
        levels = [k / bins for k in range(1, bins + 1)]
        points = np.unique(np.quantile(values, levels, method="inverted_cdf"))
    index = np.minimum(np.searchsorted(points, values, side="left"), len(points) - 1)
    events = np.bincount(index, weights=y, minlength=len(points)).astype(int)
    rows = np.bincount(index, minlength=len(points))
    total_e, total_n = events.sum(), (rows - events).sum()
    woe, iv = [], 0.0
    for e, r in zip(events.tolist(), rows.tolist(), strict=True):
        n = r - e
        shift = 0.5 if e == 0 or n == 0 else 0.0
        er, nr = (e + shift) / total_e, (n + shift) / total_n
        woe.append(math.log(er / nr))
        iv += (er - nr) * woe[-1]
    # no missing values in default_credit: the missing bin is empty, WOE 0, no IV term
    return {"points": points, "events": [*events.tolist(), 0], "woe": [*woe, 0.0], "iv": iv}


def _run(computing: Any, guest: Path, host: Path, params: dict[str, Any]) -> dict[Party, Any]:
    def party(ctx: Context) -> Any:
        read: dict[str, Any] = {"path": str(guest if ctx.role == Role.GUEST else host)}
        read.update({"id": "id", "partitions": 4})
        if ctx.role == Role.GUEST:
            read["label"] = "y"
        data = READER.runners[ctx.role](ctx.sub("reader_0"), READER.params(**read), {})["data"]
        psi = PSI.runners[ctx.role](
            ctx.sub("psi_0"), PSI.params(share_with_hosts=True), {"data": data}
        )
        spec = HETERO_FEATURE_BINNING
        return spec.runners[ctx.role](ctx.sub("binning_0"), spec.params(**params), psi)["model"]

    return run_parties(party, {"guest": 9999, "host": 10000}, computing=computing, timeout_s=600)


def _compare(models: dict[Party, Any], guest: Path, host: Path, bins: int, method: str) -> float:
    g_header, g_rows = _table(guest)
    h_header, h_rows = _table(host)
    by_id = {r[0]: r for r in h_rows}
    y = np.array([float(r[1]) for r in g_rows])
    guest_model, host_model = models[Party(Role.GUEST, "9999")], models[Party(Role.HOST, "10000")]
    worst = 0.0
    columns = [
        (n, np.array([float(r[j]) for r in g_rows]), None) for j, n in enumerate(g_header) if j > 1
    ]
    columns += [
        (n, np.array([float(by_id[r[0]][j]) for r in g_rows]), True)
        for j, n in enumerate(h_header)
        if j
    ]
    for name, values, is_host in columns:
        ref = _reference(values, y, bins, method)
        fitted = (host_model if is_host else guest_model).meta["features"][name]
        np.testing.assert_array_equal(fitted["split_points"], ref["points"])
        got = guest_model.meta["host_features"][fitted["anonymous"]] if is_host else fitted
        assert got["events"] == ref["events"], name
        worst = max(worst, float(np.max(np.abs(np.subtract(got["woe"], ref["woe"])))))
        worst = max(worst, abs(got["iv"] - ref["iv"]))
    return worst


def _check(computing: Any, tmp: Path, rows: int | None, method: str, bins: int) -> None:
    guest, host = _files(tmp, rows)
    started = time.perf_counter()
    models = _run(computing, guest, host, {"method": method, "bin_num": bins})
    seconds = time.perf_counter() - started
    worst = _compare(models, guest, host, bins, method)
    size = rows or 30000
    print(f"\ndefault_credit rows={size} {method}: max |Δ| WOE/IV {worst:.3g} ({seconds:.1f} s)")
    assert worst <= TOLERANCE


def test_binning_woe_iv_on_a_default_credit_subsample(computing: Any, tmp_path: Path) -> None:
    _check(computing, tmp_path, 2000, "quantile", 10)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["quantile", "bucket"])
def test_binning_woe_iv_on_all_of_default_credit(
    computing: Any, tmp_path: Path, method: str
) -> None:
    _check(computing, tmp_path, None, method, 10)
