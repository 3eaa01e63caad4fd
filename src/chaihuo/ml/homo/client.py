"""homo_lr client: trains the global model on its own rows each round; rows never leave it."""

# What a client sends: its schema digest and set-up verdict, then per step one vector through
# the aggregation (chaihuo.ml.homo._aggregate). With secure aggregation the server reads none
# of them alone, only sums over the step's clients: label counts and rows at set-up; weighted
# update, weight and loss sums each round. What a client learns: the global model of every
# round it is sent, the classes over all clients and their total rows. Under client-level DP
# its update is clipped to `clip_norm` and carries its share of the Gaussian noise before it
# is masked (chaihuo.ml.privacy, distributed noise).

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
from chaihuo.ml.homo._handshake import MAX_CLASSES, aggregation, client_join, client_moments
from chaihuo.ml.homo._logistic import LocalStep, log_loss, predicted, probabilities, train_locally
from chaihuo.ml.homo._messages import RoundPlan
from chaihuo.ml.homo._model import homo_model, model_weights
from chaihuo.ml.homo._params import PROTOCOL_FIELDS, HomoLrParams
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.ml.homo._update import RoundStats, UpdateLayout
from chaihuo.ml.privacy import clip_by_l2, distributed_noise_std, gaussian_noise
from chaihuo.runtime import Context

__all__ = ["run_client"]

Matrix = npt.NDArray[np.float64]
COMPONENT = "homo_lr"


def _arrays(inputs: Mapping[str, Any], usage: str) -> DataArrays | None:
    if inputs.get(usage) is None:
        return None
    arrays = training_arrays(inputs[usage], host=False, usage=usage, component=COMPONENT)
    check_features(arrays.feature_names, arrays.features, usage)
    return arrays


def _labels(arrays: DataArrays, usage: str) -> npt.NDArray[np.int64]:
    if arrays.labels is None:
        raise InvalidInputError(
            f"{COMPONENT} needs a label column in every client's `{usage}` data", public=True
        )
    values = np.asarray(arrays.labels, dtype=np.float64)
    if not np.all((values == np.round(values)) & (values >= 0) & (values < MAX_CLASSES)):
        raise InvalidInputError(
            f"{COMPONENT} labels must be whole numbers in [0, {MAX_CLASSES})", public=True
        )
    return values.astype(np.int64)


@dataclass
class _Client:
    ctx: Context
    params: HomoLrParams
    train: DataArrays
    validate: DataArrays | None
    classes: list[int]
    scaling: Scaling
    control: Matrix | None = None  # SCAFFOLD's c_i, kept across rounds

    def truth(self, arrays: DataArrays, usage: str) -> npt.NDArray[np.int64]:
        labels = _labels(arrays, usage)
        unknown = set(np.unique(labels).tolist()) - set(self.classes)
        if unknown:
            raise InvalidInputError(f"`{usage}` has classes no client trains on", public=True)
        return np.searchsorted(self.classes, labels).astype(np.int64)

    def stats(self, weights: Matrix, weight: float) -> RoundStats:
        if self.params.private:
            return RoundStats(weight, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        rows = float(self.train.rows)
        loss = log_loss(weights, self.train.features, self.truth(self.train, "train")) * rows
        val_loss = val_rows = correct = 0.0
        if self.validate is not None:
            truth = self.truth(self.validate, "validate")
            val_rows = float(len(truth))
            val_loss = log_loss(weights, self.validate.features, truth) * val_rows
            correct = float(np.sum(predicted(weights, self.validate.features) == truth))
        return RoundStats(weight, 1.0, loss, rows, val_loss, val_rows, correct)

    def update(self, plan: RoundPlan, layout: UpdateLayout) -> Matrix:
        """This round's vector: the weighted (or clipped and noised) update and statistics."""
        p = self.params
        step = LocalStep(
            p.local_epochs, p.batch_size, p.learning_rate,
            self.scaling.penalty(p.alpha if p.penalty == "l2" else 0.0),
            p.proximal_mu if p.strategy == "fedprox" else 0.0,
        )  # fmt: skip
        correction = None
        if plan.control is not None:
            self.control = np.zeros_like(plan.weights) if self.control is None else self.control
            correction = plan.control - self.control
        truth = self.truth(self.train, "train")
        trained, steps = train_locally(plan.weights, self.train.features, truth, step, correction)
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


def _set_up(ctx: Context, params: HomoLrParams, inputs: Mapping[str, Any]) -> _Client:
    error: BaseException | None = None
    train = validate = None
    labels = None
    try:
        train = _arrays(inputs, "train")
        if train is None:
            raise InvalidInputError(
                f"{COMPONENT} needs a `train` input on every client", public=True
            )
        labels = _labels(train, "train")
        validate = _arrays(inputs, "validate")
    except InvalidInputError as exc:
        error = exc
    governed = {name: getattr(params, name) for name in PROTOCOL_FIELDS}
    columns = [] if train is None else list(train.feature_names)
    setup = client_join(
        ctx, params, governed, columns=columns, labels=labels, error=error, component=COMPONENT
    )
    assert train is not None
    scaling = Scaling.identity(len(train.feature_names))
    if params.standardize:
        scaling, _present = client_moments(ctx.sub("moments"), params, train.features)
        train = replace(train, features=scaling.standardise(train.features))
        if validate is not None:
            validate = replace(validate, features=scaling.standardise(validate.features))
    return _Client(ctx, params, train, validate, setup.classes, scaling)


def run_client(ctx: Context, params: HomoLrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Train with the server (or only predict with a `model` input) on this client's rows."""
    if params.predict_only or params.rounds == 0:
        return _predict_only(inputs)
    client = _set_up(ctx, params, inputs)
    outputs = 1 if len(client.classes) == 2 else len(client.classes)
    shape = (outputs, len(client.train.feature_names) + 1)
    layout = UpdateLayout(shape, params.strategy == "scaffold")
    index = _start(ctx)
    while True:
        round_ctx = ctx.sub("round").indexed(index)
        server = round_ctx.peers(Role.SERVER)[0]
        plan = RoundPlan.from_wire(server.get("plan"), index, shape, layout.scaffold)
        if plan.stop:
            break
        if plan.train:
            vector = client.update(plan, layout)
            contribute(server.sub("agg"), vector, aggregation(round_ctx, params))
        index += 1
    weights = client.scaling.to_original(plan.weights)
    model = homo_model("client", weights, client.classes, client.train.feature_names,
                       {"rounds": index})  # fmt: skip
    return {"model": model, "predictions": _predictions(model.arrays["weights"], client.classes,
                                                        inputs, client.train)}  # fmt: skip


def _start(ctx: Context) -> int:
    """The round the server starts from (0, or the round after its checkpoint)."""
    start = ctx.peers(Role.SERVER)[0].get("start")
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise ProtocolViolationError("start: expected a round index")
    return start


def _predictions(
    weights: Matrix, classes: list[int], inputs: Mapping[str, Any], train: DataArrays | None
) -> Predictions:
    scored = _arrays(inputs, "test") or train
    if scored is None:
        raise InvalidInputError("predicting needs a `test` input", public=True)
    probs = probabilities(weights, scored.features)
    labels = None if scored.labels is None else np.asarray(scored.labels)
    if weights.shape[0] == 1:
        return Predictions("binary", scored.ids, probs[:, 0], labels, list(classes))
    return Predictions("multiclass", scored.ids, probs, labels, list(classes))


def _predict_only(inputs: Mapping[str, Any]) -> dict[str, Any]:
    found = model_weights(inputs.get("model"), "client")
    if found is None:
        raise InvalidInputError("predicting (predict_only or rounds: 0) needs a `model` input")
    weights, classes, _features = found
    return {"predictions": _predictions(weights, classes, inputs, None)}
