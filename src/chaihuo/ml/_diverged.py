"""Training that diverged: how a vertical trainer recognises it and the error every party raises."""

from __future__ import annotations

import math
from collections.abc import Sequence

from chaihuo.core import ChaihuoError

__all__ = ["TrainingDivergedError", "diverged", "diverged_error"]

GROWTH = 1e3
"""A loss this many times the first epoch's has run away (a converging loss only falls)."""

CEILING = 1e15
"""Beyond this a mean loss is meaningless whatever the data (and the fixed point overflows)."""


class TrainingDivergedError(ChaihuoError):
    """The loss ran away or a value left the range the encrypted protocol can carry: the
    learning rate is too large for the features' scale."""

    code = "TRAINING_DIVERGED"


def diverged(losses: Sequence[float]) -> bool:
    """Whether the last epoch's loss shows divergence: not finite, above CEILING, or GROWTH
    times the first epoch's."""
    last = losses[-1]
    if not math.isfinite(last) or abs(last) > CEILING:
        return True
    return len(losses) > 1 and losses[0] > 0 and last > GROWTH * losses[0]


def diverged_error(
    epoch: int, learning_rate: float | None, detail: str = ""
) -> TrainingDivergedError:
    """The error of a party whose training diverged in `epoch` (1-based): its own learning rate
    named (None: a party without weights, the arbiter). The public text names the epoch and
    what to change, never a loss or a value (`detail` stays with the party)."""
    rate = (
        "the learning_rate" if learning_rate is None else f"learning_rate (now {learning_rate:g})"
    )
    public = (
        f"training diverged in epoch {epoch}: lower {rate} or scale the features "
        "(feature_scale before training)"
    )
    return TrainingDivergedError(f"{public}; {detail}" if detail else public, public=public)
