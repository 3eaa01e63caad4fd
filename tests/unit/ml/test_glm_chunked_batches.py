"""A batch larger than CHUNK_ROWS streams chunk by chunk: the same model and losses, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _glm_testkit import PartyInputs, run_glm, synthetic

from chaihuo.core import Role
from chaihuo.ml.glm import LINEAR, LOGISTIC, POISSON, GlmParams, fit_plaintext
from chaihuo.ml.glm._family import Family, sigmoid
from chaihuo.ml.vertical import _schedule, row_chunks


def test_chunks_cover_the_batch_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = np.arange(7, 107, dtype=np.int64)
    chunks = row_chunks(rows)
    assert len(chunks) == 1 and np.array_equal(chunks[0], rows)
    monkeypatch.setattr(_schedule, "CHUNK_ROWS", 30)
    chunks = row_chunks(rows)
    assert [len(c) for c in chunks] == [25] * 4  # near-equal, none above the limit
    assert np.array_equal(np.concatenate(chunks), rows)


def _run(tmp: Path, family: Family, hosts: int, chunk: int, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_schedule, "CHUNK_ROWS", chunk)
    ids, gx, hxs, u = synthetic(240, 3, [2] * hosts, seed=11)
    rng = np.random.default_rng(12)
    if family is LOGISTIC:
        y = (rng.random(240) < sigmoid(u)).astype(np.int64)
    elif family is POISSON:
        y = rng.poisson(np.exp(0.3 * u)).astype(np.float64)
    else:
        y = u + rng.normal(size=240)
    params = GlmParams(epochs=2, batch_size=120, learning_rate=0.2, random_seed=4, tol=0.0)
    results = run_glm(tmp, family, params, PartyInputs(train=(ids, gx, y)),
                      [PartyInputs(train=(ids, hx, None)) for hx in hxs])  # fmt: skip
    guest = next(v for p, v in results.items() if p.role == Role.GUEST)
    return guest, (ids, gx, hxs, y, params)


@pytest.mark.parametrize(("family", "hosts"), [(LOGISTIC, 2), (LINEAR, 1), (POISSON, 1)])
def test_streamed_batches_equal_whole_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, family: Family, hosts: int
) -> None:
    whole, (ids, gx, hxs, y, params) = _run(tmp_path / "whole", family, hosts, 1 << 20,
                                            monkeypatch)  # fmt: skip
    streamed, _ = _run(tmp_path / "streamed", family, hosts, 25, monkeypatch)  # 5 per batch
    for name in ("weights", "intercept"):
        np.testing.assert_array_equal(whole["model"].arrays[name], streamed["model"].arrays[name])
    # the loss adds one fixed-point rounding of its plaintext part per chunk (2^-48 each)
    np.testing.assert_allclose(
        whole["model"].meta["loss_history"], streamed["model"].meta["loss_history"], rtol=1e-9
    )
    position = {key: i for i, key in enumerate(ids.tolist())}
    order = np.array([position[key] for key in streamed["predictions"].ids.tolist()])
    classes = [0, 1] if family is LOGISTIC else None
    fit = fit_plaintext(family, params, gx[order], y[order], [hx[order] for hx in hxs], seed=4,
                        classes=classes)  # fmt: skip
    np.testing.assert_allclose(streamed["model"].arrays["weights"], fit.guest, atol=1e-6)
