"""A host of the coordinated GLM protocol: its features and weights, [[u_h]] and X_h^T[[d]]."""

# What a host sends and learns (see chaihuo.ml.glm for the whole protocol):
# - receives from the guest only ciphertexts under the arbiter's key: [[d]] per batch
#   (re-randomised by the guest) and, with several hosts, [[Σ_{j<k} u_hj]] for the loss.
#   It never sees a label, the guest's scores, another host's values or any loss.
# - receives from the arbiter its own gradient masked by itself (so: its plaintext gradient
#   X_h^T d / n — the guest refuses batches with fewer rows than the host has features, which
#   would let the host solve for d) and the continue/stop decisions.
# - sends the guest [[u_h]] (+ [[Σu_h²]] or [[exp(u_h)]]) under the arbiter's key, its
#   plaintext partial scores u_h on validation and predicted rows (FATE's behaviour), and the
#   arbiter [[X_h^T d + r]] (packed).

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import ConfigError, InvalidInputError, Role
from chaihuo.crypto import EncodingOverflowError
from chaihuo.crypto.paillier import EncryptedVector, PaillierPublicKey
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._diverged import diverged_error
from chaihuo.ml._optim import make_optimizer
from chaihuo.ml.glm._data import PartyData, party_data
from chaihuo.ml.glm._encrypted import (
    cross_term,
    encrypt_scalar,
    exchange_gradient,
    host_forward,
)
from chaihuo.ml.glm._family import Family
from chaihuo.ml.glm._messages import Decision, EpochTerms, HostHello, Plan
from chaihuo.ml.glm._model import (
    initial_weights,
    load_model,
    model_weights,
    optimizer_arrays,
    resume_optimizer,
)
from chaihuo.ml.glm._params import GlmParams
from chaihuo.ml.glm._phases import Phases
from chaihuo.ml.glm._secure import encrypted_matvec, pool_for, quantize
from chaihuo.ml.glm._session import expect, follower_start, recv
from chaihuo.ml.glm._standardize import Standardizer
from chaihuo.ml.vertical import batches, expect_ciphertexts, row_chunks
from chaihuo.runtime import Context

__all__ = ["run_host"]

Vector = npt.NDArray[np.float64]


@dataclass
class _State:
    data: dict[str, PartyData] = field(default_factory=dict)
    model: ModelArtifact | None = None
    std: Standardizer | None = None


def run_host(
    ctx: Context,
    family: Family,
    params: GlmParams,
    inputs: Mapping[str, Any],
    *,
    phases: Phases | None = None,
) -> dict[str, Any]:
    """Fit (or apply) this host's part, following the guest's plan."""
    phases = phases or Phases()
    state = _State()
    plan = follower_start(
        ctx, family.component, lambda plan: _hello(family, params, inputs, plan, state).to_wire()
    )
    models = plan.models
    score = state.data[plan.score]
    assert state.std is not None
    if plan.mode == "predict":
        assert state.model is not None
        saved = model_weights(state.model, score.feature_names)
        _send_scores(ctx.sub("score"), state.std.to_trained(saved), score)
        return {"model": state.model}
    key = expect(recv(ctx.arbiter, "public_key", "key set-up"), PaillierPublicKey, "key")
    train = state.data["train"]
    trainers = [
        _Trainer(ctx.sub("model").indexed(k), family, params, plan, state, key=key, index=k,
                 phases=phases)
        for k in range(models)
    ]  # fmt: skip
    weights = np.stack([trainer.fit() for trainer in trainers])
    _send_scores(ctx.sub("score"), weights, score)
    saved, offsets = state.std.to_original(weights)  # on the data's scale, and its constant
    model = ModelArtifact(
        family.component,
        "host",
        {
            "family": family.name,
            "feature_names": list(train.feature_names),
            "models": models,
            "optimizer": params.optimizer,
            "standardized": state.std.standardizes,
        },
        {
            "weights": saved,
            "offset": offsets,
            **state.std.arrays(),
            **optimizer_arrays([t.optimizer for t in trainers], weights.shape[1]),
        },
    )
    return {"model": model}


def _hello(
    family: Family,
    params: GlmParams,
    inputs: Mapping[str, Any],
    plan: Plan,
    state: _State,
) -> HostHello:
    """Check this host's inputs against the guest's plan; report digests and sizes."""
    differ = plan.differences(params.protocol(), "host")
    if differ:
        raise ConfigError(f"parameters differ from the guest's: {', '.join(differ)}", public=True)
    state.model = load_model(inputs.get("model"), family, "host")
    uses_model = plan.mode == "predict" or plan.warm
    if uses_model and state.model is None:
        raise InvalidInputError(
            "the guest uses a saved model; this host has no `model` input", public=True
        )
    if state.model is not None and not uses_model:
        raise InvalidInputError("this host has a `model` input but the guest has none", public=True)
    for usage in plan.datasets:
        if inputs.get(usage) is None:
            raise InvalidInputError(
                f"the guest has a `{usage}` input; this host has none", public=True
            )
        state.data[usage] = party_data(inputs[usage], host=True, usage=usage)
    names = {data.feature_names for data in state.data.values()}
    if len(names) != 1:
        raise InvalidInputError(
            "this host's train/validate/test data have different columns", public=True
        )
    models = None
    width = len(next(iter(names)))
    if state.model is not None:
        model_weights(state.model, next(iter(names)))
        models = int(state.model.meta.get("models", 1))
        state.std = Standardizer.of_model(state.model, width)
    elif params.standardize:
        state.std = Standardizer.fit(state.data["train"].features)
    else:
        state.std = Standardizer.identity(width)
    state.data = {usage: state.std.apply(data) for usage, data in state.data.items()}
    return HostHello(
        digests={usage: data.digest for usage, data in state.data.items()},
        features=len(next(iter(names))),
        models=models,
    )


def _send_scores(sctx: Context, weights: Vector, data: PartyData) -> None:
    """Plaintext partial scores X_h w_h (models × rows) for the guest's predictions."""
    sctx.guest.put("scores", np.ascontiguousarray(weights @ data.features.T))


class _Trainer:
    """Training of one model (one OvR class, or the only one) on a host."""

    def __init__(
        self,
        ctx: Context,
        family: Family,
        params: GlmParams,
        plan: Plan,
        state: _State,
        *,
        key: PaillierPublicKey,
        index: int,
        phases: Phases,
    ) -> None:
        self.ctx, self.family, self.params = ctx, family, params
        self.key, self.phases = key, phases
        self.train = state.data["train"]
        self.validate = state.data.get("validate")
        self.q = quantize(self.train.features, params.floating_point_precision)
        hosts = ctx.roster.members(Role.HOST)
        self.position = hosts.index(ctx.local)
        self.seed = plan.seed
        self.w = initial_weights(
            self.train.features.shape[1], params.init_method, self.seed, self.position + 1, index
        )
        if state.model is not None:
            assert state.std is not None
            saved = model_weights(state.model, self.train.feature_names)
            self.w = state.std.to_trained(saved)[index].copy()
        self.optimizer = make_optimizer(params.optimizer_params(), len(self.w), intercept=False)
        resume_optimizer(self.optimizer, state.model, params.optimizer, index, len(self.w))
        self.offset = plan.epoch_offsets[index]
        self.codec = ctx.cipher.codec

    def fit(self) -> Vector:
        """Epochs until the arbiter says stop (keeping the best validation epoch if asked)."""
        best: Vector | None = None
        rows, total = self.train.rows, self.params.epochs  # agreed with the guest's plan
        self.ctx.progress("epoch", 0, total)
        for epoch in range(total):
            ectx = self.ctx.sub("epoch").indexed(epoch)
            start = self.w.copy()
            order = batches(rows, self.params.batch_size, self.seed, self.offset + epoch,
                            shuffle=self.params.shuffle)  # fmt: skip
            self.ctx.progress("batch", 0, len(order))
            try:
                for number, indices in enumerate(order):
                    self._batch(ectx.sub("batch").indexed(number), indices)
                    self.ctx.progress("batch", number + 1, len(order))
            except EncodingOverflowError as exc:  # a value beyond what the key carries
                raise diverged_error(epoch + 1, self.params.learning_rate, str(exc)) from exc
            ectx.guest.put("epoch_terms", self._terms(rows, start).to_wire())
            if self.validate is not None:
                ectx.guest.put("validation_scores", self.validate.features @ self.w)
            decision = Decision.from_wire(recv(ectx.arbiter, "decision", "arbiter decision"), False)
            if decision.diverged:
                raise diverged_error(epoch + 1, self.params.learning_rate)
            if decision.best:
                best = self.w.copy()
            stop = decision.stop
            self.ctx.progress("epoch", epoch + 1, epoch + 1 if stop else total)
            if stop:
                break
        if best is not None and self.params.early_stopping_rounds is not None:
            self.w = best
        return self.w

    def _terms(self, rows: int, start: Vector) -> EpochTerms:
        """[[n · penalty_h]] and, with early_stop weight_diff, [[‖Δw_h‖²]] this epoch."""
        exponent = 2 * self.codec.exponent
        penalty = encrypt_scalar(self.key, rows * self.optimizer.penalty_loss(self.w), exponent)
        if self.params.early_stop != "weight_diff":
            return EpochTerms(penalty)
        change = float(np.sum((self.w - start) ** 2))
        return EpochTerms(penalty, encrypt_scalar(self.key, change, exponent))

    def _batch(self, bctx: Context, rows: npt.NDArray[np.int64]) -> None:
        """One step; the batch streams in chunks (`row_chunks`) whose X_h^T[[d]] add up."""
        encrypted: EncryptedVector | None = None
        for k, part in enumerate(row_chunks(rows)):
            piece = self._chunk(bctx.sub("chunk").indexed(k), part)
            encrypted = piece if encrypted is None else encrypted + piece
        assert encrypted is not None
        gradient = exchange_gradient(bctx, encrypted, self.q.shifts, self.phases)
        self.w = self.optimizer.step(self.w, gradient * self.family.scale / len(rows))

    def _chunk(self, cctx: Context, rows: npt.NDArray[np.int64]) -> EncryptedVector:
        """Send [[u_h]] of `rows`, receive their [[d]]; returns [[X_h^T d]] over them."""
        n = len(rows)
        pool = pool_for(self.ctx.cipher, n)
        u = self.train.features[rows] @ self.w
        with self.phases("encrypt"):
            forward = host_forward(self.family, u, self.key, self.codec, pool)
        with self.phases("send"):
            cctx.guest.put("forward", forward.to_wire())
        residual = expect_ciphertexts(
            recv(cctx.guest, "residual", "guest residual", self.phases), self.key, "[[d]]", length=n
        )
        if self.position > 0 and self.family.name != "poisson":
            prefix = expect_ciphertexts(
                recv(cctx.guest, "prefix", "loss prefix"), self.key, "prefix", length=n
            )
            cctx.guest.put("cross", cross_term(self.family, prefix, u, self.codec.exponent))
        with self.phases("matmul"):
            return encrypted_matvec(residual, self.q.rows(rows), pool)
