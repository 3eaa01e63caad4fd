"""Hyper-parameters of hetero_secureboost (FATE's and XGBoost's names where they have one)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from chaihuo.ml.boost._objectives import Objective, objective

__all__ = ["PROTOCOL_FIELDS", "BoostParams"]

PROTOCOL_FIELDS = ("num_trees", "max_depth", "objective", "predict_only")
"""What the guest's plan fixes for every host (hosts' own values must agree)."""


class BoostParams(BaseModel):
    """Trees, their growth limits and the regularisation of XGBoost's objective.

    A split is kept when its gain ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] (with G soft-
    thresholded by `l1`) exceeds `min_gain`, both children hold at least `min_child_weight`
    of hessian and `min_samples_leaf` rows, and the node at least `min_samples_split` rows.
    Leaf value: −learning_rate · S(G)/(H+λ).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    num_trees: int = Field(
        5,
        ge=0,
        le=10_000,
        validation_alias=AliasChoices("num_trees", "n_estimators"),
        description="Boosting rounds (0 with a model input = predict).",
    )
    max_depth: int = Field(3, ge=1, le=12, description="Depth of every tree.")
    max_bin: int = Field(
        32, ge=2, le=1024, description="Bins per feature (each party bins its own columns)."
    )
    learning_rate: float = Field(0.3, gt=0, le=10, validation_alias=AliasChoices(
        "learning_rate", "eta"))  # fmt: skip
    objective: Literal[
        "binary:logistic", "multi:softmax", "reg:squarederror", "reg:pseudohubererror",
        "count:poisson", "reg:tweedie",
    ] = Field(
        "binary:logistic",
        description="Binary cross-entropy, softmax (one tree per class per round), squared "
        "error, pseudo-Huber, Poisson or Tweedie (XGBoost's names and formulas).",
    )  # fmt: skip
    huber_slope: float = Field(1.0, gt=0, description="δ of reg:pseudohubererror.")
    tweedie_variance_power: float = Field(
        1.5, gt=1, lt=2, description="ρ of reg:tweedie (1: Poisson-like, 2: gamma-like)."
    )
    l2: float = Field(
        1.0, ge=0, validation_alias=AliasChoices("l2", "reg_lambda", "lambda_"),
        description="λ: L2 penalty on leaf values (XGBoost's default 1).",
    )  # fmt: skip
    l1: float = Field(0.0, ge=0, validation_alias=AliasChoices("l1", "reg_alpha"))
    min_gain: float = Field(
        0.0, ge=0, validation_alias=AliasChoices("min_gain", "gamma", "min_impurity_split"),
        description="Smallest gain worth a split (XGBoost's gamma).",
    )  # fmt: skip
    min_child_weight: float = Field(1.0, ge=0, description="Least hessian sum in a child.")
    min_samples_leaf: int = Field(1, ge=1, description="Least rows in a child.")
    min_samples_split: int = Field(2, ge=2, description="Least rows in a node to split it.")
    precision_bits: int = Field(
        24, ge=12, le=48,
        description="Fractional bits of the encrypted gradients and hessians (24: the "
        "float32 precision XGBoost keeps them in); each bit widens every packed sum.",
    )  # fmt: skip
    subsample: float = Field(
        1.0, gt=0, le=1,
        description="Share of rows drawn for each round (the others add nothing to its sums).",
    )  # fmt: skip
    colsample_bytree: float = Field(
        1.0, gt=0, le=1,
        description="Share of its own columns each party offers each tree (drawn by each party).",
    )  # fmt: skip
    run_goss: bool = Field(
        False,
        description="Gradient-based one-side sampling (FATE's run_goss): each round keeps the "
        "top_rate of rows with the largest |g| and draws other_rate more, weighted up.",
    )
    top_rate: float = Field(0.2, gt=0, lt=1, description="GOSS: share of large-|g| rows kept.")
    other_rate: float = Field(
        0.1, gt=0, lt=1, description="GOSS: share of rows drawn from the rest."
    )
    random_seed: int | None = Field(
        None,
        ge=0,
        description="Seeds the row and column draws (each party its own; drawn if unset).",
    )
    complete_secure: bool = Field(
        False,
        description="Grow the first round's trees on the guest's features only (FATE's "
        "complete_secure): hosts learn no instance space from them.",
    )
    use_missing: bool = Field(
        False,
        description="Accept missing cells: each split learns where they go (FATE's "
        "use_missing); doubles the candidates each host sends. Off: missing cells are refused.",
    )
    early_stopping_rounds: int | None = Field(
        None, ge=1,
        description="With a `validate` input: stop after this many rounds without a lower "
        "validation loss and keep the trees up to the best round.",
    )  # fmt: skip
    predict_only: bool = Field(False, description="With `model` (+ `test`): predict only.")
    threshold: float = Field(0.5, gt=0, lt=1, description="Binary decision threshold.")

    def loss(self, outputs: int = 1) -> Objective:
        """The objective (`outputs`: the classes of multi:softmax)."""
        return objective(self.objective, outputs, huber_slope=self.huber_slope,
                         tweedie_power=self.tweedie_variance_power)  # fmt: skip

    @model_validator(mode="after")
    def _sampling(self) -> BoostParams:
        if self.run_goss and self.subsample < 1:
            raise ValueError("run_goss and subsample < 1 are two ways to draw rows: choose one")
        if self.run_goss and self.top_rate + self.other_rate > 1:
            raise ValueError("run_goss needs top_rate + other_rate <= 1")
        return self

    @property
    def predicts(self) -> bool:
        """True when this run predicts with a given model instead of training."""
        return self.predict_only or self.num_trees == 0
