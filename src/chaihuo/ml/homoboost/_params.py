"""Hyper-parameters of homo_secureboost: SecureBoost's tree parameters and the round settings."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from chaihuo.ml.boost import BoostParams

__all__ = ["HomoBoostParams"]

_CLIENT_ONLY = frozenset({"predict_only", "threshold", "round_timeout_s"})


class HomoBoostParams(BoostParams):
    """XGBoost's trees grown from the clients' summed histograms (see chaihuo.ml.homoboost).

    Binary log loss or softmax (gradients bounded by 1, the fixed-point range of the sums);
    `subsample`, GOSS, `complete_secure` and validation early stopping are vertical-only.
    """

    secure_aggregation: bool = Field(
        True, description="Histograms summed with dropout recovery (the server sees only sums)."
    )
    dropout: float = Field(
        0.3, ge=0, lt=0.5, description="Fraction of the clients that may drop out of a step."
    )
    round_timeout_s: float = Field(
        120.0, gt=0, le=86_400, description="How long the server waits for each step."
    )

    @model_validator(mode="after")
    def _horizontal(self) -> HomoBoostParams:
        if self.objective not in ("binary:logistic", "multi:softmax"):
            raise ValueError("homo_secureboost trains binary:logistic or multi:softmax")
        unsupported = [
            name for name, off in (
                ("subsample", self.subsample == 1), ("run_goss", not self.run_goss),
                ("complete_secure", not self.complete_secure),
                ("early_stopping_rounds", self.early_stopping_rounds is None),
            ) if not off
        ]  # fmt: skip
        if unsupported:
            raise ValueError(f"homo_secureboost does not offer {', '.join(unsupported)}")
        return self

    def governed(self) -> dict[str, Any]:
        """What the server decides for every client (a client whose values differ refuses)."""
        return self.model_dump(exclude=set(_CLIENT_ONLY))
