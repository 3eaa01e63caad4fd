"""Plaintext reference of the GLM protocol: the same batches, residuals, quantised gradients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.ml._optim import Optimizer, make_optimizer
from chaihuo.ml.glm._data import label_matrix
from chaihuo.ml.glm._family import Family, tangent_loss_parts, tangent_residual
from chaihuo.ml.glm._model import initial_weights
from chaihuo.ml.glm._params import GlmParams
from chaihuo.ml.glm._secure import Quantized, quantize
from chaihuo.ml.glm._standardize import Standardizer
from chaihuo.ml.vertical import Convergence, batches

__all__ = ["PlainFit", "fit_plaintext"]

Vector = npt.NDArray[np.float64]


@dataclass
class PlainFit:
    """Weights of every party as the federated run would produce them (no encryption)."""

    guest: Vector
    intercept: Vector
    hosts: list[Vector]
    epochs: list[int] = field(default_factory=list)
    losses: list[list[float]] = field(default_factory=list)
    host_offsets: list[Vector] = field(default_factory=list)
    """Each host's constant (models,) from standardising: subtracted from its scores."""

    def scores(self, guest_x: Vector, host_xs: list[Vector]) -> Vector:
        """Linear predictors u (rows × models), on the data's scale as the parties save them."""
        u = guest_x @ self.guest.T + self.intercept
        offsets = self.host_offsets or [np.zeros(len(self.intercept))] * len(self.hosts)
        for x, w, offset in zip(host_xs, self.hosts, offsets, strict=True):
            u = u + x @ w.T - offset
        return np.asarray(u, dtype=np.float64)


@dataclass
class _Party:
    x: Vector
    q: Quantized
    w: Vector
    optimizer: Optimizer


def fit_plaintext(
    family: Family,
    params: GlmParams,
    guest_x: Vector,
    labels: npt.NDArray[Any],
    host_xs: list[Vector],
    *,
    seed: int,
    classes: list[Any] | None = None,
    exposure: Vector | None = None,
) -> PlainFit:
    """Train as the federated protocol does, in the clear, for reference and benchmarks.

    Identical: each party's standardisation, the intercept's start, batch order (from `seed`),
    the residual (Taylor for logistic), quantisation of each party's features in X^T d,
    per-party optimisers, loss and convergence rule; weights returned on the data's scale
    (`host_offsets` the hosts' constants), as the parties save them. Only the
    fixed-point encoding of u and d (2^−24) differs, which moves weights by ~1e−7.
    """
    classes = classes or []
    targets = label_matrix(family, classes, labels)
    stds = [
        Standardizer.fit(x) if params.standardize else Standardizer.identity(x.shape[1])
        for x in (guest_x, *host_xs)
    ]
    guest_s = (guest_x - stds[0].mean) / stds[0].scale
    hosts_s = [(x - std.mean) / std.scale for x, std in zip(host_xs, stds[1:], strict=True)]
    fits = [
        _fit_one(
            family, params, guest_s, targets[k], hosts_s, seed=seed, model=k, exposure=exposure
        )
        for k in range(targets.shape[0])
    ]
    width = guest_x.shape[1]
    guest, guest_offset = stds[0].to_original(np.stack([f[0][0].w[:width] for f in fits]))
    intercept = np.array([f[0][0].w[width] if params.fit_intercept else 0.0 for f in fits])
    hosts = [
        std.to_original(np.stack([f[0][h + 1].w for f in fits])) for h, std in enumerate(stds[1:])
    ]
    return PlainFit(
        guest=guest,
        intercept=intercept - guest_offset,
        hosts=[w for w, _ in hosts],
        epochs=[len(f[1]) for f in fits],
        losses=[f[1] for f in fits],
        host_offsets=[offset for _, offset in hosts],
    )


def _parties(
    params: GlmParams, guest_x: Vector, host_xs: list[Vector], seed: int, model: int
) -> list[_Party]:
    bits = params.floating_point_precision
    ones = [np.ones((guest_x.shape[0], 1))] if params.fit_intercept else []
    guest_full = np.hstack([guest_x, *ones])
    parties = []
    for index, x in enumerate([guest_full, *host_xs]):
        intercept = index == 0 and params.fit_intercept
        w = initial_weights(x.shape[1], params.init_method, seed, index, model)
        optimizer = make_optimizer(params.optimizer_params(), x.shape[1], intercept=intercept)
        parties.append(_Party(x, quantize(x, bits), w, optimizer))
    return parties


def _fit_one(
    family: Family,
    params: GlmParams,
    guest_x: Vector,
    y: Vector,
    host_xs: list[Vector],
    *,
    seed: int,
    model: int,
    exposure: Vector | None,
) -> tuple[list[_Party], list[float]]:
    parties = _parties(params, guest_x, host_xs, seed, model)
    tangent = family.name == "logistic" and params.sigmoid == "taylor_at_guest"
    if params.fit_intercept and params.intercept_init == "labels":
        parties[0].w[-1] = family.best_intercept(y, exposure, tangent=tangent)
    rows = len(y)
    convergence = Convergence(params.early_stop, params.tol)
    losses: list[float] = []
    for epoch in range(params.epochs):
        starts = [p.w.copy() for p in parties]
        loss = 0.0
        for index in batches(rows, params.batch_size, seed, epoch, shuffle=params.shuffle):
            u = sum((p.x[index] @ p.w for p in parties), np.zeros(len(index)))
            e = None if exposure is None else exposure[index]
            if tangent:  # the guest's own score is parties[0]'s part of u
                u_g = parties[0].x[index] @ parties[0].w
                offset, slope = tangent_residual(u_g, y[index])
                residual = offset + slope * (u - u_g)
                at_guest, linear = tangent_loss_parts(u_g, y[index])
                u_h = u - u_g
                loss += at_guest + float(linear @ u_h) + 0.125 * float(u_h @ u_h)
            else:
                residual = family.residual(u, y[index], e)
                loss += family.loss_sum(u, y[index], e)
            for p in parties:
                exact = (p.q.values[index].T.astype(np.float64) @ residual) * np.ldexp(
                    1.0, -p.q.shifts.astype(np.int32)
                )
                p.w = p.optimizer.step(p.w, exact * family.scale / len(index))
        loss = loss / rows + sum(p.optimizer.penalty_loss(p.w) for p in parties)
        change = sum(float(np.sum((p.w - s) ** 2)) for p, s in zip(parties, starts, strict=True))
        losses.append(loss)
        if convergence.converged(loss, change if params.early_stop == "weight_diff" else None):
            break
    return parties, losses
