"""Hyper-parameters of horizontal learners: local training, the server strategy, privacy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from chaihuo.ml.homo._mlp import Layer

__all__ = ["PROTOCOL_FIELDS", "HomoLrParams", "HomoNnParams", "Strategy"]

Strategy = Literal["fedavg", "fedprox", "fedadam", "fedyogi", "fedadagrad", "scaffold"]

PROTOCOL_FIELDS = (
    "rounds", "strategy", "secure_aggregation", "dropout", "clip_norm", "noise_multiplier",
    "standardize",
)  # fmt: skip
"""What the server decides for the job; a client whose own value differs is refused."""


class HomoLrParams(BaseModel):
    """Logistic regression trained by federated averaging over clients that share features.

    Each round the server sends the global weights to the clients it samples; each trains
    `local_epochs` passes of mini-batch SGD on its own rows (loss: mean log-loss + α/2‖w‖²,
    the intercept unpenalised) and returns its update, weighted by its row count (unweighted
    under DP), summed by secure aggregation; the server applies the strategy to the mean.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    rounds: int = Field(
        20, ge=0, le=100_000,
        validation_alias=AliasChoices("rounds", "max_iter", "aggregate_iters"),
        description="Federated rounds (0 with a model input = predict).",
    )  # fmt: skip
    local_epochs: int = Field(1, ge=1, le=1_000, description="Passes over local rows per round.")
    batch_size: int | None = Field(
        None, ge=1, description="Local mini-batch rows (None: the whole local set, one step)."
    )
    learning_rate: float = Field(0.5, gt=0, le=100, description="Clients' local SGD step.")
    penalty: Literal["none", "l2"] = "l2"
    standardize: bool = Field(
        True,
        description="Train on features standardised by the union's mean and deviation (summed "
        "securely at set-up); the penalty and the model stay on the original scale.",
    )
    alpha: float = Field(0.001, ge=0, description="L2 strength α (sklearn's C = 1/(α·rows)).")
    strategy: Strategy = Field(
        "fedavg",
        description="fedavg (McMahan 2017), fedprox (Li 2020), fedadam / fedyogi / fedadagrad "
        "(Reddi 2021, server-side adaptive), scaffold (Karimireddy 2020).",
    )
    proximal_mu: float = Field(0.01, ge=0, description="FedProx's μ: pull to the global model.")
    server_learning_rate: float = Field(
        1.0, gt=0, le=100, description="η of the server step (FedAvg 1; adaptive: e.g. 0.1)."
    )
    server_beta1: float = Field(0.9, ge=0, lt=1)
    server_beta2: float = Field(0.99, ge=0, lt=1)
    server_tau: float = Field(1e-3, gt=0, description="τ of the adaptive server optimisers.")
    fraction_fit: float = Field(
        1.0, gt=0, le=1, description="Fraction of live clients sampled each round."
    )
    min_clients: int = Field(2, ge=2, description="Fewest clients a round may train with.")
    secure_aggregation: bool = Field(
        True, description="Masked sums with dropout recovery (the server sees only sums)."
    )
    dropout: float = Field(
        0.3, ge=0, lt=0.5, description="Fraction of a round's clients that may drop out."
    )
    round_timeout_s: float = Field(
        120.0, gt=0, le=86_400, description="How long the server waits for each step of a round."
    )
    clip_norm: float | None = Field(
        None, gt=0, description="Client-level DP: L2 bound on each client's update."
    )
    noise_multiplier: float | None = Field(
        None, gt=0, description="Client-level DP: σ; each client adds N(0, (σC)²/m)."
    )
    target_epsilon: float | None = Field(
        None, gt=0, description="Stop once the next round would spend more than this ε."
    )
    delta: float = Field(1e-5, gt=0, lt=1, description="δ of the (ε, δ) report.")
    early_stopping_rounds: int | None = Field(
        None, ge=1, description="Stop when clients' validation loss has not improved this long."
    )
    tol: float = Field(1e-6, ge=0, description="Stop when the training loss changes less.")
    checkpoint_dir: str | None = Field(
        None,
        description="Server: write its training state here after every round (relative to the "
        "job file); with `resume`, go on from it after a crash.",
    )
    resume: bool = Field(False, description="Server: continue from checkpoint_dir's state.")
    predict_only: bool = False

    @model_validator(mode="after")
    def _privacy(self) -> HomoLrParams:
        if (self.clip_norm is None) != (self.noise_multiplier is None):
            raise ValueError("client-level DP needs both clip_norm and noise_multiplier")
        if self.target_epsilon is not None and self.noise_multiplier is None:
            raise ValueError("target_epsilon needs clip_norm and noise_multiplier")
        return self

    def governed(self) -> dict[str, Any]:
        """What the server decides for every client (a client whose values differ refuses)."""
        return {name: getattr(self, name) for name in PROTOCOL_FIELDS}

    def hidden(self) -> tuple[Layer, ...]:
        """The hidden layers (homo_nn's; none for logistic regression)."""
        return ()

    def init_seed(self) -> int | None:
        """Seed of the initial weights and batch order (homo_nn's; logistic: none)."""
        return None

    @property
    def private(self) -> bool:
        """Whether client updates are clipped and noised."""
        return self.noise_multiplier is not None


class HomoNnParams(HomoLrParams):
    """A multi-layer perceptron declared as hidden layers, trained like homo_lr (see
    chaihuo.ml.homo._mlp): FedAvg and its successors, secure aggregation, DP, checkpoints."""

    layers: list[Layer] = Field(
        default_factory=lambda: [Layer(units=32, activation="relu")],
        min_length=1, max_length=16,
        description="Hidden layers, each {units, activation: relu|tanh|sigmoid|linear}; the "
        "output layer (sigmoid or softmax) is added.",
    )  # fmt: skip
    learning_rate: float = Field(0.1, gt=0, le=100, description="Clients' local SGD step.")
    batch_size: int | None = Field(32, ge=1, description="Local mini-batch rows (None: all).")
    alpha: float = Field(1e-4, ge=0, description="L2 strength on the weights (not biases).")
    random_seed: int | None = Field(
        None,
        ge=0,
        description="Seeds the server's initial weights and the clients' mini-batch order "
        "(drawn fresh if unset).",
    )

    def governed(self) -> dict[str, Any]:
        """The server's settings, the network's layers included."""
        return {**super().governed(), "layers": [layer.model_dump() for layer in self.layers]}

    def hidden(self) -> tuple[Layer, ...]:
        """The declared hidden layers."""
        return tuple(self.layers)

    def init_seed(self) -> int | None:
        """`random_seed`."""
        return self.random_seed
