"""Hyper-parameters of hetero_sshe_lr (FATE's names where FATE has one) and their agreement."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from chaihuo.ml._train_params import TrainingParams

__all__ = ["SsheParams"]

_PROTOCOL = (
    "epochs",
    "batch_size",
    "tol",
    "early_stop",
    "early_stopping_rounds",
    "shuffle",
    "predict_only",
    "reveal_every_iter",
    "reveal_strategy",
    "sigmoid",
    "compute_loss",
    "fit_intercept",
)
_SHARED_UPDATE = ("learning_rate", "decay", "penalty", "alpha")


class SsheParams(TrainingParams):
    """Training and prediction parameters of the arbiter-free two-party LR.

    `reveal_every_iter: false` (the default, CAESAR / FATE 2.0) keeps both weight vectors
    secret-shared for the whole run: updates are linear in the shares, so only `sgd` with an
    `l2` (or no) penalty applies, both parties must agree on the learning-rate schedule, and
    the model is revealed once at the end by `reveal_strategy`. `reveal_every_iter: true`
    (FATE 1.x's default) reveals each party's own gradient to it every step: any optimizer
    (sgd, adam, rmsprop, adagrad) and L1/L2 then act on plaintext weights, at the price of
    that gradient (and `sigmoid: taylor_at_guest` becomes available).
    """

    tol: float = Field(
        1e-4, ge=0, description="Tolerance of `early_stop` (0, or compute_loss: false, = off)."
    )
    early_stop: Literal["diff", "abs"] = Field(
        "diff", description="diff: |loss_t − loss_{t−1}| < tol; abs: loss < tol (training loss)."
    )
    early_stopping_rounds: int | None = Field(
        None,
        ge=1,
        description="With a `validate` input: stop after this many epochs without a lower "
        "validation loss (computed securely, revealed to the guest) and keep the best weights.",
    )
    floating_point_precision: int = Field(
        12,
        ge=6,
        le=40,
        description="Significant bits kept of each feature column (its own power-of-two "
        "scale); the cost of every encrypted product grows with it.",
    )
    reveal_every_iter: bool = Field(
        False, description="Reveal each party's own gradient every step (see the class doc)."
    )
    reveal_strategy: Literal["respectively", "encrypted_reveal_in_host"] = Field(
        "respectively",
        description="respectively: each party learns its own weights at the end; "
        "encrypted_reveal_in_host: the host keeps its weights encrypted under the guest's key.",
    )
    sigmoid: Literal["taylor_clipped", "taylor", "taylor_at_guest"] = Field(
        "taylor_clipped",
        description="taylor_clipped: clip(½ + z/4, 0, 1), the clip computed by a garbled "
        "circuit on the shares (within 0.5 % of logistic regression's AUC where the plain "
        "Taylor form is not; one more round per batch); taylor: σ(z) ≈ ½ + z/4 (FATE's); "
        "taylor_at_guest: σ exact at the guest's partial score, first order in the host's "
        "(needs reveal_every_iter).",
    )
    compute_loss: bool = Field(True, description="Reveal the epoch's training loss to the guest.")

    @model_validator(mode="after")
    def _consistent(self) -> SsheParams:
        if not self.reveal_every_iter:
            if self.optimizer != "sgd" or self.penalty == "l1":
                raise ValueError(
                    f"optimizer {self.optimizer!r} with penalty {self.penalty!r} needs "
                    "reveal_every_iter: true — with secret-shared weights only sgd and an l2 "
                    "(or no) penalty apply, as the update must be linear in the shares"
                )
            if self.sigmoid == "taylor_at_guest":
                raise ValueError("sigmoid taylor_at_guest needs reveal_every_iter: true")
        elif self.reveal_strategy == "encrypted_reveal_in_host":
            raise ValueError(
                "reveal_strategy encrypted_reveal_in_host keeps the host's weights hidden from "
                "it, which reveal_every_iter: true cannot (FATE refuses the pair too)"
            )
        return self

    def protocol(self) -> dict[str, Any]:
        """Fields both parties must agree on (with shared weights, the update rule too)."""
        names = _PROTOCOL + (() if self.reveal_every_iter else _SHARED_UPDATE)
        return {name: getattr(self, name) for name in names}
