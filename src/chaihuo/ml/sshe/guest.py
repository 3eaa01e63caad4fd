"""The guest of SSHE LR: labels, intercept, the loss and the per-epoch decisions; no arbiter."""

# What the guest sends and learns (protocol: chaihuo.ml.sshe._link and _train):
# - sends the host only ciphertexts under its own key (its share of the host's weights, its
#   negated masks, with taylor_at_guest its coefficients), values masked by ≥ 40 bits of
#   fresh randomness (packed under the host's key), its initial share of the host's weights
#   (uniform below 2^128, or derived from public zeros), the per-epoch decision flags
#   {best, stop, error}, the set-up plan (row digests, sizes, seed, parameters), and with
#   taylor_clipped a garbled circuit per batch (tables, its input labels, OT replies: the
#   evaluator learns only the masked output); never a label, a feature, a weight or a
#   gradient in the clear.
# - learns: the host's masked values (statistically independent of its data), the training
#   (and validation) loss when `compute_loss`, its own weights at the end (respectively or
#   encrypted_reveal_in_host), with `reveal_every_iter` its own gradient every step, and —
#   when predicting, FATE's behaviour — the host's partial scores X_h·w_h of predicted rows.

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._predictions import Predictions
from chaihuo.ml.sshe._data import PartyData, class_labels, party_data, target_rows
from chaihuo.ml.sshe._fixed import quantize, quantize_like
from chaihuo.ml.sshe._link import Link
from chaihuo.ml.sshe._messages import HostHello, Plan
from chaihuo.ml.sshe._model import KIND, GuestPart, guest_predict
from chaihuo.ml.sshe._params import SsheParams
from chaihuo.ml.sshe._session import exchange_keys, pool_policy
from chaihuo.ml.sshe._train import Side, Trained, Trainer, peer_of
from chaihuo.ml.vertical import (
    exposes_residuals,
    load_part,
    receive_status,
    scoring_input,
    send_status,
)
from chaihuo.runtime import Context

__all__ = ["run_guest"]


@dataclass
class _Setup:
    mode: str
    score: PartyData
    classes: list[Any]
    models: int
    seed: int
    train: PartyData | None = None
    validate: PartyData | None = None
    model: ModelArtifact | None = None
    digests: dict[str, bytes] = field(default_factory=dict)
    host: HostHello | None = None


def run_guest(ctx: Context, params: SsheParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Fit (or, with a model and `predict_only`/`epochs: 0`, apply) the guest's part."""
    setup = _start(ctx, params, inputs)
    predict_peer = peer_of(ctx.sub("predict"), True)
    if setup.mode == "predict":
        assert setup.model is not None
        part = GuestPart.from_artifact(setup.model)
        return {"model": setup.model, "predictions": _predict(predict_peer, part, setup, params)}
    assert setup.train is not None
    keys, peer_key = exchange_keys(ctx, peer_of(ctx.sub("keys"), True))
    link = Link(keys, peer_key, pool_policy(ctx))
    xq = quantize(_design(setup.train.features, params), params.floating_point_precision)
    assert setup.train.labels is not None
    targets = target_rows(setup.classes, setup.train.labels)
    val_x = val_y = None
    if setup.validate is not None:
        val_x = quantize_like(_design(setup.validate.features, params), xq.shifts)
        assert setup.validate.labels is not None
        val_y = target_rows(setup.classes, setup.validate.labels)
    init = GuestPart.from_artifact(setup.model) if setup.model is not None else None
    assert setup.host is not None
    fitted: list[Trained] = []
    for k in range(setup.models):
        side = Side(
            guest=True, x=xq, y=targets[k], peer_width=setup.host.width,
            peer_bits=setup.host.bits, bits=params.floating_point_precision,
            val_x=val_x, val_y=None if val_y is None else val_y[k],
            init=None if init is None else _initial(init, k, params),
        )  # fmt: skip
        fitted.append(Trainer(ctx.sub("model").indexed(k), link, params, side, setup.seed).fit())
    part = _part(fitted, setup, params, keys if _encrypted(params) else None)
    model = part.artifact(_meta(params, fitted))
    return {"model": model, "predictions": _predict(predict_peer, part, setup, params)}


def _encrypted(params: SsheParams) -> bool:
    return params.reveal_strategy == "encrypted_reveal_in_host" and not params.reveal_every_iter


def _design(features: np.ndarray, params: SsheParams) -> np.ndarray:
    if not params.fit_intercept:
        return features
    return np.hstack([features, np.ones((features.shape[0], 1))])


def _initial(part: GuestPart, k: int, params: SsheParams) -> np.ndarray:
    weights = part.weights[k]
    return np.append(weights, part.intercepts[k]) if params.fit_intercept else weights


def _part(fitted: list[Trained], setup: _Setup, params: SsheParams, keys: Any) -> GuestPart:
    assert setup.train is not None
    width = setup.train.features.shape[1]
    weights = np.stack([np.asarray(f.weights, dtype=np.float64) for f in fitted])
    intercepts = weights[:, width] if params.fit_intercept else np.zeros(len(fitted))
    return GuestPart(
        weights[:, :width].copy(), intercepts.copy(), setup.classes,
        setup.train.feature_names, keys,
    )  # fmt: skip


def _meta(params: SsheParams, fitted: list[Trained]) -> dict[str, Any]:
    return {
        "models": len(fitted),
        "fit_intercept": params.fit_intercept,
        "reveal_strategy": params.reveal_strategy,
        "reveal_every_iter": params.reveal_every_iter,
        "sigmoid": params.sigmoid,
        "threshold": params.threshold,
        "epochs": [f.epochs for f in fitted],
        "loss_history": [f.losses for f in fitted],
        "validation_loss_history": [f.validation_losses for f in fitted],
    }


def _predict(peer: Any, part: GuestPart, setup: _Setup, params: SsheParams) -> Predictions:
    score = setup.score
    if part.feature_names and tuple(part.feature_names) != score.feature_names:
        raise InvalidInputError("the data's feature columns differ from the model's")
    return guest_predict(peer, part, score.features, score.ids, score.labels, params.threshold)


# -- set-up ------------------------------------------------------------------------------------


def _start(ctx: Context, params: SsheParams, inputs: Mapping[str, Any]) -> _Setup:
    if len(ctx.hosts) != 1:
        error = InvalidInputError(
            f"hetero_sshe_lr runs with exactly one host (as FATE), this job has {len(ctx.hosts)}",
            public=True,
        )
        for host in ctx.sub("setup").hosts:
            send_status(host, "plan", {}, error)
        raise error
    peer = peer_of(ctx.sub("setup"), True)
    failure: BaseException | None = None
    setup: _Setup | None = None
    try:
        setup = _local(params, inputs)
    except (ChaihuoError, ValueError) as exc:
        failure = exc
    hello: HostHello | None = None
    try:
        hello = HostHello.from_wire(receive_status(peer, "hello", "host", KIND))
    except ChaihuoError:
        if failure is None:
            raise
        # the host failed too (or sent no valid hello); this party reports its own error
    if failure is None:
        assert setup is not None and hello is not None
        problems = _check(params, setup, hello)
        if problems:
            failure = InvalidInputError("; ".join(problems), public=True)  # data-free
    plan = {} if setup is None else _plan(params, setup).to_wire()
    send_status(peer, "plan", plan, failure)
    if failure is not None:
        raise failure
    receive_status(peer, "ack", "host", KIND)
    assert setup is not None
    setup.host = hello
    return setup


def _local(params: SsheParams, inputs: Mapping[str, Any]) -> _Setup:
    model = load_part(inputs.get("model"), KIND, "guest")
    if params.predicts:
        model, usage = scoring_input(model, inputs, "epochs")
        score = party_data(inputs[usage], host=False, usage=usage)
        classes = list(model.meta.get("classes", []))
        models = int(model.meta.get("models", 1))
        return _Setup("predict", score, classes, models, 0, model=model,
                      digests={usage: score.digest})  # fmt: skip
    if inputs.get("train") is None:
        raise InvalidInputError(
            "hetero_sshe_lr needs a `train` input (or a model to predict)", public=True
        )
    train = party_data(inputs["train"], host=False, usage="train")
    classes = class_labels(train.labels)
    seed = params.random_seed if params.random_seed is not None else secrets.randbits(62)
    setup = _Setup("fit", train, classes, len(classes) if len(classes) > 2 else 1, seed,
                   train=train, model=model, digests={"train": train.digest})  # fmt: skip
    for usage in ("validate", "test"):
        if inputs.get(usage) is not None:
            data = party_data(inputs[usage], host=False, usage=usage)
            setup.digests[usage] = data.digest
            if usage == "validate":
                if data.labels is None:
                    raise InvalidInputError(
                        "the guest's `validate` data needs the label column", public=True
                    )
                setup.validate = data
            else:
                setup.score = data
    if model is not None and list(model.meta.get("classes", [])) != classes:
        raise InvalidInputError("warm start: the model's classes differ from the label's")
    return setup


def _plan(params: SsheParams, setup: _Setup) -> Plan:
    return Plan(
        mode=setup.mode,
        models=setup.models,
        seed=setup.seed,
        protocol=params.protocol(),
        usages=tuple(sorted(setup.digests)),
        score="test" if "test" in setup.digests else "train",
        width=(setup.train.features.shape[1] + params.fit_intercept) if setup.train else 0,
        bits=params.floating_point_precision,
        warm=setup.model is not None and setup.mode == "fit",
    )


def _check(params: SsheParams, setup: _Setup, hello: HostHello) -> list[str]:
    """The guest's checks of the host's hello: aligned rows, model parts, leak-prone batches."""
    problems = []
    digests = hello.digests
    if set(digests) != set(setup.digests):
        return [f"the host has inputs {sorted(digests)}, the guest {sorted(setup.digests)}"]
    for usage, digest in setup.digests.items():
        if digests[usage] != digest:
            problems.append(
                f"host `{usage}` rows are not aligned with the guest's (same ids in the same "
                "order): run psi with share_with_hosts on the same partition count first"
            )
    if setup.mode == "predict" or setup.model is not None:
        assert setup.model is not None
        if hello.models != setup.models:
            problems.append("the host's model part has another number of models")
        guest_keys = "paillier_p" in setup.model.arrays
        if setup.mode == "predict" and bool(hello.encrypted) != guest_keys:
            problems.append("the host's and the guest's model parts use other reveal strategies")
    if params.reveal_every_iter and setup.train is not None:
        widest = max(hello.width, setup.train.features.shape[1] + 1)
        if exposes_residuals(setup.train.rows, params.batch_size, widest):
            problems.append(
                "with reveal_every_iter each party learns X^T·e of batches with fewer rows "
                "than one party has columns: it could solve for e (and the labels or the "
                "other's scores); raise batch_size or keep weights shared"
            )
    return problems
