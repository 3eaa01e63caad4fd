"""homo_lr's protocol: what the server receives, dropouts, DP accounting, refusals, reuse."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "quality"))

from _homo_fixtures import Part, client_scores, federated, homo_file, split_rows

from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml.homo import HomoLrParams
from chaihuo.ml.privacy import RdpAccountant
from chaihuo.mpc import TooFewClientsError
from chaihuo.testing import PartyFailedError

BASE = {"rounds": 6, "local_epochs": 2, "learning_rate": 0.5, "alpha": 0.001}
SERVER = Party(Role.SERVER, "1")  # type: ignore[arg-type]


def _breast(clients: int) -> tuple[list[Part], Part]:
    train = [homo_file("breast_homo_guest.csv"), homo_file("breast_homo_host.csv")]
    if clients == 2:
        return train, homo_file("breast_homo_test.csv")
    union = Part(*(np.concatenate([getattr(p, f) for p in train]) for f in ("ids", "x", "y")),
                 train[0].names)  # fmt: skip
    return split_rows(union, [1 / clients] * clients), homo_file("breast_homo_test.csv")


def _floats(obj: object) -> list[str]:
    """Every float (or float array) inside a received object, by kind."""
    if isinstance(obj, np.ndarray):
        return [str(obj.dtype)] if obj.dtype.kind in "fc" else []
    if isinstance(obj, float):
        return ["float"]
    if isinstance(obj, dict):
        return [kind for value in obj.values() for kind in _floats(value)]
    if isinstance(obj, list | tuple):
        return [kind for value in obj for kind in _floats(value)]
    return []


@pytest.mark.parametrize("secure", [True, False])
def test_with_secure_aggregation_the_server_receives_no_float_at_all(secure: bool) -> None:
    clients, test = _breast(2)
    received: dict[str, list[tuple[str, object]]] = {}
    federated(clients, test, HomoLrParams(**BASE, secure_aggregation=secure), received=received)
    kinds = [kind for _tag, obj in received[str(SERVER)] for kind in _floats(obj)]
    if secure:
        # keys, sealed shares, masked uint64 vectors and Shamir shares only: no update, loss,
        # count or moment of a single client in readable form
        assert kinds == []
    else:
        assert "float64" in kinds  # the check sees updates when they are in the clear


def test_a_client_leaving_mid_training_leaves_the_others_training() -> None:
    clients, test = _breast(3)
    params = HomoLrParams(**BASE, dropout=0.4, round_timeout_s=3)
    run = federated(clients, test, params, drop_at={2: "round.3.plan"})
    assert run.clients[2] == {"dropped": True}
    assert run.series("clients") == [3, 3, 3, 2, 2, 2]
    assert run.server["model"].meta["rounds"] == 6
    for client in run.clients[:2]:
        np.testing.assert_array_equal(client["model"].arrays["weights"], run.weights)


def test_below_the_threshold_the_job_stops_with_a_clear_error() -> None:
    clients, test = _breast(3)
    params = HomoLrParams(**BASE, dropout=0.4, round_timeout_s=2)
    with pytest.raises(PartyFailedError) as failed:
        federated(clients, test, params, drop_at={1: "round.2.plan", 2: "round.2.plan"})
    error = failed.value.others[SERVER]
    assert isinstance(error, TooFewClientsError)
    assert "fewer than the threshold 2" in str(error)


def test_client_level_dp_logs_the_accountants_epsilon_every_round() -> None:
    clients, test = _breast(2)
    params = HomoLrParams(**BASE, clip_norm=0.5, noise_multiplier=1.2)
    run = federated(clients, test, params)
    expected = RdpAccountant()
    steps = []
    for _ in range(6):
        expected.step(1.2, 1.0)  # both clients every round: q = 1
        steps.append(expected.epsilon(1e-5))
    np.testing.assert_allclose(run.series("epsilon"), steps, rtol=1e-12)
    assert run.server["model"].meta["epsilon"] == pytest.approx(steps[-1])
    assert run.series("loss") == []  # under DP no per-client statistics are summed


def test_target_epsilon_stops_before_the_budget_is_spent() -> None:
    clients, test = _breast(2)
    accountant = RdpAccountant()
    accountant.step(1.2, 1.0, steps=3)
    budget = accountant.epsilon(1e-5) * 1.01  # room for 3 rounds, not 4
    params = HomoLrParams(**BASE, clip_norm=0.5, noise_multiplier=1.2, target_epsilon=budget)
    run = federated(clients, test, params)
    assert run.server["model"].meta["rounds"] == 3
    assert run.series("epsilon")[-1] <= budget


def test_sampling_a_fraction_of_the_clients_each_round() -> None:
    clients, test = _breast(4)
    run = federated(clients, test, HomoLrParams(**BASE, fraction_fit=0.5))
    assert run.series("clients") == [2] * 6


def test_parameters_that_differ_from_the_servers_are_refused_on_every_party() -> None:
    clients, test = _breast(2)
    server = HomoLrParams(**BASE)
    odd = HomoLrParams(**{**BASE, "rounds": 9})
    with pytest.raises(PartyFailedError) as failed:
        federated(clients, test, [server, server, odd])
    errors = failed.value.others
    refusal = str(errors[Party(Role.CLIENT, "101")])  # type: ignore[arg-type]
    assert "['rounds'] differ from the server's" in refusal
    # Every party stops (the harness may close the others before the refusal reaches them).
    assert set(errors) == {SERVER, *(Party(Role.CLIENT, p) for p in ("100", "101"))}  # type: ignore[arg-type]


def test_clients_with_different_columns_are_refused() -> None:
    clients, test = _breast(2)
    renamed = Part(clients[1].ids, clients[1].x, clients[1].y, ("other", *clients[1].names[1:]))
    with pytest.raises(PartyFailedError) as failed:
        federated([clients[0], renamed], test, HomoLrParams(**BASE))
    assert "feature columns differ" in str(failed.value.others[SERVER])


def test_continuing_from_a_saved_model_equals_one_longer_run() -> None:
    clients, test = _breast(2)
    first = federated(clients, test, HomoLrParams(**BASE))
    warm = {"model": first.server["model"]}
    resumed = federated(clients, test, HomoLrParams(**BASE), server_inputs=warm)
    longer = federated(clients, test, HomoLrParams(**{**BASE, "rounds": 12}))
    np.testing.assert_allclose(resumed.weights, longer.weights, atol=1e-9)
    np.testing.assert_allclose(client_scores(resumed, test), client_scores(longer, test), atol=1e-9)


def test_labels_must_be_class_indices() -> None:
    clients, test = _breast(2)
    halves = Part(clients[0].ids, clients[0].x, clients[0].y + 0.5, clients[0].names)  # type: ignore[arg-type]
    with pytest.raises(PartyFailedError) as failed:
        federated([halves, clients[1]], test, HomoLrParams(**BASE))
    assert "whole numbers in [0, 64)" in str(failed.value.others[Party(Role.CLIENT, "100")])  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", ["fedadam", "scaffold"])
def test_a_server_crash_resumes_from_its_last_checkpoint(tmp_path: Path, strategy: str) -> None:
    clients, test = _breast(2)
    # SCAFFOLD's client variates restart at zero on resume: compare it with the same restart.
    settings = {**BASE, "strategy": strategy, "server_learning_rate": 0.1}
    whole = federated(clients, test, HomoLrParams(**settings))  # type: ignore[arg-type]
    saving = HomoLrParams(**settings, checkpoint_dir=str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(PartyFailedError):  # the server dies while summing round 3
        federated(clients, test, saving, drop_at={-1: "round.3.agg"})
    resumed = federated(clients, test, saving.model_copy(update={"resume": True}))
    assert resumed.server["model"].meta["rounds"] == 6
    if strategy == "fedadam":
        np.testing.assert_allclose(resumed.weights, whole.weights, atol=1e-9)
    else:
        assert not np.allclose(resumed.weights, whole.weights)  # c_i restarted at zero
        assert np.abs(resumed.weights - whole.weights).max() < 0.05


def test_resuming_refuses_a_checkpoint_of_other_data(tmp_path: Path) -> None:
    clients, test = _breast(2)
    saving = HomoLrParams(**BASE, checkpoint_dir=str(tmp_path))
    federated(clients, test, saving)
    shuffled = [clients[0], Part(clients[1].ids[:100], clients[1].x[:100], clients[1].y[:100],
                                 clients[1].names)]  # fmt: skip
    with pytest.raises(PartyFailedError) as failed:
        federated(shuffled, test, saving.model_copy(update={"resume": True}))
    assert "checkpoint does not fit this job (scaling differ)" in str(failed.value.others[SERVER])
