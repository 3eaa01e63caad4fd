"""The arbiter of the coordinated GLM protocol: key owner, decryptor, convergence judge."""

# What the arbiter sends and learns (see chaihuo.ml.glm for the whole protocol):
# - makes the job's Paillier key pair and sends only the public key; the private key never
#   leaves this process and is not saved (its model part holds the key's fingerprint).
# - receives from every party only [[g + r]] (gradients masked by a uniform r of 48 bits
#   more than the gradient's bound, so the decrypted value is statistically independent of
#   g), and from the guest the encrypted epoch loss, optionally ‖Δw‖² summed over all
#   parties, and the guest's validation verdict (improved / stop) in plaintext.
# - learns the epoch losses (and ‖Δw‖²) — by design, it judges convergence — and returns the
#   masked gradients to their owners and continue/stop decisions to everyone (the loss to
#   the guest only).

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from chaihuo.core import ConfigError
from chaihuo.crypto import EncodingOverflowError
from chaihuo.crypto.paillier import EncryptedVector, PackedVector, PaillierPrivateKey
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._diverged import diverged, diverged_error
from chaihuo.ml.glm._family import Family
from chaihuo.ml.glm._messages import Decision, EpochReport, Plan
from chaihuo.ml.glm._params import GlmParams
from chaihuo.ml.glm._phases import Phases
from chaihuo.ml.glm._secure import decrypt_masked
from chaihuo.ml.glm._session import follower_start, recv
from chaihuo.ml.vertical import Convergence, batch_count
from chaihuo.runtime import Context, Peer

__all__ = ["run_arbiter"]

_POOL_MIN_CIPHERTEXTS = 256


def run_arbiter(
    ctx: Context,
    family: Family,
    params: GlmParams,
    inputs: Mapping[str, Any],
    *,
    phases: Phases | None = None,
) -> dict[str, Any]:
    """Serve one run: keys, decryptions of masked gradients, convergence decisions."""
    phases = phases or Phases()
    plan = follower_start(ctx, family.component, lambda plan: _hello(params, plan))
    if plan.mode == "predict":
        return {}
    keys = ctx.cipher.paillier()
    ctx.guest.put("public_key", keys.public_key)
    ctx.hosts.put("public_key", keys.public_key)
    rows = plan.rows
    steps = batch_count(rows, params.batch_size)  # the parameters agree with the guest's plan
    epochs, histories = [], []
    for k in range(plan.models):
        mctx = ctx.sub("model").indexed(k)
        convergence = Convergence(params.early_stop, params.tol)
        losses: list[float] = []
        for epoch in range(params.epochs):
            ectx = mctx.sub("epoch").indexed(epoch)
            try:
                for step in range(steps):
                    _serve_batch(ectx.sub("batch").indexed(step), keys.private_key, phases)
            except EncodingOverflowError as exc:  # a gradient beyond what the key carries
                raise diverged_error(epoch + 1, None, str(exc)) from exc
            stop = _judge(ectx, keys.private_key, rows, convergence, losses)
            if stop == "diverged":
                raise diverged_error(epoch + 1, None, f"the loss reached {losses[-1]:.6g}")
            if math.isfinite(losses[-1]):
                mctx.metrics.log("loss", losses[-1], step=epoch)
            if stop:
                break
        epochs.append(len(losses))
        histories.append(losses)
    model = ModelArtifact(
        family.component,
        "arbiter",
        {
            "key_fingerprint": keys.public_key.fingerprint.hex(),
            "key_bits": keys.public_key.key_bits,
            "epochs": epochs,
            "loss_history": histories,
        },
    )
    return {"model": model}


def _hello(params: GlmParams, plan: Plan) -> dict[str, Any]:
    differ = plan.differences(params.protocol(), "arbiter")
    if differ:
        raise ConfigError(f"parameters differ from the guest's: {', '.join(differ)}", public=True)
    return {}


def _serve_batch(bctx: Context, private_key: PaillierPrivateKey, phases: Phases) -> None:
    """Decrypt each party's masked gradient and send it back to that party alone."""
    peers: list[Peer] = [bctx.guest, *bctx.hosts]
    for peer in peers:
        masked = recv(peer, "gradient", "masked gradient", phases)
        size = len(masked) if isinstance(masked, EncryptedVector | PackedVector) else 0
        pool = bctx.cipher.pool if size >= _POOL_MIN_CIPHERTEXTS else None
        with phases("decrypt"):
            values = decrypt_masked(masked, private_key, pool)
        peer.put("gradient_plain", values)


def _judge(
    ectx: Context,
    private_key: PaillierPrivateKey,
    rows: int,
    convergence: Convergence,
    losses: list[float],
) -> bool | Literal["diverged"]:
    """Decrypt the epoch loss, apply the convergence rule and broadcast the decision (stop,
    or "diverged": the loss ran away, every party stops with TRAINING_DIVERGED)."""
    received = recv(ectx.guest, "epoch", "epoch loss")
    message = EpochReport.from_wire(received, private_key.public_key)
    loss = _scalar(message.loss, private_key) / rows
    change = None
    if message.weight_change is not None:
        change = _scalar(message.weight_change, private_key)
    losses.append(loss)
    if diverged(losses):  # everyone stops and says so; the loss itself stays here
        ectx.guest.put("decision", Decision(True, False, diverged=True).to_wire())
        ectx.hosts.put("decision", Decision(True, False, diverged=True).to_wire())
        return "diverged"
    stop = convergence.converged(loss, change) or message.stop
    ectx.guest.put("decision", Decision(stop, message.improved, loss).to_wire())
    ectx.hosts.put("decision", Decision(stop, message.improved).to_wire())
    return stop


def _scalar(vector: EncryptedVector, private_key: PaillierPrivateKey) -> float:
    return float(vector.decrypt(private_key)[0])
