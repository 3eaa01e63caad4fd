"""Training loops report epoch and batch progress; a run stopped early still ends complete."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from _glm_testkit import PartyInputs, run_glm, synthetic

from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml.glm import LOGISTIC, GlmParams
from chaihuo.ml.sshe import SsheParams, run_guest, run_host
from chaihuo.runtime import Context, ProgressRecord
from chaihuo.testing import local_sessions, run_parties

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "quality"))
from _sshe_fixtures import TEST_KEYS, dataset
from _sshe_fixtures import synthetic as sshe_pair


def _stage(records: list[ProgressRecord], stage: str) -> list[tuple[int, int | None]]:
    return [(r.done, r.total) for r in records if r.stage == stage]


def _check(records: list[ProgressRecord], epochs_run: int, epochs: int, batches: int) -> None:
    epoch = _stage(records, "epoch")
    assert epoch[0] == (0, epochs)  # the first report of a stage is never throttled
    assert epoch[-1] == (epochs_run, epochs_run)  # final: done == total, even if stopped early
    assert all(done <= epochs_run for done, _ in epoch)
    batch = _stage(records, "batch")
    assert batch[-1] == (batches, batches)
    assert {total for _, total in batch} == {batches}


def test_glm_guest_and_host_report_epochs_and_batches(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(120, 2, [3], seed=4)
    y = (u > 0).astype(np.int64)
    params = GlmParams(epochs=3, batch_size=40, random_seed=2, tol=0.0)
    sinks: dict[Role, Any] = {}

    def keep(ctx: Context) -> Context:
        sinks[ctx.role] = ctx.metrics_sink
        return ctx

    guest_inputs, host_inputs = PartyInputs(train=(ids, gx, y)), PartyInputs(train=(ids, hx, None))
    run_glm(tmp_path, LOGISTIC, params, guest_inputs, [host_inputs], wrap=keep)
    for role in (Role.GUEST, Role.HOST):
        records = sinks[role].progress_records("glm")
        assert {r.namespace for r in records} == {"glm.model.0"}
        _check(records, epochs_run=3, epochs=3, batches=3)


def test_glm_stopped_by_convergence_reports_a_complete_run(tmp_path: Path) -> None:
    ids, gx, (hx,), u = synthetic(120, 2, [3], seed=4)
    y = (u > 0).astype(np.int64)
    params = GlmParams(epochs=50, batch_size=-1, random_seed=2, tol=10.0)  # stops after one
    sinks: dict[Role, Any] = {}

    def keep(ctx: Context) -> Context:
        sinks[ctx.role] = ctx.metrics_sink
        return ctx

    guest_inputs, host_inputs = PartyInputs(train=(ids, gx, y)), PartyInputs(train=(ids, hx, None))
    results = run_glm(tmp_path, LOGISTIC, params, guest_inputs, [host_inputs], wrap=keep)
    guest = next(v for p, v in results.items() if p.role == Role.GUEST)
    epochs_run = guest["model"].meta["epochs"][0]
    assert epochs_run < 50
    for role in (Role.GUEST, Role.HOST):
        _check(sinks[role].progress_records("glm"), epochs_run, epochs=50, batches=1)


def test_sshe_guest_and_host_report_epochs_and_batches(tmp_path: Path) -> None:
    pair = sshe_pair(90, 3, 4, seed=11)
    params = SsheParams(epochs=2, batch_size=40, random_seed=7, tol=0)

    def party(ctx: Context) -> list[ProgressRecord]:
        guest = ctx.role == Role.GUEST
        x = pair.guest_x if guest else pair.host_x
        inputs = {"train": dataset(ctx.computing, pair.ids, x, pair.y if guest else None)}
        (run_guest if guest else run_host)(ctx.sub("sshe"), params, inputs)
        return ctx.metrics_sink.progress_records("sshe")

    with local_sessions(tmp_path) as computing:
        results = run_parties(
            party, {"guest": 9999, "host": 10000}, security=TEST_KEYS, computing=computing
        )
    for party_id in (Party(Role.GUEST, "9999"), Party(Role.HOST, "10000")):
        records = results[party_id]
        assert {r.namespace for r in records} == {"sshe.model.0"}
        _check(records, epochs_run=2, epochs=2, batches=3)
