"""Hetero feature selection: IV rules across parties on anonymous host columns, local rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chaihuo.components.builtin._hetero_feature_binning import HETERO_FEATURE_BINNING
from chaihuo.components.builtin._hetero_feature_selection import HETERO_FEATURE_SELECTION
from chaihuo.components.builtin._reader import READER
from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Party
from chaihuo.ml.feature import UnknownColumnError
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"
GUEST, HOST = Party(Role.GUEST, "9999"), Party(Role.HOST, "10000")
ROLES = {"guest": 9999, "host": 10000}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 400-row default_credit pair (same ids), with a constant and an empty host column."""
    tmp = tmp_path_factory.mktemp("pair")
    g_lines = (DATA / "default_credit_hetero_guest.csv").read_text().splitlines()[:401]
    h_all = (DATA / "default_credit_hetero_host.csv").read_text().splitlines()
    wanted = {line.split(",")[0] for line in g_lines[1:]}
    h_lines = [h_all[0] + ",hc,hm"]
    h_lines += [f"{line},3," for line in h_all[1:] if line.split(",")[0] in wanted]
    guest, host = tmp / "g.csv", tmp / "h.csv"
    guest.write_text("\n".join(g_lines) + "\n")
    host.write_text("\n".join(h_lines) + "\n")
    return guest, host


class _Recorder:
    def __init__(self, inner: Any, log: list[Any]) -> None:
        self._inner, self._log = inner, log

    def get(self, tag: str, parties: Any, timeout: float | None = None) -> list[Any]:
        objs = list(self._inner.get(tag, parties, timeout))
        self._log.extend((tag, o) for o in objs)
        return objs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _run(
    computing: Any,
    pair: tuple[Path, Path],
    params: dict[str, Any] | None = None,
    *,
    host_params: dict[str, Any] | None = None,
    binning: bool = True,
) -> dict[Party, Any]:
    def party(ctx: Context) -> Any:
        read: dict[str, Any] = {"path": str(pair[0] if ctx.role == Role.GUEST else pair[1])}
        read["id"] = "id"
        if ctx.role == Role.GUEST:
            read["label"] = "y"
        data = READER.runners[ctx.role](ctx.sub("r"), READER.params(**read), {})["data"]
        inputs: dict[str, Any] = {"data": data}
        if binning:
            spec = HETERO_FEATURE_BINNING
            fitted = spec.runners[ctx.role](ctx.sub("b"), spec.params(), inputs)
            inputs["binning_model"] = fitted["model"]
        log: list[Any] = []
        sctx = Context(
            local=ctx.local,
            roster=ctx.roster,
            federation=_Recorder(ctx.federation, log),
            computing=ctx.computing,
            cipher=ctx.cipher,
            metrics=ctx.metrics_sink,
        ).sub("s")
        mine = host_params if ctx.role == Role.HOST and host_params is not None else params
        spec = HETERO_FEATURE_SELECTION
        out = spec.runners[ctx.role](sctx, spec.params(**(mine or {})), inputs)
        return out, inputs.get("binning_model"), log

    return run_parties(party, ROLES, computing=computing)


def test_iv_top_k_ranks_guest_and_anonymous_host_columns_together(
    computing: Any, pair: tuple[Path, Path]
) -> None:
    results = _run(computing, pair, {"iv_top_k": 8})
    (g_out, g_bins, g_log), (h_out, h_bins, h_log) = results[GUEST], results[HOST]
    iv = {n: e["iv"] for n, e in g_bins.meta["features"].items()}
    iv.update({n: e["iv"] for n, e in g_bins.meta["host_features"].items()})
    top = sorted(iv, key=lambda n: (-iv[n], n))[:8]
    anonymous = {e["anonymous"]: n for n, e in h_bins.meta["features"].items()}
    guest_top = list(g_out["data"].schema.feature_names)
    host_top = [anonymous[a] for a in top if a.startswith("host_")]
    assert set(guest_top) == {n for n in top if not n.startswith("host_")}
    assert set(h_out["data"].schema.feature_names) == set(host_top)
    assert g_out["model"].meta["host_kept"]["10000"] == [a for a in sorted(anonymous) if a in top]
    # The guest hears anonymous names only; the host hears which of them it keeps.
    for _, message in g_log:
        assert all(re.fullmatch(r"host_10000_f\d+", n) for n in message["names"])
    assert set(h_log[0][1]["keep"]) <= set(anonymous)


def test_iv_threshold_and_statistics_rules(computing: Any, pair: tuple[Path, Path]) -> None:
    params = {"iv_threshold": 0.05, "min_std": 0.0, "max_missing_ratio": 0.5, "min_unique": 3}
    results = _run(computing, pair, params)
    (g_out, g_bins, _), (h_out, h_bins, _) = results[GUEST], results[HOST]
    ivs = {n: e["iv"] for n, e in g_bins.meta["features"].items()}
    expected = {n for n, v in ivs.items() if v >= 0.05}
    assert set(g_out["data"].schema.feature_names) == expected
    host_dropped = h_out["model"].meta["dropped"]
    assert host_dropped["hc"].startswith("std 0") and host_dropped["hm"].startswith("missing")
    host_ivs = {
        n: g_bins.meta["host_features"][e["anonymous"]]["iv"]
        for n, e in h_bins.meta["features"].items()
        if n not in ("hc", "hm")
    }
    assert set(h_out["data"].schema.feature_names) == {n for n, v in host_ivs.items() if v >= 0.05}


def test_manual_rules_and_reusing_the_model(computing: Any, pair: tuple[Path, Path]) -> None:
    results = _run(
        computing,
        pair,
        {"keep": ["x0", "x1", "x2"], "drop": ["x1"]},
        host_params={"drop": ["x3", "hm"]},
        binning=False,
    )
    g_out, h_out = results[GUEST][0], results[HOST][0]
    assert g_out["data"].schema.feature_names == ("x0", "x2")
    assert "x3" not in h_out["data"].schema.feature_names
    assert len(h_out["data"].schema.feature_names) == 10

    def party(ctx: Context) -> Any:
        read = {"path": str(pair[0] if ctx.role == Role.GUEST else pair[1]), "id": "id"}
        data = READER.runners[ctx.role](ctx.sub("r"), READER.params(**read), {})["data"]
        model = (g_out if ctx.role == Role.GUEST else h_out)["model"]
        spec = HETERO_FEATURE_SELECTION
        out = spec.runners[ctx.role](ctx.sub("s"), spec.params(), {"data": data, "model": model})
        return out["data"].schema.feature_names

    assert run_parties(party, {"guest": 1}, computing=computing)[Party(Role.GUEST, "1")] == (
        "x0",
        "x2",
    )


def test_a_column_that_does_not_exist_is_named(computing: Any, pair: tuple[Path, Path]) -> None:
    with pytest.raises(PartyFailedError) as info:
        _run(computing, pair, {"keep": ["x0", "x99"]}, binning=False)
    assert isinstance(info.value.error, UnknownColumnError)
    assert "'x99'" in str(info.value.error)


def test_iv_rules_without_a_binning_model_fail_clearly(
    computing: Any, pair: tuple[Path, Path]
) -> None:
    with pytest.raises(PartyFailedError) as info:
        _run(computing, pair, {"iv_top_k": 3}, binning=False)
    assert isinstance(info.value.error, InvalidInputError)
    assert "binning model" in str(info.value.error)
