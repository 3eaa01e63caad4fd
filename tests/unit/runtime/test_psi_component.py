"""The psi component: exact intersection of FATE's breast ids, in one process or on the pool."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pytest

from chaihuo.components.builtin import _psi
from chaihuo.components.builtin._psi import PSI
from chaihuo.components.builtin._reader import READER
from chaihuo.computing import LocalComputing
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml import dataset_arrays
from chaihuo.runtime import Context
from chaihuo.testing import run_parties

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"


def _ids(path: Path) -> set[str]:
    return {line.split(",")[0] for line in path.read_text().splitlines()[1:] if line}


@pytest.mark.parametrize("parallel_from", [10**9, 1], ids=["one-process", "worker-pool"])
def test_psi_component_finds_exactly_the_common_ids(
    computing: Callable[[Party], LocalComputing],
    monkeypatch: pytest.MonkeyPatch,
    parallel_from: int,
) -> None:
    monkeypatch.setattr(_psi, "PARALLEL_FROM", parallel_from)
    used: list[bool] = []
    choose = _psi._executor

    def spy(ctx: Context, ids: list[str | bytes]) -> Executor | None:
        executor = choose(ctx, ids)
        used.append(executor is not None)
        return executor

    monkeypatch.setattr(_psi, "_executor", spy)
    files = {Role.GUEST: "vehicle_scale_hetero_guest.csv", Role.HOST: "breast_hetero_host.csv"}

    def party(ctx: Context) -> Any:
        reader = {"path": str(DATA / files[ctx.role]), "id": "id"}
        data = READER.runners[ctx.role](ctx.sub("reader"), READER.params(**reader), {})
        params = PSI.params(share_with_hosts=True)
        out = PSI.runners[ctx.role](ctx.sub("psi"), params, {"data": data["data"]})
        return sorted(str(key) for key in dataset_arrays(out["data"]).ids.tolist())

    results = run_parties(party, {"guest": 9999, "host": 10000}, computing=computing)
    expected = sorted(_ids(DATA / files[Role.GUEST]) & _ids(DATA / files[Role.HOST]))
    assert expected and results[Party(Role.GUEST, "9999")] == expected
    assert results[Party(Role.HOST, "10000")] == expected
    assert used == [parallel_from == 1] * 2
