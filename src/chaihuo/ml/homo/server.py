"""homo_lr / homo_nn server: samples clients, sums their updates, moves the global model."""

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError, Role
from chaihuo.ml.homo._aggregate import aggregate
from chaihuo.ml.homo._family import LOGISTIC, Family, Scorer
from chaihuo.ml.homo._handshake import aggregation, server_moments, server_welcome
from chaihuo.ml.homo._messages import RoundPlan
from chaihuo.ml.homo._network import Network
from chaihuo.ml.homo._params import HomoLrParams
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.ml.homo._state import Progress, TrainingState
from chaihuo.ml.homo._strategy import ServerStrategy
from chaihuo.ml.homo._update import RoundStats, UpdateLayout
from chaihuo.ml.privacy import RdpAccountant
from chaihuo.mpc import TooFewClientsError
from chaihuo.runtime import Context, Peer

__all__ = ["run_server"]

Matrix = npt.NDArray[np.float64]
COMPONENT = "homo_lr"


def _send_plans(clients: list[Peer], plans: Mapping[int, RoundPlan], timeout: float) -> set[int]:
    """Send each client its plan; the indices not reached within `timeout` (gone)."""
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="homo-plan")
    futures = {i: pool.submit(clients[i].put, "plan", plan.to_wire()) for i, plan in plans.items()}
    done, _ = wait(futures.values(), timeout=timeout)
    pool.shutdown(wait=False)
    return {i for i, f in futures.items() if f not in done or f.exception() is not None}


def run_server(
    ctx: Context, params: HomoLrParams, inputs: Mapping[str, Any], family: Family = LOGISTIC
) -> dict[str, Any]:
    """Run the rounds; every party ends with the same global model."""
    warm = family.scorer(inputs.get("model"), "server")
    if params.predict_only or params.rounds == 0:
        if warm is None:
            raise InvalidInputError("predicting (predict_only or rounds: 0) needs a `model`")
        return {}
    setup, names = server_welcome(ctx, params, params.governed(), family.kind)
    scaling = Scaling.identity(len(names))
    if params.standardize:
        scaling, _present = server_moments(ctx.sub("moments"), params, len(names))
    network = family.network(len(setup.classes), len(names), params.hidden())
    about = {"classes": setup.classes, "features": list(names), "strategy": params.strategy}
    directory = None if params.checkpoint_dir is None else ctx.base_dir / params.checkpoint_dir
    if params.resume:
        if directory is None:
            raise InvalidInputError("resume needs checkpoint_dir", public=True)
        state = TrainingState.load(directory, params, scaling, about)
    else:
        state = _fresh(params, family, network, scaling, warm, setup.classes)
    ctx.peers(Role.CLIENT).put("start", state.round)
    rounds = _Rounds(ctx, params, UpdateLayout(network.shape, params.strategy == "scaffold"), state)
    if directory is not None:
        rounds.checkpoint = (directory, scaling, about)
    final = rounds.run()
    meta: dict[str, Any] = {"rounds": state.round, "strategy": params.strategy}
    if params.private:
        meta["epsilon"], meta["delta"] = state.accountant.epsilon(params.delta), params.delta
    model = family.model("server", network, final, scaling, setup.classes, names, meta)
    return {"model": model}


def _fresh(  # noqa: PLR0917 - the set-up's outcome
    params: HomoLrParams, family: Family, network: Network, scaling: Scaling,
    warm: Scorer | None, classes: list[int],
) -> TrainingState:  # fmt: skip
    """The first round's state: the family's start, or a `model` input's parameters."""
    weights = family.initial(network, params.init_seed())
    if warm is not None:
        if warm.weights.shape != network.shape or warm.classes != classes:
            raise InvalidInputError("the `model` input does not fit the clients' data")
        weights = family.warm(warm, scaling)
    control = np.zeros(network.shape) if params.strategy == "scaffold" else None
    return TrainingState(0, weights, control, ServerStrategy(params), Progress(params))


@dataclass
class _Rounds:
    """The server's loop over rounds: sampling, plans, aggregation, strategy, stopping."""

    ctx: Context
    params: HomoLrParams
    layout: UpdateLayout
    state: TrainingState
    checkpoint: tuple[Path, Scaling, dict[str, Any]] | None = None

    def run(self) -> Matrix:
        """Train from the state; tell every live client the final model; return it."""
        p, state = self.params, self.state
        clients = len(self.ctx.peers(Role.CLIENT))
        active = list(range(clients))
        while state.round < p.rounds:
            chosen = self.sample(active, clients)
            if chosen is None:
                break
            round_ctx = self.ctx.sub("round").indexed(state.round)
            peers = list(round_ctx.peers(Role.CLIENT))
            plans = {
                i: RoundPlan(state.round, i in chosen, False, len(chosen), state.weights,
                             state.control)
                for i in active
            }  # fmt: skip
            gone = _send_plans(peers, plans, p.round_timeout_s)
            members = [i for i in chosen if i not in gone]
            how = aggregation(round_ctx, p)
            total, kept = aggregate([peers[i].sub("agg") for i in members], self.layout.size, how)
            survivors = [members[k] for k in kept]
            active = [i for i in active if i not in gone and (i not in chosen or i in survivors)]
            self.account(len(survivors), len(chosen), clients)
            if self.step(np.asarray(total, dtype=np.float64), len(survivors), clients):
                break
        progress = state.progress
        final = progress.best if progress.exhausted and progress.best is not None else state.weights
        last = {i: RoundPlan(state.round, False, True, 0, final, state.control) for i in active}
        peers = list(self.ctx.sub("round").indexed(state.round).peers(Role.CLIENT))
        _send_plans(peers, last, p.round_timeout_s)
        return final

    def step(self, total: Matrix, survivors: int, clients: int) -> bool:
        """Apply one round's sum to the state (and checkpoint it); True to stop."""
        state = self.state
        delta_sum, control_sum, stats = self.layout.unpack(total)
        _log(self.ctx, state.round, stats, survivors)
        state.round += 1
        converged = state.progress.record(state.weights, stats)
        if state.progress.exhausted:
            return True
        state.weights = state.strategy.apply(state.weights, delta_sum / max(stats.weight, 1e-12))
        if state.control is not None and control_sum is not None:
            state.control = state.control + control_sum / clients
        if self.checkpoint is not None:
            directory, scaling, about = self.checkpoint
            state.save(directory, scaling, about)
        return converged

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
            trial = RdpAccountant.from_dict(self.state.accountant.to_dict())
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
        self.state.accountant.step(sigma, chosen / clients)
        epsilon = self.state.accountant.epsilon(p.delta)
        self.ctx.metrics.log("epsilon", epsilon, step=self.state.round)


def _log(ctx: Context, index: int, stats: RoundStats, clients: int) -> None:
    ctx.metrics.log("clients", clients, step=index)
    for name, value in (("loss", stats.loss), ("validation_loss", stats.validation_loss),
                        ("validation_accuracy", stats.validation_accuracy)):  # fmt: skip
        if value is not None:
            ctx.metrics.log(name, value, step=index)
