"""homo_lr server: samples clients, sums their updates and moves the global model."""

# What the server learns (secure aggregation on): the clients' schema digests and set-up
# verdicts; per step only sums over the clients that stayed — class counts and total rows at
# set-up; Σ weighted updates, Σ weights, Σ loss sums per round — and which clients dropped.
# It never receives a row, a label or one client's update in a form it can read. Without
# secure aggregation (`secure_aggregation: false`) it sees each client's update. Under
# client-level DP the (ε, δ) spent so far is logged every round as `epsilon`.

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError, Role
from chaihuo.ml._diverged import diverged_error
from chaihuo.ml.homo._aggregate import aggregate
from chaihuo.ml.homo._handshake import aggregation, server_moments, server_welcome
from chaihuo.ml.homo._messages import RoundPlan
from chaihuo.ml.homo._model import homo_model, model_weights
from chaihuo.ml.homo._params import PROTOCOL_FIELDS, HomoLrParams
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.ml.homo._strategy import ServerStrategy
from chaihuo.ml.homo._update import RoundStats, UpdateLayout
from chaihuo.ml.privacy import RdpAccountant
from chaihuo.mpc import TooFewClientsError
from chaihuo.runtime import Context, Peer

__all__ = ["run_server"]

Matrix = npt.NDArray[np.float64]
COMPONENT = "homo_lr"
_DIVERGED_ROUNDS = 3


@dataclass
class _Progress:
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


def _send_plans(clients: list[Peer], plans: Mapping[int, RoundPlan], timeout: float) -> set[int]:
    """Send each client its plan; the indices not reached within `timeout` (gone)."""
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="homo-plan")
    futures = {i: pool.submit(clients[i].put, "plan", plan.to_wire()) for i, plan in plans.items()}
    done, _ = wait(futures.values(), timeout=timeout)
    pool.shutdown(wait=False)
    return {i for i, f in futures.items() if f not in done or f.exception() is not None}


def run_server(ctx: Context, params: HomoLrParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Run the rounds; every party ends with the same global model."""
    warm = model_weights(inputs.get("model"), "server")
    if params.predict_only or params.rounds == 0:
        if warm is None:
            raise InvalidInputError("predicting (predict_only or rounds: 0) needs a `model` input")
        return {}
    governed = {name: getattr(params, name) for name in PROTOCOL_FIELDS}
    setup, names = server_welcome(ctx, params, governed, COMPONENT)
    scaling = Scaling.identity(len(names))
    if params.standardize:
        scaling, _present = server_moments(ctx.sub("moments"), params, len(names))
    shape = (1 if len(setup.classes) == 2 else len(setup.classes), len(names) + 1)
    weights = np.zeros(shape)
    if warm is not None:
        if warm[0].shape != shape or warm[1] != setup.classes:
            raise InvalidInputError("the `model` input does not fit the clients' data")
        weights = scaling.to_standard(warm[0])
    rounds = _Rounds(ctx, params, UpdateLayout(shape, params.strategy == "scaffold"))
    final = scaling.to_original(rounds.run(weights))
    meta: dict[str, Any] = {"rounds": rounds.started, "strategy": params.strategy}
    if params.private:
        meta["epsilon"], meta["delta"] = rounds.accountant.epsilon(params.delta), params.delta
    return {"model": homo_model("server", final, setup.classes, names, meta)}


@dataclass
class _Rounds:
    """The server's loop over rounds: sampling, plans, aggregation, strategy, stopping."""

    ctx: Context
    params: HomoLrParams
    layout: UpdateLayout
    started: int = 0
    accountant: RdpAccountant = field(default_factory=RdpAccountant)

    def run(self, weights: Matrix) -> Matrix:
        """Train from `weights`; tell every live client the final model; return it."""
        p, layout = self.params, self.layout
        clients = len(self.ctx.peers(Role.CLIENT))
        active = list(range(clients))
        control = np.zeros(layout.shape) if layout.scaffold else None
        strategy, progress = ServerStrategy(p), _Progress(p)
        while self.started < p.rounds:
            chosen = self.sample(active, clients)
            if chosen is None:
                break
            round_ctx = self.ctx.sub("round").indexed(self.started)
            peers = list(round_ctx.peers(Role.CLIENT))
            plans = {i: RoundPlan(self.started, i in chosen, False, len(chosen), weights, control)
                     for i in active}  # fmt: skip
            gone = _send_plans(peers, plans, p.round_timeout_s)
            members = [i for i in chosen if i not in gone]
            how = aggregation(round_ctx, p)
            total, kept = aggregate([peers[i].sub("agg") for i in members], layout.size, how)
            survivors = [members[k] for k in kept]
            active = [i for i in active if i not in gone and (i not in chosen or i in survivors)]
            delta_sum, control_sum, stats = layout.unpack(np.asarray(total, dtype=np.float64))
            self.account(len(survivors), len(chosen), clients)
            _log(self.ctx, self.started, stats, len(survivors))
            self.started += 1
            converged = progress.record(weights, stats)
            if progress.exhausted:
                break
            weights = strategy.apply(weights, delta_sum / max(stats.weight, 1e-12))
            if control is not None and control_sum is not None:
                control = control + control_sum / clients
            if converged:
                break
        final = progress.best if progress.exhausted and progress.best is not None else weights
        last = {i: RoundPlan(self.started, False, True, 0, final, control) for i in active}
        peers = list(self.ctx.sub("round").indexed(self.started).peers(Role.CLIENT))
        _send_plans(peers, last, p.round_timeout_s)
        return final

    def sample(self, active: list[int], clients: int) -> list[int] | None:
        """This round's clients, or None when the privacy budget would be exceeded."""
        p = self.params
        if len(active) < p.min_clients:
            raise TooFewClientsError(
                f"{len(active)} clients left, fewer than min_clients={p.min_clients}"
            )
        count = min(max(math.ceil(p.fraction_fit * len(active)), p.min_clients), len(active))
        chosen = sorted(secrets.SystemRandom().sample(active, count))
        if p.noise_multiplier is not None and p.target_epsilon is not None:
            trial = RdpAccountant.from_dict(self.accountant.to_dict())
            trial.step(p.noise_multiplier, count / clients)
            if trial.epsilon(p.delta) > p.target_epsilon:
                return None
        return chosen

    def account(self, survivors: int, chosen: int, clients: int) -> None:
        """Add the round's privacy cost and log ε (client-level DP only)."""
        p = self.params
        if p.noise_multiplier is None:
            return
        # m of n sampled clients added N(0, (σC)²/n) each: the sum carries σC·√(m/n).
        sigma = p.noise_multiplier * math.sqrt(survivors / max(chosen, 1))
        self.accountant.step(sigma, chosen / clients)
        self.ctx.metrics.log("epsilon", self.accountant.epsilon(p.delta), step=self.started)


def _log(ctx: Context, index: int, stats: RoundStats, clients: int) -> None:
    ctx.metrics.log("clients", clients, step=index)
    for name, value in (("loss", stats.loss), ("validation_loss", stats.validation_loss),
                        ("validation_accuracy", stats.validation_accuracy)):  # fmt: skip
        if value is not None:
            ctx.metrics.log(name, value, step=index)
