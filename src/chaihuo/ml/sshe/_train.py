"""Training of one binary SSHE LR model, run identically by the guest and the host."""

# The guest and the host execute this same loop; their differences are data: the guest adds
# the label term to its scores, owns the intercept, learns the loss and takes the per-epoch
# decisions (converged, best validation epoch, diverged), which it sends to the host.
#
# Update with shared weights (sgd, optional l2), applied by each party to each share it holds:
#     share ← (1 − lr_t·α)·share − lr_t/(κ·b·2^(2·FX_MAX)) · gradient share
# where the gradient shares come rescaled to the public scale 2^(F + 2·FX_MAX − fx_j)·κ·b·g_j,
# so the step is in the weight's own scale 2^(F − fx_j). Both factors are public; each party
# rounds its own products, so the weights drift by at most two units of 2^−(F − fx_j) per step.
# This is `Optimizer.step` for sgd/l2 (lr_t = lr / (1 + decay·t), t counted from 1).

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.paillier import EncryptedVector
from chaihuo.ml._optim import make_optimizer
from chaihuo.ml.sshe import _clip, _expansion
from chaihuo.ml.sshe._errors import TrainingDivergedError
from chaihuo.ml.sshe._fixed import FX_MAX, F, Quantized, Rational, encode_reals, grad_bits, rescale
from chaihuo.ml.sshe._link import Forward, Link, received_ints
from chaihuo.ml.sshe._messages import Decision
from chaihuo.ml.sshe._params import SsheParams
from chaihuo.ml.sshe._plain import epoch_stop, initial_weights
from chaihuo.ml.vertical import EpochStop, batches, expect_ciphertexts
from chaihuo.ml.vertical import he as _he
from chaihuo.runtime import Context, Peer

__all__ = ["Side", "Trained", "Trainer", "TrainingDivergedError", "peer_of"]

Vector = npt.NDArray[np.float64]
Rows = npt.NDArray[np.int64]
Ints = list[int]
_LOG2 = math.log(2.0)
_DIVERGED = 2.0**30


def peer_of(ctx: Context, guest: bool) -> Peer:
    """The other party, in `ctx`'s namespace."""
    return ctx.hosts[0] if guest else ctx.guest


@dataclass
class Side:
    """What this party brings to one model: quantised features, 0/1 targets (guest only)."""

    guest: bool
    x: Quantized
    y: Vector | None
    peer_width: int
    peer_bits: int
    bits: int
    val_x: Quantized | None = None
    val_y: Vector | None = None
    init: Vector | None = None

    @property
    def width(self) -> int:
        """This party's number of weights (the guest's intercept included)."""
        return int(self.x.values.shape[1])

    def penalised(self, mine: bool, fit_intercept: bool) -> list[bool]:
        """Which coordinates of my (or the peer's) weights the l2 penalty applies to."""
        width = self.width if mine else self.peer_width
        flags = [True] * width
        if self.guest == mine and fit_intercept and width:
            flags[-1] = False  # the guest's intercept
        return flags


@dataclass
class Trained:
    """This party's outcome: its plaintext weights, or (host, encrypted reveal) [[w̃]]_G."""

    weights: Vector | None
    encrypted: EncryptedVector | None = None
    epochs: int = 0
    losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)


def _reals(x: Quantized, rows: Rows) -> npt.NDArray[np.float64]:
    return np.ldexp(x.values[rows].astype(np.float64), -x.shifts.astype(np.int32))


class Trainer:
    """One model's training loop on this party (see the module comment)."""

    def __init__(self, ctx: Context, link: Link, params: SsheParams, side: Side, seed: int):
        self.ctx, self.link, self.params, self.side, self.seed = ctx, link, params, side, seed
        self.shared = not params.reveal_every_iter
        self.kappa = 1 if params.sigmoid == "taylor_at_guest" else 4
        start = side.init
        if start is None:
            start = initial_weights(side.width, params.init_method, seed, 0 if side.guest else 1)
        self.w: Vector = np.array(start, dtype=np.float64)
        intercept = side.guest and params.fit_intercept
        self.optimizer = make_optimizer(params.optimizer_params(), side.width, intercept=intercept)
        self.steps = 0
        self.own: Ints = []
        self.other: Ints = []
        if self.shared:
            scaled = np.rint(np.ldexp(self.w, side.x.weight_shifts().astype(np.int32)))
            peer = peer_of(ctx.sub("init"), side.guest)
            encoded = [int(v) for v in scaled.tolist()]
            self.own, self.other = link.share_weights(peer, encoded, side.peer_width)

    # -- one batch ---------------------------------------------------------------------------

    def forward(self, ch: Peer, x: Quantized, rows: Rows, y: Vector | None) -> Forward:
        """[[v]] under the peer's key and this party's share of v (v = κ·e·2^F)."""
        if self.params.sigmoid == "taylor_at_guest":
            return _expansion.forward(self.link, ch, _reals(x, rows) @ self.w, y,
                                      guest=self.side.guest)  # fmt: skip
        offset = (
            [int(v) << F for v in (2 - 4 * y).astype(np.int64).tolist()] if y is not None else None
        )
        if self.shared:
            xb = np.ascontiguousarray(x.values[rows])
            forward = self.link.shared_forward(ch, xb, self.own, self.other, offset)
        else:
            u = encode_reals(_reals(x, rows) @ self.w, F)
            if offset is not None:
                u = [a + b for a, b in zip(u, offset, strict=True)]
            forward = self.link.revealed_forward(ch, u)
        if self.params.sigmoid == "taylor_clipped":
            return _clip.clip_forward(self.link, ch.sub("clip"), forward, offset)
        return forward

    def backward(self, ch: Peer, rows: Rows, forward: Forward) -> None:
        """Gradient shares (or, revealed, this party's gradient) and the update."""
        side, count = self.side, len(rows)
        xb = np.ascontiguousarray(side.x.values[rows])
        shifts = 2 * (FX_MAX - side.x.shifts) if self.shared else None
        mine, peers = self.link.gradient(
            ch, xb, forward.v, side.peer_width, shifts=shifts,
            bits=grad_bits(count, side.bits, not self.shared),
            peer_bits=grad_bits(count, side.peer_bits, not self.shared),
        )  # fmt: skip
        if peers is None:
            scale = np.ldexp(1.0, -(F + side.x.shifts).astype(np.int32)) / (self.kappa * count)
            self.w = self.optimizer.step(self.w, np.array(mine, dtype=np.float64) * scale)
            return
        self.steps += 1
        lr = self.params.learning_rate / (1.0 + self.params.decay * self.steps)
        step = Rational(lr / (self.kappa * count * 2.0 ** (2 * FX_MAX)))
        keep = Rational(1.0 - lr * self.params.alpha) if self.params.penalty == "l2" else None
        fit_intercept = self.params.fit_intercept
        self.own = _update(self.own, mine, step, keep, side.penalised(True, fit_intercept))
        self.other = _update(self.other, peers, step, keep, side.penalised(False, fit_intercept))

    def batch_loss(
        self, ch: Peer, forward: Forward, x: Quantized, rows: Rows, y: Vector | None
    ) -> float:
        """Guest: this batch's summed loss; host: its part of the secure sum (returns 0)."""
        if self.params.sigmoid == "taylor_at_guest":
            z = _reals(x, rows) @ self.w if self.side.guest else None
            return _expansion.loss(self.link, ch, forward, z, y, guest=self.side.guest)
        if not self.side.guest:
            self.link.square_sum_host(ch, forward)
            return 0.0
        squares = self.link.square_sum_guest(ch, forward)
        return math.ldexp(squares, -2 * F) / 8 + len(rows) * (_LOG2 - 0.5)

    # -- epochs ------------------------------------------------------------------------------

    def _pass(self, pctx: Context, x: Quantized, y: Vector | None, epoch: int | None) -> float:
        """One pass over `x`, with updates when `epoch` is given; the guest gets the mean loss."""
        total, count = 0.0, int(x.values.shape[0])
        train = epoch is not None
        size, shuffle = self.params.batch_size, self.params.shuffle and train
        order = batches(count, size, self.seed, epoch or 0, shuffle=shuffle)
        if train:
            self.ctx.progress("batch", 0, len(order))
        for number, rows in enumerate(order):
            ch = peer_of(pctx.sub("batch").indexed(number), self.side.guest)
            yb = y[rows] if y is not None else None
            forward = self.forward(ch, x, rows, yb)
            if not train or self.params.compute_loss:
                total += self.batch_loss(ch.sub("loss"), forward, x, rows, yb)
            if train:
                self.backward(ch, rows, forward)
                self.ctx.progress("batch", number + 1, len(order))
        return total / count

    def fit(self) -> Trained:
        """Epochs until done or stopped; then the model is revealed by `reveal_strategy`."""
        params, side = self.params, self.side
        stopper = epoch_stop(params, validating=side.val_x is not None)
        best = self._snapshot()
        epochs = 0
        self.ctx.progress("epoch", 0, params.epochs)
        for epoch in range(params.epochs):
            ectx = self.ctx.sub("epoch").indexed(epoch)
            loss = self._pass(ectx.sub("train"), side.x, side.y, epoch)
            val = None
            if side.val_x is not None:
                val = self._pass(ectx.sub("validate"), side.val_x, side.val_y, None)
            epochs = epoch + 1
            is_best, stop = self._decide(ectx, epoch, stopper, loss, val)
            self.ctx.progress("epoch", epochs, epochs if stop else params.epochs)
            if is_best:
                best = self._snapshot()
            if stop:
                break
        if side.val_x is not None and params.early_stopping_rounds is not None:
            self._restore(best)
        trained = self._reveal(peer_of(self.ctx.sub("reveal"), side.guest))
        trained.epochs, trained.losses = epochs, stopper.losses
        trained.validation_losses = stopper.validation
        return trained

    def _decide(
        self, ectx: Context, epoch: int, stopper: EpochStop, loss: float, val: float | None
    ) -> tuple[bool, bool]:
        peer = peer_of(ectx, self.side.guest)
        if not self.side.guest:
            decision = Decision.from_wire(peer.get("decision"))
            if decision.error:
                raise TrainingDivergedError(f"the guest stopped training: {decision.error}")
            return decision.best, decision.stop
        reported = loss if self.params.compute_loss else None
        error, shared = None, None
        for name, value in (("training", reported), ("validation", val)):
            if value is not None and (not math.isfinite(value) or abs(value) > _DIVERGED):
                shared = f"the {name} loss diverged: lower the learning rate"
                error = f"the {name} loss ({value:.4g}) diverged: lower the learning rate"
        best, stop = stopper.update(reported, val) if error is None else (False, True)
        peer.put("decision", Decision(bool(best), bool(stop), shared).to_wire())  # no loss value
        if error is not None:
            raise TrainingDivergedError(error, public=shared or True)
        if reported is not None:
            self.ctx.metrics.log("loss", reported, step=epoch)
        if val is not None:
            self.ctx.metrics.log("validation_loss", val, step=epoch)
        return best, stop

    def _snapshot(self) -> tuple[Vector, Ints, Ints]:
        return self.w.copy(), list(self.own), list(self.other)

    def _restore(self, state: tuple[Vector, Ints, Ints]) -> None:
        self.w, self.own, self.other = state[0].copy(), list(state[1]), list(state[2])

    def _reveal(self, peer: Peer) -> Trained:
        """respectively: each party adds the peer's share of its weights to its own;
        encrypted_reveal_in_host: the guest's share of the host's weights goes encrypted."""
        if not self.shared:
            return Trained(self.w.copy())
        encrypted = self.params.reveal_strategy == "encrypted_reveal_in_host"
        width = self.side.width
        if self.side.guest and encrypted:
            peer.put("share", _he.encrypt(self.link.keys.private_key, self.other, None))
        else:
            peer.put("share", self.other)
        if encrypted and not self.side.guest:
            received = expect_ciphertexts(
                peer.get("share"), self.link.peer_key, "weights", length=width, integer=True
            )
            return Trained(None, _he.add_plain(received, self.own))
        theirs = received_ints(peer.get("share"), width, "peer's share of this party's weights")
        total = np.array([a + b for a, b in zip(self.own, theirs, strict=True)], dtype=np.float64)
        return Trained(np.ldexp(total, -self.side.x.weight_shifts().astype(np.int32)))


def _update(
    shares: Ints, gradient: Ints, step: Rational, keep: Rational | None, penalised: list[bool]
) -> Ints:
    """share ← keep·share − step·gradient share, each product rounded by this party."""
    decayed = [
        keep.apply(s) if keep is not None and p else s
        for s, p in zip(shares, penalised, strict=True)
    ]
    return [d - g for d, g in zip(decayed, rescale(gradient, step), strict=True)]
