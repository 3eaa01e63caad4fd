"""The boosting rounds, shared by the protocol's guest and the plaintext reference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from chaihuo.ml.boost._gradients import GradientCoding
from chaihuo.ml.boost._grow import SplitSource, grow_tree
from chaihuo.ml.boost._objectives import Objective
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._tree import Tree, tree_values

__all__ = ["Boosted", "boost"]

Ints = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float64]
BeforeTree = Callable[[int, GradientCoding, Ints, Ints], None]
"""(tree index, this tree's coding, g_i, h_i) → None: the guest sends [[m_i]] to its hosts."""
AfterRound = Callable[[int, list[Tree], Matrix], bool]
"""(round, its trees, training scores after it) → stop now: metrics, validation, progress."""


Boosted = tuple[list[Tree], npt.NDArray[np.float64], Matrix]
"""(trees, initial scores, training scores)."""


def boost(
    sources: list[SplitSource], loss: Objective, y: npt.NDArray[np.float64], params: BoostParams,
    *, start: Boosted | None = None, before_tree: BeforeTree | None = None,
    after_round: AfterRound | None = None,
) -> Boosted:  # fmt: skip
    """`params.num_trees` rounds of one tree per output, from the loss's initial scores (or
    after the trees of `start`, a saved model's, whose rounds keep their numbers); every
    output's gradients of a round come from the scores before it (as XGBoost). With
    `complete_secure` the model's first round uses the first source only (the guest's
    columns), and `before_tree` is called only for trees other sources take part in."""
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
        for k, (g, h) in enumerate(loss.gradients(scores, y)):
            coding = GradientCoding.for_tree(g, h, params.precision_bits)
            gi, hi = coding.encode(g, h)
            if before_tree is not None and len(active) > 1:
                before_tree(len(trees), coding, gi, hi)
            tree, leaves = grow_tree(active, gi, hi, coding, params)
            trees.append(tree)
            update[:, k] = tree_values(tree, leaves)
        scores = scores + update
        if after_round is not None and after_round(index, trees[first:], scores):
            break
    return trees, init, scores
