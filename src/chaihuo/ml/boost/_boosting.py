"""The boosting rounds, shared by the protocol's guest and the plaintext reference."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.ml.boost._gradients import Coded, GradientCoding
from chaihuo.ml.boost._grow import SplitSource, grow_tree
from chaihuo.ml.boost._objectives import Objective
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._tree import Tree, tree_values

__all__ = ["Boosted", "boost", "goss_sample", "row_sample"]

Ints = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float64]
BeforeTree = Callable[[int, GradientCoding, Coded], None]
"""(tree index, this tree's coding, its g_i, h_i, c_i) → None: the guest sends [[m_i]]."""
AfterRound = Callable[[int, list[Tree], Matrix], bool]
"""(round, its trees, training scores after it) → stop now: metrics, validation, progress."""


Boosted = tuple[list[Tree], npt.NDArray[np.float64], Matrix]
"""(trees, initial scores, training scores)."""


def _uniform(ids: npt.NDArray[Any], seed: int, index: int) -> npt.NDArray[np.float64]:
    """A uniform draw in [0, 1) per row from a keyed hash of (seed, round, its id): it does
    not depend on the order rows come in."""
    prefix = f"{seed}|{index}|".encode()
    draws = [
        int.from_bytes(hashlib.blake2b(prefix + str(key).encode(), digest_size=8).digest(), "big")
        for key in ids.tolist()
    ]
    return np.array(draws, dtype=np.float64) / 2.0**64


def row_sample(ids: npt.NDArray[Any], seed: int, index: int, rate: float) -> npt.NDArray[np.bool_]:
    """Round `index`'s rows: those whose draw falls below `rate`."""
    return _uniform(ids, seed, index) < rate


def goss_sample(
    ids: npt.NDArray[Any], pairs: list[tuple[Matrix, Matrix]], seed: int, index: int,
    params: BoostParams,
) -> tuple[npt.NDArray[np.bool_], Matrix]:  # fmt: skip
    """GOSS (LightGBM's gradient-based one-side sampling): the top_rate of rows by |g| (summed
    over outputs; ties by a keyed hash of the id, so the draw ignores row order), plus rows of
    the rest drawn by `row_sample` at other_rate / (1 − top_rate), their g and h weighted by
    (1 − top_rate) / other_rate. Returns (rows in, weight per row)."""
    size = np.abs(sum(g for g, _ in pairs))
    tie = _uniform(ids, seed, -1 - index)
    order = np.lexsort((tie, -size))
    top = np.zeros(len(ids), dtype=bool)
    top[order[: round(params.top_rate * len(ids))]] = True
    rest = row_sample(ids, seed, index, params.other_rate / (1 - params.top_rate)) & ~top
    weight = np.where(rest, (1 - params.top_rate) / params.other_rate, 1.0)
    return top | rest, weight


def boost(
    sources: list[SplitSource], loss: Objective, y: npt.NDArray[np.float64], params: BoostParams,
    *, seed: int = 0, ids: npt.NDArray[Any] | None = None, start: Boosted | None = None,
    before_tree: BeforeTree | None = None, after_round: AfterRound | None = None,
) -> Boosted:  # fmt: skip
    """`params.num_trees` rounds of one tree per output, from the loss's initial scores (or
    after the trees of `start`, a saved model's, whose rounds keep their numbers); every
    output's gradients of a round come from the scores before it (as XGBoost). With
    `complete_secure` the model's first round uses the first source only (the guest's
    columns), and `before_tree` is called only for trees other sources take part in. With
    `subsample` < 1 each round draws its rows by id (`row_sample`)."""
    if start is None:
        init = loss.initial_scores(y)
        trees: list[Tree] = []
        scores = np.tile(init, (len(y), 1))
    else:
        trees, init, scores = list(start[0]), start[1], start[2].copy()
    done = len(trees) // loss.outputs
    for index in range(done, done + params.num_trees):
        update = np.zeros_like(scores)
        first = len(trees)
        active = sources[:1] if params.complete_secure and index == 0 else sources
        keys = ids if ids is not None else np.arange(len(y))
        pairs = loss.gradients(scores, y)
        sample, weight = None, None
        if params.subsample < 1:
            sample = row_sample(keys, seed, index, params.subsample)
        elif params.run_goss:
            sample, weight = goss_sample(keys, pairs, seed, index, params)
        scale = weight if weight is not None else 1.0
        for k, (raw_g, raw_h) in enumerate(pairs):
            g, h = raw_g * scale, raw_h * scale
            coding = GradientCoding.for_tree(g, h, params.precision_bits)
            coded = coding.encode(g, h, sample)
            if before_tree is not None and len(active) > 1:
                before_tree(len(trees), coding, coded)
            tree, leaves = grow_tree(active, coded, coding, params, len(trees))
            trees.append(tree)
            update[:, k] = tree_values(tree, leaves)
        scores = scores + update
        if after_round is not None and after_round(index, trees[first:], scores):
            break
    return trees, init, scores
