"""homo_secureboost client: bins, gradients and histograms of its own rows; rows never leave it."""

# What a client sends: its schema and set-up verdict, then only vectors through the secure
# sum (chaihuo.ml.homo._aggregate): its class counts and rows, its present-cell counts and
# moments per feature, its counts below each binning probe, and per tree level the integer
# (Σg, Σh, count) histograms of the nodes the server asks for. The server reads none of them
# alone. What a client learns: the union's classes, rows, moments and quantile cuts, each
# level's splits and every finished tree (the model).

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._data import DataArrays, training_arrays
from chaihuo.ml._predictions import Predictions
from chaihuo.ml.boost._bins import Bins, bin_columns
from chaihuo.ml.boost._gradients import GradientCoding
from chaihuo.ml.boost._tree import tree_values
from chaihuo.ml.homo._handshake import (
    class_labels,
    class_predictions,
    client_join,
    client_moments,
)
from chaihuo.ml.homoboost._binning import client_counts
from chaihuo.ml.homoboost._grow import client_tree
from chaihuo.ml.homoboost._model import HomoBoostModel
from chaihuo.ml.homoboost._params import HomoBoostParams
from chaihuo.runtime import Context

__all__ = ["run_client"]

COMPONENT = "homo_secureboost"
Matrix = npt.NDArray[np.float64]


def _arrays(inputs: Mapping[str, Any], usage: str, missing: bool) -> DataArrays | None:
    if inputs.get(usage) is None:
        return None
    arrays = training_arrays(inputs[usage], host=False, usage=usage, component=COMPONENT)
    if not missing and np.isnan(arrays.features).any():
        raise InvalidInputError(
            f"`{usage}` has missing cells: fill them in the reader or set use_missing", public=True
        )
    return arrays


def run_client(ctx: Context, params: HomoBoostParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Train with the server (or only predict with a `model` input) on this client's rows."""
    if params.predicts:
        model = HomoBoostModel.load(inputs.get("model"), "client")
        if model is None:
            raise InvalidInputError("predicting (predict_only or num_trees: 0) needs a `model`")
        return {"predictions": _predictions(model, inputs, None, params.threshold)}
    error: BaseException | None = None
    train, labels = None, None
    try:
        train = _arrays(inputs, "train", params.use_missing)
        if train is None:
            raise InvalidInputError(
                f"{COMPONENT} needs a `train` input on every client", public=True
            )
        labels = class_labels(train, "train", COMPONENT)
    except InvalidInputError as exc:
        error = exc
    columns = [] if train is None else list(train.feature_names)
    setup = client_join(ctx, params, params.governed(), columns=columns, labels=labels,
                        error=error, component=COMPONENT)  # fmt: skip
    assert train is not None and labels is not None
    _, _present = client_moments(ctx.sub("moments"), params, train.features)
    cuts = client_counts(ctx.sub("bins"), params, train.features, params.max_bin)
    bins = Bins(cuts, bin_columns(train.features, cuts), params.use_missing)
    y = np.searchsorted(setup.classes, labels).astype(np.float64)
    loss = params.loss(len(setup.classes))
    init = _initial_scores(ctx, loss.outputs)
    scores = np.tile(init, (len(y), 1))
    trees = []
    for index in range(params.num_trees):
        round_ctx = ctx.sub("round").indexed(index)
        update = np.zeros_like(scores)
        for k, (g, h) in enumerate(loss.gradients(scores, y)):
            coded = GradientCoding.for_tree(g, h, params.precision_bits).encode(g, h)
            tree, leaves = client_tree(round_ctx.sub("tree").indexed(k), params, bins, coded)
            trees.append(tree)
            update[:, k] = tree_values(tree, leaves)
        scores = scores + update
    model = HomoBoostModel(params.objective, setup.classes, columns, init, trees)
    return {"model": model.artifact("client", {"rounds": params.num_trees}),
            "predictions": _predictions(model, inputs, train, params.threshold)}  # fmt: skip


def _initial_scores(ctx: Context, outputs: int) -> Matrix:
    init = ctx.peers(Role.SERVER)[0].get("init")
    if not isinstance(init, np.ndarray) or init.dtype != np.float64 or init.shape != (outputs,):
        raise ProtocolViolationError(f"initial scores: expected {outputs} float64 values")
    return init


def _predictions(
    model: HomoBoostModel, inputs: Mapping[str, Any], train: DataArrays | None, threshold: float
) -> Predictions:
    scored = _arrays(inputs, "test", True) or train
    if scored is None:
        raise InvalidInputError("predicting needs a `test` input", public=True)
    return class_predictions(scored, model.predict(scored.features), model.classes, threshold)
