"""Plaintext reference of SSHE LR: the same approximated algorithm, in numpy, on one machine."""

# The secure protocol computes exactly this, up to fixed-point rounding: the same quantised
# features (each party's per-column scales), the same batches, the same sigmoid
# approximation, the same updates (`Optimizer`; with shared weights sgd + l2, which is linear)
# and the same stopping rules. Tests compare the two; benchmarks time an epoch of it.

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from chaihuo.ml._optim import make_optimizer
from chaihuo.ml.sshe._fixed import quantize, quantize_like
from chaihuo.ml.sshe._params import SsheParams
from chaihuo.ml.vertical import EpochStop, batches

__all__ = ["PlainFit", "batch_terms", "initial_weights", "plain_fit", "taylor_loss"]

Vector = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]
_LOG2 = math.log(2.0)


@dataclass
class PlainFit:
    """Weights of both parties (the guest's intercept last), and the loss history."""

    guest: Vector
    host: Vector
    losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    epochs: int = 0


def epoch_stop(params: SsheParams, *, validating: bool) -> EpochStop:
    """The guest's per-epoch decision rule for these parameters (shared vertical toolkit)."""
    return EpochStop(params.early_stop, params.tol, params.early_stopping_rounds, validating)


def initial_weights(size: int, method: str, seed: int, party: int) -> Vector:
    """Zeros, or uniform on (−0.01, 0.01) from a generator seeded by (seed, party)."""
    if method == "zeros":
        return np.zeros(size)
    return np.random.default_rng([seed, 17, party]).uniform(-0.01, 0.01, size)


def taylor_loss(z: Vector, y: Vector) -> Vector:
    """Second-order Taylor expansion of log(1 + e^z) − y·z at 0: log 2 + z/2 − y·z + z²/8."""
    return _LOG2 + z / 2 - y * z + z * z / 8


def batch_terms(sigmoid: str, zg: Vector, zh: Vector, y: Vector) -> tuple[Vector, Vector]:
    """(residual e ≈ σ(z) − y, per-row loss) of the approximation `sigmoid`.

    taylor: σ(z) ≈ ½ + z/4 with z = z_g + z_h; taylor_clipped: the same with z clipped to
    [−2, 2] (σ clipped to [0, 1]; the loss is the Taylor loss at the clipped z).
    taylor_at_guest: σ(z_g + z_h) ≈ σ(z_g) + σ'(z_g)·z_h, and the loss expanded likewise to
    second order in z_h.
    """
    if sigmoid in ("taylor", "taylor_clipped"):
        z = zg + zh if sigmoid == "taylor" else np.clip(zg + zh, -2.0, 2.0)
        return 0.5 + z / 4 - y, taylor_loss(z, y)
    s = 1.0 / (1.0 + np.exp(-zg))
    slope = s * (1 - s)
    residual = s - y + slope * zh
    loss = np.logaddexp(0.0, zg) - y * zg + (s - y) * zh + 0.5 * slope * zh * zh
    return residual, loss


def _with_intercept(x: Matrix, fit_intercept: bool) -> Matrix:
    return np.hstack([x, np.ones((x.shape[0], 1))]) if fit_intercept else x


class _Party:
    """One party's quantised rows, weights and optimizer in the reference."""

    def __init__(self, q: Matrix, params: SsheParams, seed: int, index: int) -> None:
        self.q = q
        self.w = initial_weights(q.shape[1], params.init_method, seed, index)
        intercept = index == 0 and params.fit_intercept
        self.opt = make_optimizer(params.optimizer_params(), len(self.w), intercept=intercept)

    def step(self, rows: npt.NDArray[np.int64], residual: Vector) -> None:
        self.w = self.opt.step(self.w, self.q[rows].T @ residual / len(rows))


def _epoch(
    guest: _Party, host: _Party, labels: Vector, params: SsheParams, *, seed: int, epoch: int
) -> float:
    total = 0.0
    for rows in batches(len(labels), params.batch_size, seed, epoch, shuffle=params.shuffle):
        zg, zh = guest.q[rows] @ guest.w, host.q[rows] @ host.w
        residual, loss = batch_terms(params.sigmoid, zg, zh, labels[rows])
        total += float(loss.sum())
        guest.step(rows, residual)
        host.step(rows, residual)
    return total / len(labels)


def plain_fit(
    guest_x: Matrix,
    host_x: Matrix,
    labels: Vector,
    params: SsheParams,
    *,
    seed: int,
    guest_bits: int | None = None,
    host_bits: int | None = None,
    validate: tuple[Matrix, Matrix, Vector] | None = None,
) -> PlainFit:
    """Train on the quantised features of both parties exactly as the protocol does."""
    guest_q = quantize(_with_intercept(guest_x, params.fit_intercept),
                       guest_bits or params.floating_point_precision)  # fmt: skip
    host_q = quantize(host_x, host_bits or params.floating_point_precision)
    guest, host = _Party(guest_q.reals, params, seed, 0), _Party(host_q.reals, params, seed, 1)
    val = None
    if validate is not None:
        vg = quantize_like(_with_intercept(validate[0], params.fit_intercept), guest_q.shifts)
        val = (vg.reals, quantize_like(validate[1], host_q.shifts).reals, validate[2])
    stopper = epoch_stop(params, validating=val is not None)
    fit = PlainFit(guest.w, host.w)
    best = (guest.w.copy(), host.w.copy())
    for epoch in range(params.epochs):
        loss = _epoch(guest, host, labels, params, seed=seed, epoch=epoch)
        loss_value = loss if params.compute_loss else None
        val_loss = None
        if val is not None:
            _, terms = batch_terms(params.sigmoid, val[0] @ guest.w, val[1] @ host.w, val[2])
            val_loss = float(terms.mean())
            fit.validation_losses.append(val_loss)
        if loss_value is not None:
            fit.losses.append(loss_value)
        fit.epochs = epoch + 1
        is_best, stop = stopper.update(loss_value, val_loss)
        if is_best:
            best = (guest.w.copy(), host.w.copy())
        if stop:
            break
    fit.guest, fit.host = guest.w, host.w
    if val is not None and params.early_stopping_rounds is not None:
        fit.guest, fit.host = best
    return fit
