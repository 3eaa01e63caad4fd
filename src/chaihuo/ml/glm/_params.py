"""Hyper-parameters of the coordinated GLM family (FATE's names where FATE has one)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chaihuo.ml._train_params import TrainingParams

__all__ = ["PROTOCOL_FIELDS", "GlmParams"]

PROTOCOL_FIELDS = (
    "epochs",
    "batch_size",
    "tol",
    "early_stop",
    "early_stopping_rounds",
    "shuffle",
    "predict_only",
)
"""Fields every party must agree on: the guest's values drive the run, others must match."""


class GlmParams(TrainingParams):
    """Training and prediction parameters of hetero_lr / hetero_linr / hetero_poisson.

    Optimiser fields (`optimizer`, `learning_rate`, `decay`, `penalty`, `alpha`, `beta1`,
    `beta2`, `epsilon`) act on each party's own weights; the protocol fields (`PROTOCOL_FIELDS`)
    must be equal on every party and are checked before training starts.
    """

    tol: float = Field(1e-4, ge=0, description="Convergence tolerance of `early_stop`.")
    early_stop: Literal["diff", "abs", "weight_diff"] = Field(
        "diff",
        description="diff: |loss_t − loss_{t−1}| < tol; abs: loss < tol; "
        "weight_diff: ‖w_t − w_{t−1}‖₂ < tol (all parties' weights).",
    )
    early_stopping_rounds: int | None = Field(
        None,
        ge=1,
        description="With a `validate` input: stop after this many epochs without "
        "improvement of the validation metric and keep the best epoch's weights.",
    )
    standardize: bool = Field(
        True,
        description="Train on each party's own z-scored columns (mean and standard deviation "
        "of its training rows, which never leave it) and save coefficients on the data's "
        "scale, as glmnet does; false trains on the raw values (FATE).",
    )
    intercept_init: Literal["labels", "zero"] = Field(
        "labels",
        description="labels: start the guest's intercept where the intercept-only model is "
        "best for the training labels (the mean for linear, log of the mean rate for Poisson, "
        "logit of the mean for logistic, 4·mean − 2 with sigmoid taylor, the optimum of its "
        "Taylor loss); zero: start at 0 (FATE). "
        "Ignored when warm-starting from a model.",
    )
    sigmoid: Literal["taylor_at_guest", "taylor"] = Field(
        "taylor_at_guest",
        description="hetero_lr's residual σ(u) − y with u = u_guest + u_hosts, where the guest "
        "sees only its own u_guest: taylor_at_guest expands σ at u_guest (exact for the "
        "guest's part, first order in the hosts' encrypted part); taylor expands at 0, "
        "σ(u) ≈ ½ + u/4 (FATE), whose training converges to a least-squares fit. The "
        "reported loss: with taylor_at_guest the log loss bounded at u_guest (exact there, "
        "Böhning's ⅛ curvature bound for the hosts' part); with taylor the Taylor loss. "
        "Ignored by hetero_linr and hetero_poisson.",
    )
    floating_point_precision: int = Field(
        12,
        ge=4,
        le=40,
        description="Bits of each feature column in X^T[[d]] (block floating point: every "
        "column is scaled by its own power of two, then rounded).",
    )

    def protocol(self) -> dict[str, Any]:
        """The fields all parties must agree on, as plain JSON-able values."""
        return {name: getattr(self, name) for name in PROTOCOL_FIELDS}
