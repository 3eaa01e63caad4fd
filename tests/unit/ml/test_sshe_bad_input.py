"""hetero_sshe_lr bad input: every party stops with a typed error naming the cause, or a
deadline fires — nobody hangs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "quality"))
from _pairs import Pair
from _sshe_fixtures import TEST_KEYS, dataset, lingering, run_sshe, synthetic

from chaihuo.core import ChaihuoError, InvalidInputError, Role
from chaihuo.federation import Party, ReceiveTimeoutError
from chaihuo.ml.sshe import SsheParams, TrainingDivergedError, run_guest
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, local_sessions, run_parties

PAIR = synthetic(60, 2, 3, seed=9)
GUEST, HOST = Party(Role.GUEST, "9999"), Party(Role.HOST, "10000")


def _failures(run: object) -> dict[Party, BaseException]:
    with pytest.raises(PartyFailedError) as info:
        run()  # type: ignore[operator]
    errors = dict(info.value.others)
    errors[info.value.party] = info.value.error
    return errors


def test_a_label_on_the_host_stops_both_parties(tmp_path: Path) -> None:
    errors = _failures(lambda: run_sshe(tmp_path, {"epochs": 1}, PAIR, security=TEST_KEYS,
                                        host_label=True))  # fmt: skip
    assert set(errors) == {GUEST, HOST}
    for error in errors.values():
        assert isinstance(error, InvalidInputError) and "label column" in str(error)
    assert "label column 'y'" in str(errors[HOST]) and "'y'" not in str(errors[GUEST])


def test_rows_not_aligned_by_psi_stop_both_parties(tmp_path: Path) -> None:
    other = PAIR.rows(np.arange(60))
    other.ids = np.array([f"v{i}" for i in range(60)], dtype=object)

    def mismatched() -> None:
        def party(ctx: Context) -> object:
            pair = PAIR if ctx.role == Role.GUEST else other
            x = pair.guest_x if ctx.role == Role.GUEST else pair.host_x
            train = dataset(ctx.computing, pair.ids, x, pair.y if ctx.role == Role.GUEST else None)
            from chaihuo.ml.sshe import run_host  # noqa: PLC0415

            run = run_guest if ctx.role == Role.GUEST else run_host
            return run(ctx.sub("sshe"), SsheParams(epochs=1), {"train": train})

        with local_sessions(tmp_path) as computing:
            run_parties(lingering(party), {"guest": 9999, "host": 10000}, security=TEST_KEYS,
                        computing=computing)  # fmt: skip

    errors = _failures(mismatched)
    assert set(errors) == {GUEST, HOST}
    for error in errors.values():
        assert isinstance(error, InvalidInputError) and "run psi" in str(error)


def test_disagreeing_parameters_stop_both_parties(tmp_path: Path) -> None:
    def run() -> None:
        def party(ctx: Context) -> object:
            from chaihuo.ml.sshe import run_host  # noqa: PLC0415

            guest = ctx.role == Role.GUEST
            train = dataset(ctx.computing, PAIR.ids, PAIR.guest_x if guest else PAIR.host_x,
                            PAIR.y if guest else None)  # fmt: skip
            params = SsheParams(epochs=2 if guest else 3, learning_rate=0.1)
            return (run_guest if guest else run_host)(ctx.sub("s"), params, {"train": train})

        with local_sessions(tmp_path) as computing:
            run_parties(lingering(party), {"guest": 9999, "host": 10000}, security=TEST_KEYS,
                        computing=computing)  # fmt: skip

    errors = _failures(run)
    assert set(errors) == {GUEST, HOST}
    assert all("epochs (2 vs 3)" in str(e) or "epochs (3 vs 2)" in str(e) for e in errors.values())


def test_a_silent_host_ends_in_the_federation_deadline(tmp_path: Path) -> None:
    def party(ctx: Context) -> object:
        if ctx.role == Role.HOST:
            return None  # never answers
        train = dataset(ctx.computing, PAIR.ids, PAIR.guest_x, PAIR.y)
        return run_guest(ctx.sub("s"), SsheParams(epochs=1), {"train": train})

    start = time.monotonic()
    with local_sessions(tmp_path) as computing:
        errors = _failures(lambda: run_parties(party, {"guest": 9999, "host": 10000},
                                               security=TEST_KEYS, computing=computing,
                                               timeout_s=2.0))  # fmt: skip
    assert isinstance(errors[GUEST], ReceiveTimeoutError) and "host" in str(errors[GUEST])
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("sigmoid", ["taylor", "taylor_clipped"])
def test_a_diverging_learning_rate_stops_both_with_the_cause(tmp_path: Path, sigmoid: str) -> None:
    """taylor: the loss leaves its range at an epoch's end; taylor_clipped (bounded residuals,
    so the loss stays small): the clip circuit's range bit fires once some |z| ≥ 2^16."""
    params = {"epochs": 6, "batch_size": 60, "learning_rate": 60.0, "penalty": "none",
              "random_seed": 1, "tol": 0, "sigmoid": sigmoid}  # fmt: skip
    pair = PAIR if sigmoid == "taylor" else Pair(
        PAIR.ids, PAIR.guest_x * 1e3, PAIR.guest_names, PAIR.y, PAIR.host_x * 1e3,
        PAIR.host_names,
    )  # fmt: skip
    errors = _failures(lambda: run_sshe(tmp_path, params, pair, security=TEST_KEYS))
    assert set(errors) == {GUEST, HOST}
    assert all(isinstance(e, TrainingDivergedError) for e in errors.values())
    assert "lower the learning rate" in str(errors[GUEST])
    if sigmoid == "taylor_clipped":
        assert all("2^16" in str(e) for e in errors.values())


def test_revealed_gradients_of_tiny_batches_are_refused(tmp_path: Path) -> None:
    params = {"epochs": 1, "batch_size": 3, "reveal_every_iter": True}
    errors = _failures(lambda: run_sshe(tmp_path, params, PAIR, security=TEST_KEYS))
    assert set(errors) == {GUEST, HOST}
    assert all("raise batch_size" in str(e) for e in errors.values())


def test_predicting_without_a_model_and_small_keys_are_refused(tmp_path: Path) -> None:
    errors = _failures(lambda: run_sshe(tmp_path, {"epochs": 0}, PAIR, security=TEST_KEYS))
    assert set(errors) == {GUEST, HOST}
    assert all("needs a `model` input" in str(e) for e in errors.values())
    policy = TEST_KEYS.model_copy(update={"allow_insecure_test_keys": False})
    with pytest.raises(ChaihuoError, match="1024"):
        policy.check_profile("prod")


def test_a_second_host_is_refused_on_every_party(tmp_path: Path) -> None:
    def party(ctx: Context) -> object:
        from chaihuo.ml.sshe import run_host  # noqa: PLC0415

        guest = ctx.role == Role.GUEST
        train = dataset(ctx.computing, PAIR.ids, PAIR.guest_x if guest else PAIR.host_x,
                        PAIR.y if guest else None)  # fmt: skip
        return (run_guest if guest else run_host)(ctx.sub("s"), SsheParams(), {"train": train})

    roles = {"guest": 9999, "host": [10000, 10001]}
    with local_sessions(tmp_path) as computing:
        errors = _failures(
            lambda: run_parties(lingering(party), roles, security=TEST_KEYS, computing=computing)
        )
    assert len(errors) == 3
    assert all("exactly one host" in str(error) for error in errors.values())
