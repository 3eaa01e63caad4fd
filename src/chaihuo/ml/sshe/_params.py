"""Hyper-parameters of hetero_sshe_lr (FATE's names where FATE has one) and their agreement."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from chaihuo.ml._optim import OptimizerParams

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


class SsheParams(BaseModel):
    """Training and prediction parameters of the arbiter-free two-party LR.

    `reveal_every_iter: false` (the default, CAESAR / FATE 2.0) keeps both weight vectors
    secret-shared for the whole run: updates are linear in the shares, so only `sgd` with an
    `l2` (or no) penalty applies, both parties must agree on the learning-rate schedule, and
    the model is revealed once at the end by `reveal_strategy`. `reveal_every_iter: true`
    (FATE 1.x's default) reveals each party's own gradient to it every step: any optimizer
    (sgd, adam, rmsprop, adagrad) and L1/L2 then act on plaintext weights, at the price of
    that gradient (and `sigmoid: taylor_at_guest` becomes available).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    epochs: int = Field(
        10,
        ge=0,
        le=100_000,
        validation_alias=AliasChoices("epochs", "max_iter"),
        description="Passes over the data (FATE: max_iter); 0 with a model input = predict.",
    )
    batch_size: int = Field(-1, description="Rows per mini-batch; -1 = the whole data set.")
    optimizer: Literal["sgd", "adam", "rmsprop", "adagrad"] = "sgd"
    learning_rate: float = Field(0.15, gt=0, le=100)
    decay: float = Field(0.0, ge=0, description="lr_t = lr / (1 + decay·t), t = update count")
    penalty: Literal["none", "l1", "l2"] = "l2"
    alpha: float = Field(0.01, ge=0, description="Penalty strength.")
    beta1: float = Field(0.9, gt=0, lt=1)
    beta2: float = Field(0.999, gt=0, lt=1)
    epsilon: float = Field(1e-8, gt=0)
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
    init_method: Literal["zeros", "random"] = "zeros"
    random_seed: int | None = Field(
        None, ge=0, description="Seeds batch shuffling and random init (drawn if unset)."
    )
    shuffle: bool = Field(True, description="Reshuffle the rows into batches every epoch.")
    fit_intercept: bool = Field(True, description="The guest holds an intercept.")
    predict_only: bool = Field(False, description="With `model` (+ `test`): predict only.")
    threshold: float = Field(0.5, gt=0, lt=1, description="Binary decision threshold.")
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
    sigmoid: Literal["taylor", "taylor_at_guest"] = Field(
        "taylor",
        description="taylor: σ(z) ≈ ½ + z/4 (FATE); taylor_at_guest: σ exact at the guest's "
        "partial score, first order in the host's (needs reveal_every_iter).",
    )
    compute_loss: bool = Field(True, description="Reveal the epoch's training loss to the guest.")

    @field_validator("penalty", "optimizer", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        if value is None:
            return "none"
        return value.lower() if isinstance(value, str) else value

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, value: int) -> int:
        if value != -1 and value < 1:
            raise ValueError("batch_size is -1 (full batch) or a positive number of rows")
        return value

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

    def optimizer_params(self) -> OptimizerParams:
        """The optimiser part, for `make_optimizer`."""
        return OptimizerParams(
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            decay=self.decay,
            penalty=self.penalty,
            alpha=self.alpha,
            beta1=self.beta1,
            beta2=self.beta2,
            epsilon=self.epsilon,
        )

    def protocol(self) -> dict[str, Any]:
        """Fields both parties must agree on (with shared weights, the update rule too)."""
        names = _PROTOCOL + (() if self.reveal_every_iter else _SHARED_UPDATE)
        return {name: getattr(self, name) for name in names}

    @property
    def predicts(self) -> bool:
        """True when this run predicts with a given model instead of training."""
        return self.predict_only or self.epochs == 0
