"""homo_lr / homo_nn client: trains the global model on its own rows; rows never leave it."""

# What a client sends: its feature names and set-up verdict, then per step one vector through
# the aggregation (chaihuo.ml.homo._aggregate). With secure aggregation the server reads none
# of them alone, only sums over the step's clients: label counts and rows, present cells and
# moments at set-up; weighted update, weight and loss sums each round. What a client learns:
# the global model of every round it is sent, the union's classes and their counts, rows,
# and mean and variance per feature. Under client-level DP its update is clipped to
# `clip_norm` and carries its share of the Gaussian noise before it is masked
# (chaihuo.ml.privacy, distributed noise).

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._data import DataArrays, check_features, training_arrays
from chaihuo.ml._predictions import Predictions
from chaihuo.ml.homo._aggregate import contribute
from chaihuo.ml.homo._family import LOGISTIC, Family, Scorer
from chaihuo.ml.homo._handshake import (
    aggregation,
    class_labels,
    class_predictions,
    client_join,
    client_moments,
)
from chaihuo.ml.homo._messages import RoundPlan
from chaihuo.ml.homo._network import LocalStep, Network, log_loss, predicted, train_locally
from chaihuo.ml.homo._params import HomoLrParams
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.ml.homo._update import RoundStats, UpdateLayout
from chaihuo.ml.privacy import clip_by_l2, distributed_noise_std, gaussian_noise
from chaihuo.runtime import Context

__all__ = ["run_client"]

Matrix = npt.NDArray[np.float64]


def _arrays(inputs: Mapping[str, Any], usage: str, component: str) -> DataArrays | None:
    if inputs.get(usage) is None:
        return None
    arrays = training_arrays(inputs[usage], host=False, usage=usage, component=component)
    check_features(arrays.feature_names, arrays.features, usage)
    return arrays


@dataclass
class _Client:
    ctx: Context
    params: HomoLrParams
    family: Family
    train: DataArrays
    validate: DataArrays | None
    classes: list[int]
    scaling: Scaling
    network: Network
    raw: DataArrays
    """The training rows as given (`train` holds them standardised)."""
    control: Matrix | None = None  # SCAFFOLD's c_i, kept across rounds

    def truth(self, arrays: DataArrays, usage: str) -> npt.NDArray[np.int64]:
        labels = class_labels(arrays, usage, self.family.kind)
        if set(np.unique(labels).tolist()) - set(self.classes):
            raise InvalidInputError(f"`{usage}` has classes no client trains on", public=True)
        return np.searchsorted(self.classes, labels).astype(np.int64)

    def batch_seed(self, index: int) -> list[int] | None:
        """The batch order's seed in round `index` (from `random_seed`, else fresh)."""
        seed = self.params.init_seed()
        party = int.from_bytes(self.ctx.local.party_id.encode()[:8], "big")
        return None if seed is None else [seed, index, party]

    def stats(self, weights: Matrix, weight: float) -> RoundStats:
        if self.params.private:
            return RoundStats(weight, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        net, rows = self.network, float(self.train.rows)
        loss = log_loss(net, weights, self.train.features, self.truth(self.train, "train")) * rows
        val_loss = val_rows = correct = 0.0
        if self.validate is not None:
            truth, features = self.truth(self.validate, "validate"), self.validate.features
            val_rows = float(len(truth))
            val_loss = log_loss(net, weights, features, truth) * val_rows
            correct = float(np.sum(predicted(net, weights, features) == truth))
        return RoundStats(weight, 1.0, loss, rows, val_loss, val_rows, correct)

    def update(self, plan: RoundPlan, layout: UpdateLayout) -> Matrix:
        """This round's vector: the weighted (or clipped and noised) update and statistics."""
        p = self.params
        step = LocalStep(
            p.local_epochs, p.batch_size, p.learning_rate,
            self.family.alpha(p, self.network, self.scaling),
            p.proximal_mu if p.strategy == "fedprox" else 0.0, self.batch_seed(plan.index),
        )  # fmt: skip
        correction = None
        if plan.control is not None:
            self.control = np.zeros_like(plan.weights) if self.control is None else self.control
            correction = plan.control - self.control
        truth = self.truth(self.train, "train")
        trained, steps = train_locally(
            self.network, plan.weights, self.train.features, truth, step, correction
        )
        delta = trained - plan.weights
        control_delta = None
        if plan.control is not None and self.control is not None:
            # Option II of Karimireddy et al.: c_i+ = c_i − c + (w − w_i) / (K·η).
            updated = self.control - plan.control - delta / (steps * p.learning_rate)
            control_delta, self.control = updated - self.control, updated
        weight = 1.0 if p.private else float(len(truth))
        if p.private:
            assert p.clip_norm is not None and p.noise_multiplier is not None
            clipped, _norm = clip_by_l2(delta.reshape(-1), p.clip_norm)
            std = distributed_noise_std(p.noise_multiplier, p.clip_norm, plan.clients)
            delta = (clipped + gaussian_noise(clipped.shape, std)).reshape(layout.shape)
        return layout.pack(delta * weight, control_delta, self.stats(plan.weights, weight))


def _set_up(
    ctx: Context, params: HomoLrParams, inputs: Mapping[str, Any], family: Family
) -> _Client:
    error: BaseException | None = None
    train = validate = None
    labels = None
    try:
        train = _arrays(inputs, "train", family.kind)
        if train is None:
            raise InvalidInputError(
                f"{family.kind} needs a `train` input on every client", public=True
            )
        labels = class_labels(train, "train", family.kind)
        validate = _arrays(inputs, "validate", family.kind)
    except InvalidInputError as exc:
        error = exc
    columns = [] if train is None else list(train.feature_names)
    setup = client_join(
        ctx, params, params.governed(), columns=columns, labels=labels, error=error,
        component=family.kind,
    )  # fmt: skip
    assert train is not None
    raw = train
    scaling = Scaling.identity(len(train.feature_names))
    if params.standardize:
        scaling, _present = client_moments(ctx.sub("moments"), params, train.features)
        train = replace(train, features=scaling.standardise(train.features))
        if validate is not None:
            validate = replace(validate, features=scaling.standardise(validate.features))
    network = family.network(len(setup.classes), len(train.feature_names), params.hidden())
    return _Client(ctx, params, family, train, validate, setup.classes, scaling, network, raw)


def run_client(
    ctx: Context, params: HomoLrParams, inputs: Mapping[str, Any], family: Family = LOGISTIC
) -> dict[str, Any]:
    """Train with the server (or only predict with a `model` input) on this client's rows."""
    if params.predict_only or params.rounds == 0:
        scorer = family.scorer(inputs.get("model"), "client")
        if scorer is None:
            raise InvalidInputError("predicting (predict_only or rounds: 0) needs a `model`")
        return {"predictions": _predictions(scorer, inputs, None, family.kind)}
    client = _set_up(ctx, params, inputs, family)
    layout = UpdateLayout(client.network.shape, params.strategy == "scaffold")
    index = _start(ctx)
    while True:
        round_ctx = ctx.sub("round").indexed(index)
        server = round_ctx.peers(Role.SERVER)[0]
        plan = RoundPlan.from_wire(server.get("plan"), index, layout.shape, layout.scaffold)
        if plan.stop:
            break
        if plan.train:
            vector = client.update(plan, layout)
            contribute(server.sub("agg"), vector, aggregation(round_ctx, params))
        index += 1
    names = client.train.feature_names
    model = family.model("client", client.network, plan.weights, client.scaling, client.classes,
                         names, {"rounds": index})  # fmt: skip
    scorer = family.scorer(model, "client")
    assert scorer is not None
    return {"model": model, "predictions": _predictions(scorer, inputs, client.raw, family.kind)}


def _start(ctx: Context) -> int:
    """The round the server starts from (0, or the round after its checkpoint)."""
    start = ctx.peers(Role.SERVER)[0].get("start")
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise ProtocolViolationError("start: expected a round index")
    return start


def _predictions(
    scorer: Scorer, inputs: Mapping[str, Any], train: DataArrays | None, component: str
) -> Predictions:
    scored = _arrays(inputs, "test", component) or train
    if scored is None:
        raise InvalidInputError("predicting needs a `test` input", public=True)
    return class_predictions(scored, scorer.probabilities(scored.features), scorer.classes)
