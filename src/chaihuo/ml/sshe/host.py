"""The host of SSHE LR: features only, no label, no arbiter; follows the guest's plan."""

# What the host sends and learns (protocol: chaihuo.ml.sshe._link and _train):
# - sends the guest only ciphertexts under its own key (its share of the guest's weights, its
#   negated masks, with taylor_at_guest its scaled partial scores), values masked by ≥ 40
#   bits of fresh randomness (packed under the guest's key), its initial share of the guest's
#   weights, the loss terms [[Σ b·v + μ]]_G and Σ b² + 2μ (μ ≥ 40 bits above them), and
#   when predicting its partial scores X_h·w_h (FATE's behaviour), and with taylor_clipped
#   its OT messages as the garbled circuit's evaluator; never a feature or a weight in the
#   clear, and it never sees a label.
# - learns: the guest's masked values, with taylor_clipped the circuit's output Z_c + m (its
#   new share: the clipped score masked by the guest's ≥ 40-bit m), the per-epoch decisions,
#   its own weights at the end with `respectively` (with `encrypted_reveal_in_host` only
#   [[w_h]] under the guest's key: it cannot predict alone), and with `reveal_every_iter` its
#   own gradient every step.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.sshe._data import PartyData, party_data
from chaihuo.ml.sshe._fixed import quantize, quantize_like
from chaihuo.ml.sshe._link import Link
from chaihuo.ml.sshe._messages import HostHello, Plan
from chaihuo.ml.sshe._model import KIND, HostPart, host_predict
from chaihuo.ml.sshe._params import SsheParams
from chaihuo.ml.sshe._session import exchange_keys, pool_policy
from chaihuo.ml.sshe._train import Side, Trained, Trainer, peer_of
from chaihuo.ml.vertical import acknowledge, load_part, receive_status, send_status
from chaihuo.runtime import Context

__all__ = ["run_host"]


@dataclass
class _Setup:
    mode: str
    data: dict[str, PartyData] = field(default_factory=dict)
    model: ModelArtifact | None = None
    plan: Plan | None = None


def run_host(ctx: Context, params: SsheParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Fit (or apply) the host's part; the host outputs its model part only."""
    setup = _start(ctx, params, inputs)
    plan = setup.plan
    assert plan is not None
    predict_peer = peer_of(ctx.sub("predict"), False)
    score = setup.data[plan.score]
    allow_test_keys = ctx.cipher.policy.allow_insecure_test_keys
    if setup.mode == "predict":
        assert setup.model is not None
        part = HostPart.from_artifact(setup.model, allow_test_keys)
        _check_names(part, score)
        host_predict(predict_peer, part, score.features)
        return {"model": setup.model}
    train = setup.data["train"]
    keys, peer_key = exchange_keys(ctx, peer_of(ctx.sub("keys"), False))
    link = Link(keys, peer_key, pool_policy(ctx))
    xq = quantize(train.features, params.floating_point_precision)
    validate = setup.data.get("validate")
    val_x = None if validate is None else quantize_like(validate.features, xq.shifts)
    init = None
    if setup.model is not None:
        init = HostPart.from_artifact(setup.model, allow_test_keys)
        if init.weights is None:
            raise InvalidInputError("warm start needs a host model with plaintext weights")
    fitted: list[Trained] = []
    for k in range(plan.models):
        side = Side(
            guest=False, x=xq, y=None, peer_width=plan.width, peer_bits=plan.bits,
            bits=params.floating_point_precision, val_x=val_x,
            init=None if init is None or init.weights is None else init.weights[k],
        )  # fmt: skip
        trainer = Trainer(ctx.sub("model").indexed(k), link, params, side, plan.seed)
        fitted.append(trainer.fit())
    part = _part(fitted, train, xq.shifts)
    host_predict(predict_peer, part, score.features)
    meta = {"models": len(fitted), "reveal_strategy": params.reveal_strategy}
    return {"model": part.artifact(meta)}


def _part(fitted: list[Trained], train: PartyData, shifts: np.ndarray) -> HostPart:
    if fitted[0].encrypted is not None:
        vectors = [f.encrypted for f in fitted if f.encrypted is not None]
        return HostPart(None, train.feature_names, vectors, shifts.copy())
    weights = np.stack([np.asarray(f.weights, dtype=np.float64) for f in fitted])
    return HostPart(weights, train.feature_names)


def _check_names(part: HostPart, data: PartyData) -> None:
    if part.feature_names and tuple(part.feature_names) != data.feature_names:
        raise InvalidInputError("the host data's feature columns differ from its model's")


def _start(ctx: Context, params: SsheParams, inputs: Mapping[str, Any]) -> _Setup:
    peer = peer_of(ctx.sub("setup"), False)
    failure: BaseException | None = None
    setup: _Setup | None = None
    hello: dict[str, Any] = {}
    try:
        setup, answer = _local(params, inputs)
        hello = answer.to_wire()
    except (ChaihuoError, ValueError) as exc:
        failure = exc
    send_status(peer, "hello", hello, failure)
    if failure is not None:
        raise failure
    received = receive_status(peer, "plan", "guest", KIND)
    try:
        plan = Plan.from_wire(received)
    except ProtocolViolationError as exc:  # the guest waits for the answer: refuse the plan
        send_status(peer, "ack", {}, exc)
        raise
    assert setup is not None
    mine = params.protocol()
    theirs = plan.protocol
    differ = sorted(name for name in mine if theirs.get(name) != mine[name])
    problems = []
    if differ:
        problems.append(
            "guest and host parameters differ in "
            + ", ".join(f"{name} ({theirs.get(name)!r} vs {mine[name]!r})" for name in differ)
        )
    acknowledge(peer, plan.score, setup.data, problems)
    setup.plan = plan
    return setup


def _local(params: SsheParams, inputs: Mapping[str, Any]) -> tuple[_Setup, HostHello]:
    model = load_part(inputs.get("model"), KIND, "host")
    if params.predicts and model is None:
        raise InvalidInputError(
            "predicting (predict_only or epochs: 0) needs a `model` input", public=True
        )
    usages: tuple[str, ...] = ("train", "validate", "test")
    if params.predicts:
        usages = ("test",) if inputs.get("test") is not None else ("train",)
    data = {
        usage: party_data(inputs[usage], host=True, usage=usage)
        for usage in usages
        if inputs.get(usage) is not None
    }
    if not params.predicts and "train" not in data:
        raise InvalidInputError("hetero_sshe_lr needs a `train` input (or a model to predict)")
    if params.predicts and not data:
        raise InvalidInputError("predicting needs a `test` input")
    hello = HostHello(
        digests={usage: d.digest for usage, d in data.items()},
        width=next(iter(data.values())).features.shape[1],
        bits=params.floating_point_precision,
        models=None if model is None else int(model.meta.get("models", 1)),
        encrypted=None if model is None else "encrypted_weights" in model.arrays,
    )
    return _Setup("predict" if params.predicts else "fit", data, model), hello
