"""The vector a client contributes each round, and the server's reading of the sum."""

# Layout: [Δw · weight | Δc (SCAFFOLD) | weight, clients, loss·rows, rows, validation loss·rows,
# validation rows, validation correct]. weight is the client's row count (FedAvg's n_k / n), or
# 1 under DP, whose clipping bounds one client's influence only for unweighted sums (McMahan
# et al. 2018, DP-FedAvg with fixed weights). The statistics describe the round's incoming
# global model on the clients' own rows; under DP they are left out (zeros): the accountant's
# ε covers the model updates only.

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["RoundStats", "UpdateLayout"]

Matrix = npt.NDArray[np.float64]
_STATS = 7


@dataclass(frozen=True)
class RoundStats:
    """Sums over one round's clients."""

    weight: float
    clients: float
    loss_sum: float
    rows: float
    validation_loss_sum: float
    validation_rows: float
    validation_correct: float

    @property
    def loss(self) -> float | None:
        """Mean training log-loss of the round's incoming model, if measured."""
        return self.loss_sum / self.rows if self.rows > 0 else None

    @property
    def validation_loss(self) -> float | None:
        """Mean validation log-loss, if the clients hold validation rows."""
        return self.validation_loss_sum / self.validation_rows if self.validation_rows else None

    @property
    def validation_accuracy(self) -> float | None:
        """Validation accuracy, if the clients hold validation rows."""
        return self.validation_correct / self.validation_rows if self.validation_rows else None


@dataclass(frozen=True)
class UpdateLayout:
    """Where each part sits in the contributed vector for weights of `shape`."""

    shape: tuple[int, int]
    scaffold: bool

    @property
    def cells(self) -> int:
        """Entries of one weight matrix."""
        return self.shape[0] * self.shape[1]

    @property
    def size(self) -> int:
        """Length of the vector."""
        return self.cells * (2 if self.scaffold else 1) + _STATS

    def pack(self, delta: Matrix, control_delta: Matrix | None, stats: RoundStats) -> Matrix:
        """One client's vector (delta already multiplied by its weight)."""
        parts = [delta.reshape(-1)]
        if self.scaffold:
            assert control_delta is not None
            parts.append(control_delta.reshape(-1))
        parts.append(np.array([
            stats.weight, stats.clients, stats.loss_sum, stats.rows, stats.validation_loss_sum,
            stats.validation_rows, stats.validation_correct,
        ]))  # fmt: skip
        return np.concatenate(parts)

    def unpack(self, total: Matrix) -> tuple[Matrix, Matrix | None, RoundStats]:
        """(Σ weighted Δw, Σ Δc or None, the summed statistics)."""
        cells = self.cells
        delta = total[:cells].reshape(self.shape)
        control = total[cells : 2 * cells].reshape(self.shape) if self.scaffold else None
        stats = RoundStats(*(float(x) for x in total[-_STATS:]))
        return delta, control, stats
