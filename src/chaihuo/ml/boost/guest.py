"""The guest of hetero_secureboost: labels, gradients, every split decision and the leaves."""

# What the guest sends and learns (protocol: chaihuo.ml.boost._remote):
# - sends each host its public key, per tree fresh encryptions [[g_i·2^(HB+CB) + h_i·2^CB +
#   1]] under its own key (the same ciphertexts to every host), per depth the node of every
#   row (the instance space) and the split ids each host won; never a label, a gradient, a
#   hessian, a leaf value or a per-node statistic in the clear (the CVE-2020-25459 pattern).
# - learns: for every node and every host candidate, the sums of g and h and the row count
#   left of the cut (SecureBoost's design: what the split decision needs), which rows go left
#   at host splits, and when predicting each host node's outcome for every predicted row. It
#   never learns a host's column names, values or cut points: split ids number a host's
#   candidates column by column (so ties break as in the reference), which tells the guest
#   which ids share a column, as the left counts growing within a column would anyway.

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.ml._data import label_classes
from chaihuo.ml._predictions import Predictions
from chaihuo.ml.boost._bins import fit_bins
from chaihuo.ml.boost._boosting import Boosted, boost
from chaihuo.ml.boost._gradients import Coded, GradientCoding
from chaihuo.ml.boost._grow import SplitSource, column_source
from chaihuo.ml.boost._messages import Gradients
from chaihuo.ml.boost._model import KIND, GuestModel, guest_margins, tree_sums
from chaihuo.ml.boost._objectives import Objective, objective
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._remote import HostSource
from chaihuo.ml.boost._setup import PartySetup, crypto_pool, local_setup, protocol_of
from chaihuo.ml.boost._tree import GUEST, Tree
from chaihuo.ml.vertical import EarlyStopping, he, receive_status, send_status
from chaihuo.runtime import Context

__all__ = ["run_guest"]


def run_guest(ctx: Context, params: BoostParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Fit the model (or predict with a saved one) with every host of the job."""
    setup, hellos = _start(ctx, params, inputs)
    if setup.mode == "predict":
        assert setup.model is not None
        model = GuestModel.from_artifact(setup.model)
        return {"model": setup.model, "predictions": _predict(ctx, model, setup, params)}
    train = setup.data["train"]
    classes, y = _targets(params, train.labels)  # checked in set-up already
    loss = params.loss(len(classes))
    keys = ctx.cipher.paillier()
    ctx.sub("keys").hosts.put("public_key", keys.public_key)
    pool = crypto_pool(ctx, train.rows)
    channel = ctx.sub("trees")
    hosts = [
        HostSource(k, peer, keys, int(hello["candidates"]), pool)
        for k, (peer, hello) in enumerate(zip(channel.hosts, hellos, strict=True))
    ]
    seed = params.random_seed if params.random_seed is not None else secrets.randbits(62)
    bins = fit_bins(train.features, params.max_bin, params.use_missing)
    sources: list[SplitSource] = [column_source(GUEST, bins, params, seed), *hosts]

    def send_gradients(index: int, coding: GradientCoding, coded: Coded) -> None:
        if hosts:
            encrypted = he.encrypt(keys.private_key, coding.pack(coded), pool)
            for host in hosts:
                host.start_tree(index, Gradients(encrypted, coding.slot_bits))

    start, validate_start = _warm_start(ctx, setup, loss, train.features)
    validation = _Validation(ctx, setup, params, loss, validate_start)

    rounds = (len(start[0]) // loss.outputs if start else 0) + params.num_trees

    def after_round(index: int, grown: list[Tree], scores: np.ndarray) -> bool:
        ctx.metrics.log("loss", loss.loss(scores, y), step=index)
        ctx.progress("trees", index + 1, rounds)
        return validation.round(index, grown)

    trees, init, _ = boost(
        sources, loss, y, params, seed=seed, ids=train.ids, start=start, before_tree=send_gradients,
        after_round=after_round,
    )  # fmt: skip
    trees = trees[: validation.kept(len(trees))]
    meta = {
        "objective": params.objective, "learning_rate": params.learning_rate,
        "huber_slope": params.huber_slope,
        "tweedie_variance_power": params.tweedie_variance_power,
        "max_depth": params.max_depth, "classes": classes,
        "feature_names": list(train.feature_names),
        "hosts": [str(p.party_id) for p in ctx.hosts.parties],
    }  # fmt: skip
    model = GuestModel(trees, init, meta)
    model.meta["host_nodes"] = [len(model.host_nodes(k)) for k in range(len(hosts))]
    model.meta["importance"] = model.importance([str(p.party_id) for p in ctx.hosts.parties])
    return {"model": model.artifact(), "predictions": _predict(ctx, model, setup, params)}


class _Validation:
    """The guest's validation each round: the round's trees on the `validate` rows (hosts send
    their node bits for them), the validation loss, and early stopping. Every round it tells
    the hosts whether to go on, and at the end how many trees to keep."""

    def __init__(
        self, ctx: Context, setup: PartySetup, params: BoostParams, loss: Objective,
        start: np.ndarray | None,
    ) -> None:  # fmt: skip
        self.channel = ctx.sub("validate")
        self.metrics = ctx.metrics
        self.data = setup.data.get("validate")
        self.loss = loss
        self.stopping = EarlyStopping(params.early_stopping_rounds, higher=False)
        self.y = np.zeros(0)
        self.scores = np.zeros((0, loss.outputs))
        if self.data is not None:
            _, self.y = _targets(params, self.data.labels)
            self.scores = (
                start if start is not None
                else np.tile(loss.initial_scores(self.y), (self.data.rows, 1))
            )  # fmt: skip

    def round(self, index: int, grown: list[Tree]) -> bool:
        """Score the round on the validation rows; True to stop."""
        if self.data is None:
            return False
        channel = self.channel.sub(f"round{index}")
        self.scores = self.scores + tree_sums(
            list(channel.hosts), grown, index * self.loss.outputs, self.loss.outputs,
            self.data.features,
        )  # fmt: skip
        value = self.loss.loss(self.scores, self.y)
        self.metrics.log("validation_loss", value, step=index)
        _, stop = self.stopping.update(value, index)
        channel.hosts.put("go", not stop)
        return stop

    def kept(self, grown: int) -> int:
        """Trees to keep: all, or with early stopping those up to the best validation round;
        the hosts are told."""
        if self.data is None:
            return grown
        keep = grown
        if self.stopping.patience is not None:
            keep = min(grown, (self.stopping.best_epoch + 1) * self.loss.outputs)
        self.channel.hosts.put("kept", keep)
        return keep


def _warm_start(
    ctx: Context, setup: PartySetup, loss: Objective, features: np.ndarray
) -> tuple[Boosted | None, np.ndarray | None]:
    """With a `model` input: its trees, initial scores and training scores (each host sends its
    node bits for the training rows, and for the validation rows), to boost on from."""
    if setup.model is None:
        return None, None
    saved = GuestModel.from_artifact(setup.model)
    peers = ctx.sub("warm")
    outputs = loss.outputs
    scores = saved.init_scores + tree_sums(list(peers.hosts), saved.trees, 0, outputs, features)
    validate = setup.data.get("validate")
    validation = None
    if validate is not None:
        validation = saved.init_scores + tree_sums(
            list(peers.sub("validate").hosts), saved.trees, 0, outputs, validate.features
        )
    return (saved.trees, saved.init_scores, scores), validation


def _targets(params: BoostParams, labels: Any) -> tuple[list[Any], np.ndarray]:
    """(classes, y): y is 0/1 (binary), class indices (multi:softmax) or the values."""
    if labels is None:
        raise InvalidInputError(f"{KIND} needs a label column in the guest's `train` data",
                                public=True)  # fmt: skip
    if params.objective not in ("binary:logistic", "multi:softmax"):
        y = np.asarray(labels, dtype=np.float64)
        params.loss().check_labels(y)
        return [], y
    classes = label_classes(labels, KIND)
    if params.objective == "binary:logistic" and len(classes) != 2:
        raise InvalidInputError(
            f"binary:logistic needs two label classes, the label has {len(classes)}: use "
            "objective: multi:softmax",
            public=True,
        )
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[v] for v in labels.tolist()], dtype=np.float64)


def _predict(
    ctx: Context, model: GuestModel, setup: PartySetup, params: BoostParams
) -> Predictions:
    data = setup.data[setup.score_usage]
    if tuple(model.meta.get("feature_names", ())) != data.feature_names:
        raise InvalidInputError("the data's feature columns differ from the model's", public=True)
    margins = guest_margins(list(ctx.sub("predict").hosts), model, data.features)
    classes = list(model.meta["classes"])
    loss = objective(
        str(model.meta["objective"]), len(classes),
        huber_slope=float(model.meta.get("huber_slope", 1.0)),
        tweedie_power=float(model.meta.get("tweedie_variance_power", 1.5)),
    )  # fmt: skip
    scores = loss.link(margins)
    if loss.multiclass:
        return Predictions("multiclass", data.ids, scores, data.labels, classes)
    if not loss.binary:
        truth = None if data.labels is None else np.asarray(data.labels, dtype=np.float64)
        return Predictions("regression", data.ids, scores, truth)
    truth = None if data.labels is None else (data.labels == classes[1]).astype(np.int64)
    return Predictions("binary", data.ids, scores, truth, classes, params.threshold)


# -- set-up ------------------------------------------------------------------------------------


def _start(
    ctx: Context, params: BoostParams, inputs: Mapping[str, Any]
) -> tuple[PartySetup, list[dict[str, Any]]]:
    peers = list(ctx.sub("setup").hosts)
    failure: BaseException | None = None
    setup: PartySetup | None = None
    trees, outputs = 0, 1  # the hosts serve this many trees: one per output per round
    saved = 0  # trees of the model continued (warm start)
    try:
        setup = local_setup(params, inputs, "guest")
        if setup.mode == "fit":
            classes, _ = _targets(params, setup.data["train"].labels)
            outputs = params.loss(len(classes)).outputs
            trees = params.num_trees * outputs
            if "validate" in setup.data:
                _targets(params, setup.data["validate"].labels)
            if setup.model is not None:
                saved = _continuable(setup, params, classes)
    except (ChaihuoError, ValueError) as exc:
        failure = exc
    hellos: list[dict[str, Any]] = []
    for peer in peers:
        try:
            hellos.append(receive_status(peer, "hello", f"host {peer.party}", KIND))
        except ChaihuoError:
            if failure is None:
                raise
            hellos.append({})  # that host failed too; this party reports its own error
    if failure is None:
        assert setup is not None
        problems = _check(ctx, params, setup, hellos)
        if problems:
            failure = InvalidInputError("; ".join(problems), public=True)  # data-free
    for k, peer in enumerate(peers):
        plan: dict[str, Any] = {}
        if setup is not None:
            plan = {
                "mode": setup.mode, "score": setup.score_usage, "host_index": k,
                "trees": trees, "outputs": outputs, "validate": "validate" in setup.data,
                "guest_only_rounds": int(params.complete_secure), "first_tree": saved,
            }  # fmt: skip
        send_status(peer, "plan", plan, failure)
    if failure is not None:
        raise failure
    for peer in peers:
        receive_status(peer, "ack", f"host {peer.party}", KIND)
    assert setup is not None
    return setup, hellos


def _continuable(setup: PartySetup, params: BoostParams, classes: list[Any]) -> int:
    """The number of trees of the model a warm start continues; refused (data-free reasons)
    when it was fitted with another objective, other classes or other columns."""
    assert setup.model is not None
    saved = GuestModel.from_artifact(setup.model)
    meta = saved.meta
    if meta.get("objective") != params.objective or list(meta.get("classes", [])) != classes:
        raise InvalidInputError(
            "warm start: the model has another objective or other label classes", public=True
        )
    if tuple(meta.get("feature_names", ())) != setup.data["train"].feature_names:
        raise InvalidInputError(
            "warm start: the model was fitted on other feature columns", public=True
        )
    return len(saved.trees)


def _check(
    ctx: Context, params: BoostParams, setup: PartySetup, hellos: list[dict[str, Any]]
) -> list[str]:
    """The guest's checks of every host's hello: parameters, aligned rows, model parts."""
    problems = []
    mine = protocol_of(params)
    model = GuestModel.from_artifact(setup.model) if setup.model is not None else None
    if model is not None and model.meta.get("hosts") != [
        str(p.party_id) for p in ctx.hosts.parties
    ]:
        problems.append("the model was trained with other host parties")
    for k, (party, hello) in enumerate(zip(ctx.hosts.parties, hellos, strict=True)):
        theirs = hello.get("protocol", {})
        differ = sorted(n for n in mine if not isinstance(theirs, dict) or theirs.get(n) != mine[n])
        if differ:
            problems.append(f"host {party} has other values of {', '.join(differ)}")
        digests = hello.get("digests", {})
        if not isinstance(digests, dict) or set(digests) != set(setup.digests):
            problems.append(f"host {party} has inputs {sorted(digests)}, the guest "
                            f"{sorted(setup.digests)}")  # fmt: skip
            continue
        if any(digests[u] != d for u, d in setup.digests.items()):
            problems.append(
                f"host {party} rows are not aligned with the guest's (same ids in the same "
                "order): run psi with share_with_hosts on the same partition count first"
            )
        if hello.get("mode") != setup.mode:
            problems.append(f"host {party} would {hello.get('mode')}, the guest {setup.mode}")
        elif model is not None and hello.get("nodes") != len(model.host_nodes(k)):
            problems.append(f"host {party}'s model part does not match the guest's")
        elif setup.mode == "fit" and not isinstance(hello.get("candidates"), int):
            problems.append(f"host {party} sent no candidate count")
    return problems
