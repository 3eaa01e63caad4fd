"""hetero_secureboost end to end on small data: the plaintext reference's trees, one host or
two, prediction from saved parts, what crosses the wire, and bad input on every party.

Keys are 1024-bit test keys (protocol logic only; the quality tests use 2048). Tolerance of
leaf values and predictions: 1e-9 (every split is taken on the same integer sums).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "quality"))
from _boost_fixtures import Parts, assert_same_trees, in_order, run_boost, saved
from _sshe_fixtures import TEST_KEYS, synthetic

from chaihuo.core import InvalidInputError, PartyId, Role
from chaihuo.crypto.paillier import EncryptedVector, PackedVector
from chaihuo.federation import Party
from chaihuo.ml.boost import BoostParams, GuestModel, HostModel, _remote, fit_plaintext
from chaihuo.ml.boost._gradients import GradientCoding
from chaihuo.testing import PartyFailedError

TOL = 1e-9
SMALL = {"num_trees": 3, "max_depth": 3, "max_bin": 8, "min_child_weight": 0.5}


def _parts(hosts: int = 1, rows: int = 120, seed: int = 3) -> Parts:
    return Parts.of(synthetic(rows, 3, 4, seed=seed), hosts)


def _reference(parts: Parts, params: dict[str, Any]) -> Any:
    return fit_plaintext(parts.guest_x, parts.host_xs, parts.y.astype(float), BoostParams(**params))


def test_coding_packs_sums_without_carries() -> None:
    rng = np.random.default_rng(0)
    g, h = rng.uniform(-1, 1, 500), rng.uniform(0, 0.25, 500)
    coding = GradientCoding.for_tree(g, h, 24)
    sample = rng.random(500) < 0.7  # rows out of the sample add nothing, not even a count
    coded = coding.encode(g, h, sample)
    packed = coding.pack(coded)
    for size in (1, 17, 500):
        rows = rng.choice(500, size, replace=False)
        grad, hess, count = coding.unpack([sum(packed[i] for i in rows.tolist())])
        assert (int(grad[0]), int(hess[0]), int(count[0])) == (
            int(coded.gi[rows].sum()), int(coded.hi[rows].sum()), int(sample[rows].sum()),
        )  # fmt: skip


def test_goss_matches_the_reference(tmp_path: Path) -> None:
    parts = _parts(rows=160)
    params = {**SMALL, "run_goss": True, "top_rate": 0.3, "other_rate": 0.3, "random_seed": 5}
    run = run_boost(tmp_path, params, parts, security=TEST_KEYS)
    reference = fit_plaintext(parts.guest_x, parts.host_xs, parts.y.astype(float),
                              BoostParams(**params), ids=parts.ids)  # fmt: skip
    assert_same_trees(run, reference, TOL)
    assert reference.trees != _reference(parts, SMALL).trees  # the draw and weights count
    with pytest.raises(ValueError, match="choose one"):
        BoostParams(run_goss=True, subsample=0.5)


def test_row_and_column_subsampling_match_the_reference(tmp_path: Path) -> None:
    parts = _parts(hosts=2, rows=160)
    params = {**SMALL, "subsample": 0.7, "colsample_bytree": 0.5, "random_seed": 11}
    run = run_boost(tmp_path, params, parts, security=TEST_KEYS)
    reference = fit_plaintext(parts.guest_x, parts.host_xs, parts.y.astype(float),
                              BoostParams(**params), ids=parts.ids)  # fmt: skip
    assert_same_trees(run, reference, TOL)
    full = _reference(parts, SMALL)
    assert any(  # the draws changed the trees
        sorted(a.nodes) != sorted(b.nodes)
        or any(a.nodes[k].split != b.nodes[k].split for k in a.nodes if k in b.nodes)
        for a, b in zip(reference.trees, full.trees, strict=True)
    )


@pytest.mark.parametrize("hosts", [1, 2])
def test_trees_equal_the_plaintext_reference(tmp_path: Path, hosts: int) -> None:
    parts = _parts(hosts)
    run = run_boost(tmp_path, SMALL, parts, security=TEST_KEYS)
    reference = _reference(parts, SMALL)
    assert_same_trees(run, reference, TOL)
    owners = {n.owner for t in reference.trees for n in t.nodes.values() if not n.leaf}
    assert owners >= {-1, *range(hosts)}, "every party's columns should win some split"
    importance = run.guest["model"].meta["importance"]  # host features anonymous: host:<party>
    assert set(importance) <= {*parts.guest_names, "host:10000", "host:10001"}
    for k in range(hosts):
        host_splits = sum(run.hosts[k]["model"].meta["split_counts"].values())
        assert importance[f"host:{10000 + k}"]["splits"] == host_splits
    np.testing.assert_allclose(
        in_order(run.guest["predictions"], parts.ids),
        reference.predict(parts.guest_x, parts.host_xs), rtol=0, atol=TOL,
    )  # fmt: skip


def test_complete_secure_grows_the_first_trees_on_guest_features_only(tmp_path: Path) -> None:
    parts = _parts(hosts=2)
    params = {**SMALL, "complete_secure": True}
    run = run_boost(tmp_path, params, parts, security=TEST_KEYS, record=True)
    reference = _reference(parts, params)
    assert_same_trees(run, reference, TOL)
    assert all(n.owner == -1 for n in reference.trees[0].nodes.values())
    owners = {n.owner for t in reference.trees[1:] for n in t.nodes.values() if not n.leaf}
    assert owners - {-1}, "later trees should use the hosts' columns"
    for host in ("host:10000", "host:10001"):  # no gradients of the first tree reach a host
        vectors = [o for _, o in run.received[host] if isinstance(o, dict) and "values" in o]
        assert len(vectors) == SMALL["num_trees"] - 1


def test_softmax_trees_equal_the_reference(tmp_path: Path) -> None:
    parts = Parts.of(synthetic(150, 3, 4, seed=5, classes=3))
    params = {**SMALL, "num_trees": 2, "objective": "multi:softmax"}
    run = run_boost(tmp_path, params, parts, security=TEST_KEYS)
    reference = _reference(parts, params)
    assert len(reference.trees) == 6  # one tree per class per round
    assert_same_trees(run, reference, TOL)
    predictions = run.guest["predictions"]
    assert predictions.kind == "multiclass" and predictions.classes == [0, 1, 2]
    where = {key: i for i, key in enumerate(predictions.ids.tolist())}
    ours = np.asarray(predictions.scores)[[where[str(k)] for k in parts.ids.tolist()]]
    np.testing.assert_allclose(ours, reference.predict(parts.guest_x, parts.host_xs), atol=TOL)


def test_validation_early_stopping_keeps_the_best_rounds_on_every_party(tmp_path: Path) -> None:
    parts = _parts(rows=160)
    train, held = parts.rows(np.arange(100)), parts.rows(np.arange(100, 160))
    params = {**SMALL, "num_trees": 12, "learning_rate": 1.0, "early_stopping_rounds": 2}
    run = run_boost(tmp_path, params, train, validate=held, security=TEST_KEYS)
    guest = GuestModel.from_artifact(run.guest["model"])
    host = HostModel.from_artifact(run.hosts[0]["model"])
    reference = _reference(train, {**params, "early_stopping_rounds": None})
    losses = [
        float(np.mean(np.logaddexp(0.0, m) - held.y * m)) for m in _round_margins(reference, held)
    ]
    best = int(np.argmin(losses))
    stopped = next(
        (r for r in range(len(losses)) if r - int(np.argmin(losses[: r + 1])) >= 2), None
    )
    assert stopped is not None, "the run should stop early on this data"
    assert len(guest.trees) == best + 1  # the best round's trees, one per round
    assert {t for t, _ in host.nodes} <= set(range(best + 1))  # the host dropped the rest
    for t, tree in enumerate(guest.trees):
        assert sorted(tree.nodes) == sorted(reference.trees[t].nodes)


def _round_margins(reference: Any, parts: Parts) -> list[np.ndarray]:
    """Validation margins after each round of the reference's trees."""
    out = []
    for r in range(len(reference.trees)):
        partial = dataclasses.replace(reference, trees=reference.trees[: r + 1])
        out.append(partial.decision_function(parts.guest_x, parts.host_xs)[:, 0])
    return out


def _with_missing(parts: Parts, share: float = 0.2) -> Parts:
    rng = np.random.default_rng(4)
    for x in (parts.guest_x, *parts.host_xs):
        x[rng.random(x.shape) < share] = np.nan
    return parts


def test_missing_cells_learn_a_direction_and_match_the_reference(tmp_path: Path) -> None:
    parts = _with_missing(_parts(rows=160))
    params = {**SMALL, "use_missing": True}
    run = run_boost(tmp_path, params, parts, security=TEST_KEYS)
    reference = _reference(parts, params)
    assert_same_trees(run, reference, TOL)
    directions = {n.missing_left for t in reference.trees for n in t.nodes.values() if not n.leaf}
    assert directions == {False, True}, "some splits should send missing cells left"
    np.testing.assert_allclose(
        in_order(run.guest["predictions"], parts.ids),
        reference.predict(parts.guest_x, parts.host_xs), rtol=0, atol=TOL,
    )  # fmt: skip


def test_missing_cells_are_refused_without_use_missing(tmp_path: Path) -> None:
    errors = _failures(lambda: run_boost(tmp_path, SMALL, _with_missing(_parts()),
                                         security=TEST_KEYS))  # fmt: skip
    for error in errors.values():
        assert isinstance(error, InvalidInputError) and "missing" in str(error)


def test_histograms_over_the_crypto_workers_give_the_same_trees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_remote, "HISTOGRAM_POOL_FROM", 1)  # every histogram in row blocks
    monkeypatch.setattr(_remote, "PACK_POOL_FROM", 1)  # and the packing over the workers
    parts = _parts()
    run = run_boost(tmp_path, {**SMALL, "num_trees": 2}, parts, security=TEST_KEYS)
    assert_same_trees(run, _reference(parts, {**SMALL, "num_trees": 2}), TOL)


@pytest.mark.parametrize(
    "name", ["reg:squarederror", "reg:pseudohubererror", "count:poisson", "reg:tweedie"]
)
def test_regression_trees_equal_the_reference(tmp_path: Path, name: str) -> None:
    parts = _parts()
    parts.y = np.abs(parts.guest_x[:, 0] * 3.0 + parts.hosts[0][0][:, 1] ** 2 + 15.0)
    params = {**SMALL, "objective": name}
    run = run_boost(tmp_path, params, parts, security=TEST_KEYS)
    assert_same_trees(run, _reference(parts, params), TOL)


def test_saved_parts_predict_what_training_predicted(tmp_path: Path) -> None:
    parts = _parts(hosts=2)
    trained = run_boost(tmp_path / "fit", SMALL, parts, security=TEST_KEYS)
    models = saved(tmp_path / "models", trained)
    held = _parts(hosts=2, rows=40, seed=8)
    predicted = run_boost(tmp_path / "predict", {**SMALL, "num_trees": 0}, None, test=held,
                          models=models, security=TEST_KEYS)  # fmt: skip
    reference = _reference(parts, SMALL)
    np.testing.assert_allclose(
        in_order(predicted.guest["predictions"], held.ids),
        reference.predict(held.guest_x, held.host_xs), rtol=0, atol=TOL,
    )  # fmt: skip
    assert predicted.guest["model"].digest == trained.guest["model"].digest


@pytest.mark.parametrize("validating", [False, True])
def test_warm_start_continues_the_saved_model_as_if_never_stopped(
    tmp_path: Path, validating: bool
) -> None:
    parts = _parts(hosts=2)
    held = _parts(hosts=2, rows=40, seed=8) if validating else None
    first = run_boost(tmp_path / "a", {**SMALL, "num_trees": 2}, parts, security=TEST_KEYS)
    models = saved(tmp_path / "models", first)
    params = {**SMALL, "num_trees": 2, "early_stopping_rounds": 5 if validating else None}
    more = run_boost(tmp_path / "b", params, parts, validate=held, models=models,
                     security=TEST_KEYS)  # fmt: skip
    reference = _reference(parts, {**SMALL, "num_trees": 4})
    if held is not None:  # early stopping keeps the best of the continued rounds 2 and 3
        losses = [float(np.mean(np.logaddexp(0.0, m) - held.y * m))
                  for m in _round_margins(reference, held)]  # fmt: skip
        best = 2 + int(np.argmin(losses[2:]))
        reference = dataclasses.replace(reference, trees=reference.trees[: best + 1])
    assert_same_trees(more, reference, TOL)  # 2 saved + the new ones == one longer run
    np.testing.assert_allclose(
        in_order(more.guest["predictions"], parts.ids),
        reference.predict(parts.guest_x, parts.host_xs), rtol=0, atol=TOL,
    )  # fmt: skip


def _leaves(obj: object) -> list[object]:
    if isinstance(obj, dict):
        return [leaf for value in obj.values() for leaf in _leaves(value)]
    if isinstance(obj, list | tuple):
        return [leaf for value in obj for leaf in _leaves(value)]
    return [obj]


def test_hosts_receive_no_plaintext_statistic_and_only_fresh_ciphertexts(tmp_path: Path) -> None:
    parts = _parts(hosts=2)
    run = run_boost(tmp_path, SMALL, parts, security=TEST_KEYS, record=True)
    max_node = 2 ** (SMALL["max_depth"] + 1)
    for host in ("host:10000", "host:10001"):
        seen: set[int] = set()
        vectors = 0
        for tag, obj in run.received[host]:
            for leaf in _leaves(obj):
                assert not isinstance(leaf, float), (tag, leaf)
                if isinstance(leaf, np.ndarray):
                    assert leaf.dtype.kind in "iub", (tag, leaf.dtype)  # node ids, bits
                    if leaf.dtype.kind == "i":
                        assert leaf.max(initial=0) < max_node, tag
                if isinstance(leaf, EncryptedVector):
                    values = {int(c) for c in leaf.values}
                    assert len(values) == len(leaf) and not values & seen, "a ciphertext repeats"
                    seen |= values
                    vectors += 1
        assert vectors == SMALL["num_trees"]  # one fresh vector of [[g, h, 1]] per tree
    guest_floats = [leaf for _, obj in run.received["guest:9999"] for leaf in _leaves(obj)
                    if isinstance(leaf, float | np.floating)]  # fmt: skip
    assert guest_floats == []  # no host threshold (nor any host value) reaches the guest
    packed = [leaf for _, obj in run.received["guest:9999"] for leaf in _leaves(obj)
              if isinstance(leaf, PackedVector)]  # fmt: skip
    assert packed, "the hosts' candidate sums arrive packed"


GUEST, HOST = Party(Role.GUEST, PartyId("9999")), Party(Role.HOST, PartyId("10000"))


def _failures(run: Any) -> dict[Party, BaseException]:
    with pytest.raises(PartyFailedError) as info:
        run()
    errors = dict(info.value.others)
    errors[info.value.party] = info.value.error
    return errors


def test_a_label_on_a_host_stops_every_party(tmp_path: Path) -> None:
    errors = _failures(lambda: run_boost(tmp_path, SMALL, _parts(), security=TEST_KEYS,
                                         host_label=True))  # fmt: skip
    assert set(errors) == {GUEST, HOST}
    for error in errors.values():
        assert isinstance(error, InvalidInputError) and "label column" in str(error)


def test_rows_not_aligned_stop_every_party(tmp_path: Path) -> None:
    parts = _parts()
    others = parts.rows(np.arange(len(parts.y)))
    others.ids = np.array([f"v{i}" for i in range(len(parts.y))], dtype=object)
    errors = _failures(lambda: run_boost(tmp_path, SMALL, parts, security=TEST_KEYS,
                                         host_rows=others))  # fmt: skip
    assert set(errors) == {GUEST, HOST}
    for error in errors.values():
        assert isinstance(error, InvalidInputError) and "run psi" in str(error)


def test_disagreeing_parameters_and_three_classes_for_a_binary_objective_are_refused(
    tmp_path: Path,
) -> None:
    errors = _failures(lambda: run_boost(tmp_path / "a", SMALL, _parts(), security=TEST_KEYS,
                                         host_params={**SMALL, "max_depth": 4}))  # fmt: skip
    assert "other values of max_depth" in str(errors[GUEST])
    assert "max_depth" in str(errors[HOST])
    parts = _parts()
    parts.y = np.arange(len(parts.y)) % 3
    errors = _failures(lambda: run_boost(tmp_path / "b", SMALL, parts, security=TEST_KEYS))
    assert "use objective: multi:softmax" in str(errors[GUEST])
    assert "multi:softmax" in str(errors[HOST])
