"""Training parameters every vertical linear model shares (FATE's names where FATE has one)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from chaihuo.ml._optim import OptimizerParams

__all__ = ["TrainingParams"]


class TrainingParams(BaseModel):
    """Epochs, batches, the optimiser and its penalty, initialisation and prediction switches;
    each algorithm adds its protocol fields and says which of these all parties must agree on."""

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
    init_method: Literal["zeros", "random"] = "zeros"
    random_seed: int | None = Field(
        None, ge=0, description="Seeds batch shuffling and random init (drawn if unset)."
    )
    shuffle: bool = Field(True, description="Reshuffle the rows into batches every epoch.")
    fit_intercept: bool = Field(True, description="The guest holds an intercept.")
    predict_only: bool = Field(False, description="With `model` (+ `test`): predict only.")
    threshold: float = Field(0.5, gt=0, lt=1, description="Binary decision threshold.")

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

    @property
    def predicts(self) -> bool:
        """True when this run predicts with a given model instead of training."""
        return self.predict_only or self.epochs == 0
