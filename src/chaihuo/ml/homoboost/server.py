"""homo_secureboost server: finds every split from the clients' summed histograms."""

# What the server learns (secure aggregation on): the clients' schema and verdicts; per step
# only sums over the clients — class counts and rows, present cells and moments per feature,
# counts below each binning probe (so the union's quantile cuts), and per tree level the
# summed histograms of the nodes it asks for — hence the model, whose node statistics are
# the union's. Nothing of one client alone; with `secure_aggregation: false` it sees each
# client's histograms.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chaihuo.core import InvalidInputError, Role
from chaihuo.ml.boost._bins import Bins, ColumnSampler
from chaihuo.ml.boost._gradients import GradientCoding
from chaihuo.ml.boost._tree import Tree
from chaihuo.ml.homo._handshake import server_moments, server_welcome
from chaihuo.ml.homoboost._binning import server_cuts
from chaihuo.ml.homoboost._grow import Grower, server_tree
from chaihuo.ml.homoboost._model import HomoBoostModel
from chaihuo.ml.homoboost._params import HomoBoostParams
from chaihuo.runtime import Context

__all__ = ["run_server"]

COMPONENT = "homo_secureboost"


def run_server(ctx: Context, params: HomoBoostParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Grow `num_trees` rounds of trees; every party ends with the same model."""
    if params.predicts:
        if HomoBoostModel.load(inputs.get("model"), "server") is None:
            raise InvalidInputError("predicting (predict_only or num_trees: 0) needs a `model`")
        return {}
    setup, names = server_welcome(ctx, params, params.governed(), COMPONENT)
    if params.objective == "binary:logistic" and len(setup.classes) != 2:
        raise InvalidInputError(
            f"binary:logistic needs two classes, the clients hold {len(setup.classes)}: "
            "use multi:softmax", public=True,
        )  # fmt: skip
    scaling, present = server_moments(ctx.sub("moments"), params, len(names))
    cuts = server_cuts(ctx.sub("bins"), params, scaling, present, params.max_bin)
    bins = Bins(cuts, np.zeros((0, len(names)), dtype=np.int32), params.use_missing)
    loss = params.loss(len(setup.classes))
    # The best constant scores from the summed class counts, as the reference computes them
    # from the union's labels.
    labels = np.repeat(np.arange(len(setup.classes)), setup.counts).astype(np.float64)
    init = loss.initial_scores(labels)
    ctx.peers(Role.CLIENT).put("init", init)
    sampler = None
    if params.colsample_bytree < 1:
        sampler = ColumnSampler(bins, params.colsample_bytree, params.random_seed or 0, 0)
    coding = GradientCoding.for_tree(np.ones(1), np.ones(1), params.precision_bits)
    grower = Grower(bins, coding, params, params, sampler)
    trees: list[Tree] = []
    for index in range(params.num_trees):
        round_ctx = ctx.sub("round").indexed(index)
        for k in range(loss.outputs):
            trees.append(server_tree(round_ctx.sub("tree").indexed(k), grower, len(trees)))
        ctx.metrics.log("trees", len(trees), step=index)
    model = HomoBoostModel(params.objective, setup.classes, list(names), init, trees)
    meta = {"rounds": params.num_trees, "cuts": [c.tolist() for c in cuts]}
    return {"model": model.artifact("server", meta)}
