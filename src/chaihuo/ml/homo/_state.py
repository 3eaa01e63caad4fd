"""The server's training state — model, strategy, progress, privacy spent — and its checkpoints."""

# After every round the server may write its whole state to `checkpoint_dir` (JSON + npz,
# content-hashed, written atomically: chaihuo.ml.ModelArtifact; never pickle). A run with
# `resume: true` reads it back and goes on from the next round, so a crash costs at most the
# round in progress: the model, the adaptive optimiser's moments, SCAFFOLD's server control
# variate, the loss history, early stopping and the RDP accountant all continue. The clients'
# set-up sums are recomputed; a checkpoint whose classes, columns, strategy or scaling differ
# from them is refused (the clients' data changed). SCAFFOLD's client control variates live
# on the clients and restart at zero.

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._diverged import diverged_error
from chaihuo.ml.homo._params import HomoLrParams
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.ml.homo._strategy import ServerStrategy
from chaihuo.ml.homo._update import RoundStats
from chaihuo.ml.privacy import RdpAccountant

__all__ = ["CHECKPOINT", "Progress", "TrainingState"]

CHECKPOINT = "homo_lr.checkpoint"
Matrix = npt.NDArray[np.float64]
_DIVERGED_ROUNDS = 3


@dataclass
class Progress:
    """Loss history, early stopping and the best model so far."""

    params: HomoLrParams
    losses: list[float] = field(default_factory=list)
    best_loss: float = math.inf
    best: Matrix | None = None
    since_best: int = 0

    def record(self, weights: Matrix, stats: RoundStats) -> bool:
        """Note the statistics of the round's incoming `weights`; True once the training loss
        changes by less than `tol`."""
        converged = False
        if stats.loss is not None:
            converged = bool(self.losses) and abs(self.losses[-1] - stats.loss) < self.params.tol
            self.losses.append(stats.loss)
            self._check_divergence()
        if self.params.early_stopping_rounds is not None and stats.validation_loss is not None:
            if stats.validation_loss < self.best_loss:
                self.best_loss, self.best, self.since_best = stats.validation_loss, weights, 0
            else:
                self.since_best += 1
        return converged

    def _check_divergence(self) -> None:
        # From zero weights the loss starts at log K; three rounds in a row above twice that,
        # or a non-finite loss, is a step too large for the features, not noise.
        recent = self.losses[-_DIVERGED_ROUNDS:]
        runaway = len(recent) == _DIVERGED_ROUNDS and min(recent) > 2 * self.losses[0]
        if runaway or not math.isfinite(self.losses[-1]):
            raise diverged_error(
                len(self.losses), self.params.learning_rate, f"loss {self.losses[-1]:.4g}"
            )

    @property
    def exhausted(self) -> bool:
        """Validation loss has not improved for `early_stopping_rounds` rounds."""
        patience = self.params.early_stopping_rounds
        return patience is not None and self.since_best >= patience


@dataclass
class TrainingState:
    """Everything the next round depends on (weights on the standardised scale)."""

    round: int
    weights: Matrix
    control: Matrix | None
    strategy: ServerStrategy
    progress: Progress
    accountant: RdpAccountant = field(default_factory=RdpAccountant)

    def save(self, directory: Path, scaling: Scaling, about: dict[str, Any]) -> None:
        """Write the checkpoint after a round (atomically; the previous one until then)."""
        arrays = {"weights": self.weights, "mean": scaling.mean, "scale": scaling.scale}
        optional = (("control", self.control), ("m", self.strategy.m), ("v", self.strategy.v),
                    ("best", self.progress.best))  # fmt: skip
        arrays.update({name: value for name, value in optional if value is not None})
        meta = {
            **about, "round": self.round, "losses": self.progress.losses,
            "best_loss": _finite(self.progress.best_loss), "since_best": self.progress.since_best,
            "accountant": self.accountant.to_dict(),
        }  # fmt: skip
        ModelArtifact("homo_lr-checkpoint", "server", meta, arrays).save(directory, CHECKPOINT)

    @classmethod
    def load(
        cls, directory: Path, params: HomoLrParams, scaling: Scaling, about: dict[str, Any]
    ) -> TrainingState:
        """The state of the last checkpoint, checked against this run's set-up."""
        path = directory / f"{CHECKPOINT}.json"
        if not path.exists():
            raise InvalidInputError(f"resume: no checkpoint in {directory}", public=True)
        saved = ModelArtifact.load(path)
        meta, arrays = saved.meta, saved.arrays
        differ = sorted(k for k, v in about.items() if meta.get(k) != v)
        if not np.allclose(arrays["mean"], scaling.mean, rtol=1e-12, atol=1e-12) or not (
            np.allclose(arrays["scale"], scaling.scale, rtol=1e-12, atol=1e-12)
        ):
            differ.append("scaling")
        if differ:
            raise InvalidInputError(
                f"resume: the checkpoint does not fit this job ({', '.join(differ)} differ)",
                public=True,
            )
        strategy = ServerStrategy(params, arrays.get("m"), arrays.get("v"))
        best_loss = meta["best_loss"]
        progress = Progress(
            params, [float(x) for x in meta["losses"]],
            math.inf if best_loss is None else float(best_loss), arrays.get("best"),
            int(meta["since_best"]),
        )  # fmt: skip
        accountant = RdpAccountant.from_dict(meta["accountant"])
        return cls(int(meta["round"]), arrays["weights"], arrays.get("control"), strategy,
                   progress, accountant)  # fmt: skip


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
