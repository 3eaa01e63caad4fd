"""Bad input to the GLM family: every party stops with an error naming the cause, none hangs."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from _glm_testkit import PartyInputs, by_role, run_glm, synthetic

from chaihuo.core import ChaihuoError, Role
from chaihuo.federation import Federation, Party, ReceiveTimeoutError
from chaihuo.ml.glm import LOGISTIC, POISSON, GlmParams
from chaihuo.runtime import Context

PARAMS = GlmParams(epochs=2, random_seed=1)


def _data(rows: int = 60, host_features: int = 2):
    ids, gx, (hx,), u = synthetic(rows, 2, [host_features])
    return ids, gx, hx, (u > 0).astype(np.int64)


def _errors(results: dict[Party, object]) -> dict[Role, str]:
    for party, outcome in results.items():
        assert isinstance(outcome, ChaihuoError), f"{party} did not fail: {outcome!r}"
    return {party.role: str(outcome) for party, outcome in results.items()}


def test_label_column_on_the_host_is_refused_everywhere(tmp_path: Path) -> None:
    ids, gx, hx, y = _data()
    results = run_glm(
        tmp_path, LOGISTIC, PARAMS, PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(ids, hx, y))], catch=True,
    )  # fmt: skip
    errors = _errors(results)
    for role, message in errors.items():
        assert "label column" in message and "only the guest" in message, role
    # the column's name is the host's own; the others read the cause without it
    assert "label column 'y'" in errors[Role.HOST]
    assert all("'y'" not in errors[role] for role in (Role.GUEST, Role.ARBITER))


def test_all_missing_feature_is_refused_with_its_reason(tmp_path: Path) -> None:
    ids, gx, hx, y = _data()
    hx = hx.copy()
    hx[:, 1] = np.nan
    results = run_glm(
        tmp_path, LOGISTIC, PARAMS, PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(ids, hx, None))], catch=True,
    )  # fmt: skip
    errors = _errors(results)
    for message in errors.values():
        assert "missing or infinite values" in message and "fill them" in message
    # names and counts stay with the host
    assert "1 all-missing" in errors[Role.HOST] and "x1" in errors[Role.HOST]
    assert "all-missing" not in errors[Role.GUEST] and "x1" not in errors[Role.GUEST]


def test_constant_feature_is_kept_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids, gx, hx, y = _data()
    gx = gx.copy()
    gx[:, 0] = 3.0
    with caplog.at_level(logging.WARNING, logger="chaihuo.ml.glm"):
        results = run_glm(
            tmp_path, LOGISTIC, PARAMS, PartyInputs(train=(ids, gx, y)),
            [PartyInputs(train=(ids, hx, None))],
        )  # fmt: skip
    assert "1 constant feature column(s) ['x0']" in caplog.text
    assert np.all(np.isfinite(by_role(results, Role.GUEST)["model"].arrays["weights"]))


def test_rows_not_aligned(tmp_path: Path) -> None:
    ids, gx, hx, y = _data()
    other = np.array([f"v{i}" for i in range(len(ids))], dtype=object)
    results = run_glm(
        tmp_path, LOGISTIC, PARAMS, PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(other, hx, None))], catch=True,
    )  # fmt: skip
    for message in _errors(results).values():
        assert "not aligned" in message and "psi" in message


def test_parameters_that_differ_between_parties(tmp_path: Path) -> None:
    ids, gx, hx, y = _data()
    params = {Role.GUEST: PARAMS, Role.HOST: PARAMS.model_copy(update={"epochs": 5}),
              Role.ARBITER: PARAMS}  # fmt: skip
    results = run_glm(
        tmp_path, LOGISTIC, params, PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(ids, hx, None))], catch=True,
    )  # fmt: skip
    for message in _errors(results).values():
        assert "epochs host=5 guest=2" in message


def test_batches_smaller_than_a_hosts_feature_count(tmp_path: Path) -> None:
    ids, gx, hx, y = _data(rows=40, host_features=12)
    params = PARAMS.model_copy(update={"batch_size": 10})
    results = run_glm(
        tmp_path, LOGISTIC, params, PartyInputs(train=(ids, gx, y)),
        [PartyInputs(train=(ids, hx, None))], catch=True,
    )  # fmt: skip
    for message in _errors(results).values():
        assert "holds more features than the smallest batch has rows" in message


def test_poisson_with_two_hosts_is_refused(tmp_path: Path) -> None:
    ids, gx, (h1, h2), _ = synthetic(50, 2, [2, 2])
    y = np.ones(50)
    hosts = [PartyInputs(train=(ids, h1, None)), PartyInputs(train=(ids, h2, None))]
    results = run_glm(tmp_path, POISSON, PARAMS, PartyInputs(train=(ids, gx, y)), hosts, catch=True)
    for message in _errors(results).values():
        assert "supports one host" in message


def test_predicting_without_a_model(tmp_path: Path) -> None:
    ids, gx, hx, y = _data()
    results = run_glm(
        tmp_path, LOGISTIC, GlmParams(epochs=0), PartyInputs(test=(ids, gx, y)),
        [PartyInputs(test=(ids, hx, None))], catch=True,
    )  # fmt: skip
    for message in _errors(results).values():
        assert "needs a `model` input" in message


class _SilentAfter(Federation):
    """A federation that stops sending once a tag of `epoch.<n>` comes up (a host gone mute)."""

    def __init__(self, inner: Federation, marker: str) -> None:
        self.inner, self.marker = inner, marker

    @property
    def job_id(self) -> str:
        return self.inner.job_id

    @property
    def local(self) -> Party:
        return self.inner.local

    def remote(self, obj: object, tag: str, to: Sequence[Party]) -> None:
        if self.marker not in tag:
            self.inner.remote(obj, tag, to)

    def get(self, tag: str, frm: Sequence[Party], timeout: float | None = None) -> list[object]:
        return self.inner.get(tag, frm, timeout)

    def close(self) -> None:
        self.inner.close()


def test_a_host_that_goes_silent_mid_training(tmp_path: Path) -> None:
    ids, gx, hx, y = _data()

    def mute_host(ctx: Context) -> Context:
        if ctx.role != Role.HOST:
            return ctx
        return Context(
            local=ctx.local, roster=ctx.roster, federation=_SilentAfter(ctx.federation, "epoch.1"),
            computing=ctx.computing, cipher=ctx.cipher, metrics=ctx.metrics_sink,
        )  # fmt: skip

    started = time.monotonic()
    results = run_glm(
        tmp_path, LOGISTIC, GlmParams(epochs=3, random_seed=1, tol=0.0),
        PartyInputs(train=(ids, gx, y)), [PartyInputs(train=(ids, hx, None))],
        timeout_s=2.0, wrap=mute_host, catch=True,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    guest_error = by_role(results, Role.GUEST)
    assert isinstance(guest_error, ReceiveTimeoutError)
    assert "host:10 sent no 'forward' before the deadline" in str(guest_error)
    assert "went silent" in str(guest_error)
    for outcome in results.values():
        assert isinstance(outcome, ReceiveTimeoutError)
