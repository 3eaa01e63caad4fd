"""The guest of the coordinated GLM protocol: labels, intercept, [[d]] and validation."""

# What the guest sends and learns (see chaihuo.ml.glm for the whole protocol):
# - receives from hosts only ciphertexts under the arbiter's key ([[u_h]], [[Σu_h²]] or
#   [[exp(u_h)]], [[n·penalty_h]], [[‖Δw_h‖²]], cross terms), and — FATE's behaviour — each
#   host's plaintext partial scores u_h = X_h·w_h on validation rows (every epoch) and on the
#   predicted rows (once). With one host the guest could derive u_h from the predictions
#   anyway.
# - receives from the arbiter its own gradient masked by itself (so: its plaintext gradient
#   X_g^T d / n), the epoch loss and the continue/stop decisions.
# - sends hosts [[d]] (re-randomised, so a host cannot strip the guest's plaintext part) and
#   the arbiter [[X_g^T d + r]] (packed) and [[epoch loss]]; never a plaintext label.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.crypto import EncodingOverflowError
from chaihuo.crypto.paillier import EncryptedVector, PaillierPublicKey
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._diverged import diverged_error
from chaihuo.ml._optim import Optimizer, make_optimizer
from chaihuo.ml.glm._data import (
    PartyData,
    label_matrix,
)
from chaihuo.ml.glm._encrypted import (
    encrypt_scalar,
    exchange_gradient,
    guest_batch_loss,
    guest_residual,
)
from chaihuo.ml.glm._family import Family
from chaihuo.ml.glm._guest_setup import GuestSetup, guest_setup
from chaihuo.ml.glm._messages import (
    Decision,
    EpochReport,
    EpochTerms,
    HostForward,
    HostHello,
    Plan,
)
from chaihuo.ml.glm._model import (
    epoch_offsets,
    initial_weights,
    optimizer_arrays,
    predictions,
    resume_optimizer,
    validation_metric,
)
from chaihuo.ml.glm._params import GlmParams
from chaihuo.ml.glm._phases import Phases
from chaihuo.ml.glm._secure import encrypted_matvec, pool_for, quantize
from chaihuo.ml.glm._session import expect, guest_start, recv
from chaihuo.ml.vertical import (
    EarlyStopping,
    batches,
    expect_ciphertexts,
    exposes_residuals,
    row_chunks,
)
from chaihuo.runtime import Context

__all__ = ["run_guest"]

Vector = npt.NDArray[np.float64]


def run_guest(
    ctx: Context,
    family: Family,
    params: GlmParams,
    inputs: Mapping[str, Any],
    *,
    exposure_colname: str | None = None,
    phases: Phases | None = None,
) -> dict[str, Any]:
    """Fit (or, with a model and `predict_only`/`epochs: 0`, apply) the guest's part."""
    phases = phases or Phases()
    setup = _start(ctx, family, params, inputs, exposure_colname)
    if setup.mode == "predict":
        assert setup.init is not None and setup.model is not None
        scores = _predict(
            ctx.sub("score"), family, params, setup, weights=setup.init[0], intercepts=setup.init[1]
        )
        return {"model": setup.model, "predictions": scores}
    assert setup.train is not None
    key = expect(recv(ctx.arbiter, "public_key", "key set-up"), PaillierPublicKey, "key")
    fitted = [
        _Trainer(
            ctx.sub("model").indexed(k), family, params, setup, key=key, index=k, phases=phases
        ).fit()
        for k in range(setup.models)
    ]
    weights = np.stack([f.weights for f in fitted])
    intercepts = np.array([f.intercept for f in fitted])
    width = len(setup.train.feature_names) + params.fit_intercept
    scores = _predict(
        ctx.sub("score"), family, params, setup, weights=weights, intercepts=intercepts
    )
    assert setup.std is not None
    saved, offsets = setup.std.to_original(weights)  # on the data's scale
    model = ModelArtifact(
        family.component,
        "guest",
        {
            "family": family.name,
            "feature_names": list(setup.train.feature_names),
            "classes": setup.classes,
            "models": setup.models,
            "fit_intercept": params.fit_intercept,
            "exposure_colname": exposure_colname,
            "epochs": [f.epochs for f in fitted],
            "epochs_total": [f.offset + f.epochs for f in fitted],
            "optimizer": params.optimizer,
            "standardized": setup.std.standardizes,
            "loss_history": [f.losses for f in fitted],
        },
        {
            "weights": saved,
            "intercept": intercepts - offsets,
            **setup.std.arrays(),
            **optimizer_arrays([f.optimizer for f in fitted], width),
        },
    )
    return {"model": model, "predictions": scores}


def _start(
    ctx: Context,
    family: Family,
    params: GlmParams,
    inputs: Mapping[str, Any],
    exposure_colname: str | None,
) -> GuestSetup:
    failure: BaseException | None = None
    setup: GuestSetup | None = None
    plan: Plan | None = None
    try:
        if not len(ctx.hosts):
            raise InvalidInputError(f"{family.component} needs at least one host", public=True)
        if family.name == "poisson" and len(ctx.hosts) > 1:
            raise InvalidInputError(
                "hetero_poisson supports one host (as FATE): exp(u_g + u_h1 + u_h2) would "
                "need a product of two ciphertexts",
                public=True,
            )
        setup = guest_setup(family, params, inputs, exposure_colname)
        plan = _plan(family, params, setup)
    except (ChaihuoError, ValueError) as exc:
        failure = exc
    guest_start(
        ctx, family.component, plan, failure, lambda hellos: _check(ctx, params, setup, hellos)
    )
    assert setup is not None
    return setup


def _plan(family: Family, params: GlmParams, setup: GuestSetup) -> Plan:
    return Plan(
        mode=setup.mode,
        family=family.name,
        models=setup.models,
        seed=setup.seed,
        protocol=params.protocol(),
        datasets=tuple(sorted(setup.digests)),
        rows=setup.train.rows if setup.train is not None else 0,
        score="test" if "test" in setup.digests else "train",
        warm=setup.mode == "fit" and setup.init is not None,
        epoch_offsets=tuple(
            epoch_offsets(setup.model if setup.init is not None else None, setup.models)
        ),
    )


def _check(
    ctx: Context, params: GlmParams, setup: GuestSetup | None, hellos: list[HostHello]
) -> list[str]:
    """Guest-side checks of the hosts' hellos: aligned rows, models, label safety."""
    assert setup is not None
    problems = []
    for party, hello in zip(ctx.hosts.parties, hellos, strict=True):
        for usage, digest in setup.digests.items():
            if hello.digests.get(usage) != digest:
                problems.append(
                    f"{party}: `{usage}` rows are not aligned with the guest's (run psi with "
                    "share_with_hosts on the same partition count first)"
                )
        if (setup.mode == "predict" or setup.init is not None) and hello.models != setup.models:
            problems.append(f"{party}: its model part has another number of models")
        if setup.train is not None and exposes_residuals(
            setup.train.rows, params.batch_size, hello.features
        ):
            problems.append(
                f"{party} holds more features than the smallest batch has rows: that "
                "host could solve X_h^T d = g for d (and the labels); raise batch_size"
            )
    return problems


@dataclass
class _Fitted:
    weights: Vector
    intercept: float
    epochs: int
    losses: list[float]
    optimizer: Optimizer
    offset: int


class _Trainer:
    """Training of one model (one OvR class, or the only one) on the guest."""

    def __init__(
        self,
        ctx: Context,
        family: Family,
        params: GlmParams,
        setup: GuestSetup,
        *,
        key: PaillierPublicKey,
        index: int,
        phases: Phases,
    ) -> None:
        assert setup.train is not None
        self.ctx, self.family, self.params, self.setup = ctx, family, params, setup
        self.key, self.phases, self.train = key, phases, setup.train
        self.tangent = family.name == "logistic" and params.sigmoid == "taylor_at_guest"
        features = self.train.features
        if params.fit_intercept:
            features = np.hstack([features, np.ones((self.train.rows, 1))])
        self.q = quantize(features, params.floating_point_precision)
        self.y = label_matrix(family, setup.classes, _labels(self.train))[index]
        width = self.train.features.shape[1]
        self.w = initial_weights(width + params.fit_intercept, params.init_method, setup.seed,
                                 0, index)  # fmt: skip
        if setup.init is not None:
            self.w[:width] = setup.init[0][index]
            if params.fit_intercept:
                self.w[width] = setup.init[1][index]
        elif params.fit_intercept and params.intercept_init == "labels":
            self.w[width] = family.best_intercept(self.y, self.train.exposure, tangent=self.tangent)
        self.optimizer = make_optimizer(
            params.optimizer_params(), len(self.w), intercept=params.fit_intercept
        )
        warm = setup.model if setup.init is not None else None
        resume_optimizer(self.optimizer, warm, params.optimizer, index, len(self.w))
        self.offset = epoch_offsets(warm, setup.models)[index]
        self.stopper = EarlyStopping(params.early_stopping_rounds, family.name == "logistic")
        self.validation_y = (
            label_matrix(family, setup.classes, _labels(setup.validate))[index]
            if setup.validate is not None
            else None
        )
        self.exponent = ctx.cipher.codec.exponent
        self.losses: list[float] = []

    def scores(self, x: Vector) -> Vector:
        """u_g = X w (+ b)."""
        width = x.shape[1]
        u = x @ self.w[:width]
        return u + self.w[width] if self.params.fit_intercept else u

    def fit(self) -> _Fitted:
        """Epochs until the arbiter says stop; the best validation epoch's weights if asked."""
        best: Vector | None = None
        epochs, total = 0, self.params.epochs
        self.ctx.progress("epoch", 0, total)
        for epoch in range(total):
            try:
                with self.phases("epoch"):
                    decision = self._epoch(epoch)
            except EncodingOverflowError as exc:  # a value beyond what the key carries
                raise diverged_error(epoch + 1, self.params.learning_rate, str(exc)) from exc
            if decision.diverged:
                raise diverged_error(epoch + 1, self.params.learning_rate)
            epochs, stop = epoch + 1, decision.stop
            if decision.best:
                best = self.w.copy()
            self.ctx.progress("epoch", epochs, epochs if stop else total)  # stopped: complete
            if stop:
                break
        if best is not None and self.params.early_stopping_rounds is not None:
            self.w = best
        width = self.train.features.shape[1]
        intercept = float(self.w[width]) if self.params.fit_intercept else 0.0
        return _Fitted(
            self.w[:width].copy(), intercept, epochs, self.losses, self.optimizer, self.offset
        )

    def _epoch(self, epoch: int) -> Decision:
        ectx = self.ctx.sub("epoch").indexed(epoch)
        start = self.w.copy()
        loss: EncryptedVector | None = None
        order = batches(self.train.rows, self.params.batch_size, self.setup.seed,
                        self.offset + epoch, shuffle=self.params.shuffle)  # fmt: skip
        self.ctx.progress("batch", 0, len(order))
        for number, rows in enumerate(order):
            batch_loss = self._batch(ectx.sub("batch").indexed(number), rows)
            loss = batch_loss if loss is None else loss + batch_loss
            self.ctx.progress("batch", number + 1, len(order))
        assert loss is not None
        return self._end_epoch(ectx, epoch, loss, start)

    def _batch(self, bctx: Context, rows: npt.NDArray[np.int64]) -> EncryptedVector:
        """One step; the batch streams in chunks (`row_chunks`), whose X^T[[d]] and loss
        ciphertexts add up, so only one chunk's ciphertexts are held at a time."""
        chunks = [self._chunk(bctx.sub("chunk").indexed(k), part)
                  for k, part in enumerate(row_chunks(rows))]  # fmt: skip
        encrypted, loss = chunks[0]
        for part, part_loss in chunks[1:]:
            encrypted, loss = encrypted + part, loss + part_loss
        gradient = exchange_gradient(bctx, encrypted, self.q.shifts, self.phases)
        self.w = self.optimizer.step(self.w, gradient * self.family.scale / len(rows))
        return loss

    def _chunk(
        self, cctx: Context, rows: npt.NDArray[np.int64]
    ) -> tuple[EncryptedVector, EncryptedVector]:
        """[[X^T d]] and [[loss]] over `rows`, one chunk of a batch."""
        family, n = self.family, len(rows)
        u = self.scores(self.train.features[rows])
        y = self.y[rows]
        exposure = None if self.train.exposure is None else self.train.exposure[rows]
        pool = pool_for(self.ctx.cipher, n)
        poisson = family.name == "poisson"
        forwards = [
            HostForward.from_wire(
                recv(host, "forward", "host forward", self.phases), poisson, self.key, n
            )
            for host in cctx.hosts
        ]
        with self.phases("encrypt"):
            residual = guest_residual(
                family, forwards, u, y, exposure=exposure, pool=pool, tangent=self.tangent
            )
            residual = residual.rerandomize(pool=pool)
        with self.phases("send"):
            cctx.hosts.put("residual", residual)
        crosses = self._cross_terms(cctx, forwards, pool)
        with self.phases("matmul"):
            part = encrypted_matvec(residual, self.q.rows(rows), pool)
        loss = guest_batch_loss(
            family,
            forwards,
            crosses,
            u,
            y,
            exposure=exposure,
            exponent=self.exponent,
            tangent=self.tangent,
        )
        return part, loss

    def _cross_terms(
        self, bctx: Context, forwards: list[HostForward], pool: Any
    ) -> list[EncryptedVector]:
        """Multi-host loss: host k gets [[Σ_{j<k} u_hj]] and returns its cross term."""
        if self.family.name == "poisson" or len(forwards) < 2:
            return []
        prefix = forwards[0].u
        for k in range(1, len(forwards)):
            sent = prefix if prefix.fresh else prefix.rerandomize(pool=pool)
            bctx.hosts[k].put("prefix", sent)
            prefix = prefix + forwards[k].u
        return [
            expect_ciphertexts(
                recv(bctx.hosts[k], "cross", "loss cross term"), self.key, "cross", length=1
            )
            for k in range(1, len(forwards))
        ]

    def _end_epoch(
        self, ectx: Context, epoch: int, loss: EncryptedVector, start: Vector
    ) -> Decision:
        """Loss and weight change (encrypted) and the validation verdict to the arbiter."""
        rows, exponent = self.train.rows, self.exponent
        penalty = rows * self.optimizer.penalty_loss(self.w)
        total = loss + encrypt_scalar(self.key, penalty, 2 * exponent)
        change: EncryptedVector | None = None
        if self.params.early_stop == "weight_diff":
            change = encrypt_scalar(self.key, float(np.sum((self.w - start) ** 2)), 2 * exponent)
        for host in ectx.hosts:
            received = recv(host, "epoch_terms", "epoch end", self.phases)
            terms = EpochTerms.from_wire(received, self.key, change is not None)
            total = total + terms.penalty
            if change is not None and terms.change is not None:
                change = change + terms.change
        improved, stop = self._validate(ectx, epoch)
        ectx.arbiter.put("epoch", EpochReport(total, change, bool(improved), bool(stop)).to_wire())
        decision = Decision.from_wire(recv(ectx.arbiter, "decision", "arbiter decision"), True)
        loss_value = float("nan") if decision.loss is None else decision.loss
        self.losses.append(loss_value)
        if np.isfinite(loss_value):
            self.ctx.metrics.log("loss", loss_value, step=epoch)
        return decision

    def _validate(self, ectx: Context, epoch: int) -> tuple[bool, bool]:
        """Validation metric from the hosts' plaintext partial scores (FATE's behaviour)."""
        data = self.setup.validate
        if data is None or self.validation_y is None:
            return False, False
        u = self.scores(data.features)
        for host in ectx.hosts:
            part = expect(recv(host, "validation_scores", "validation"), np.ndarray, "scores")
            if part.shape != (data.rows,):
                raise InvalidInputError(f"validation scores of shape {part.shape} from {host}")
            u = u + part
        name, value, _ = validation_metric(self.family, u, self.validation_y, data.exposure)
        self.ctx.metrics.log(name, value, step=epoch)
        return self.stopper.update(value, epoch)


def _labels(data: PartyData | None) -> npt.NDArray[Any]:
    if data is None or data.labels is None:
        raise InvalidInputError("the guest's `validate` data needs the label column")
    return data.labels


def _predict(
    sctx: Context,
    family: Family,
    params: GlmParams,
    setup: GuestSetup,
    *,
    weights: Vector,
    intercepts: Vector,
) -> Any:
    """Predictions on `test` (else `train`): hosts send their partial scores u_h (K × rows)."""
    data = setup.score
    u = data.features @ weights.T + intercepts
    for host in sctx.hosts:
        part = expect(recv(host, "scores", "prediction"), np.ndarray, "scores")
        if part.shape != (setup.models, data.rows):
            raise InvalidInputError(f"partial scores of shape {part.shape} from {host.party}")
        u = u + part.T
    return predictions(
        family,
        data.ids,
        u,
        data.labels,
        classes=setup.classes,
        exposure=data.exposure,
        threshold=params.threshold,
    )
