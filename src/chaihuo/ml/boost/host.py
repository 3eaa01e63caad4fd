"""The host of hetero_secureboost: its columns, bins and split table; never a gradient."""

# What the host sends and learns (protocol: chaihuo.ml.boost._remote):
# - sends the guest only its row digests and candidate count at set-up, per depth the
#   packed, re-randomised encrypted sums left of each of its candidates (under the guest's
#   key: it cannot read them), the left/right bits of the rows of nodes its splits won, and
#   when predicting every node's bit for every predicted row. Its columns, cut points and the
#   column behind each split id stay here.
# - learns: the guest's public key, fresh ciphertexts of every row's (g, h) each tree, the
#   instance space of every node (which rows reach it: SecureBoost's known leak, from the
#   per-depth row positions), which of its split ids won which nodes, and nothing of labels,
#   gradients, leaf values or the guest's splits.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.crypto.paillier import PaillierPublicKey
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.boost._bins import fit_bins
from chaihuo.ml.boost._model import KIND, HostModel, host_send_bits
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._remote import HostTrees
from chaihuo.ml.boost._setup import PartySetup, local_setup, protocol_of
from chaihuo.ml.vertical import receive_status, send_status
from chaihuo.runtime import Context

__all__ = ["run_host"]

MAX_TREES = 1_000_000
"""Most trees a host serves in one run (rounds × classes)."""


def run_host(ctx: Context, params: BoostParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Fit the host's part of the model (or predict with it), following the guest's plan."""
    setup = _start(ctx, params, inputs)
    score = setup.data[setup.score_usage]
    if setup.mode == "predict":
        assert setup.model is not None
        part = HostModel.from_artifact(setup.model)
        _check_names(part.feature_names, score.feature_names)
        host_send_bits(ctx.sub("predict").guest, part, score.features)
        return {"model": setup.model}
    train = setup.data["train"]
    key = ctx.sub("keys").guest.get("public_key")
    if not isinstance(key, PaillierPublicKey):
        raise ProtocolViolationError("the guest's public key is not a Paillier public key")
    if key.key_bits < ctx.cipher.policy.paillier_bits:
        raise ChaihuoError(f"the guest's Paillier key has {key.key_bits} bits, below this "
                           f"job's {ctx.cipher.policy.paillier_bits}")  # fmt: skip
    bins = setup.plan["bins"]
    trees = HostTrees(ctx.sub("trees").guest, key, bins, params.max_depth, lambda: ctx.cipher.pool)
    total = int(setup.plan["trees"])
    for index in range(total):
        trees.tree(index)
        ctx.progress("trees", index + 1, total)
    part = HostModel(trees.nodes, train.feature_names)
    host_send_bits(ctx.sub("predict").guest, part, score.features)
    return {"model": part.artifact({"max_bin": params.max_bin})}


def _check_names(saved: tuple[str, ...], data: tuple[str, ...]) -> None:
    if saved != data:
        raise InvalidInputError("the host data's feature columns differ from its model's",
                                public=True)  # fmt: skip


def _start(ctx: Context, params: BoostParams, inputs: Mapping[str, Any]) -> PartySetup:
    peer = ctx.sub("setup").guest
    failure: BaseException | None = None
    setup: PartySetup | None = None
    hello: dict[str, Any] = {}
    try:
        setup = local_setup(params, inputs, "host")
        hello = {"mode": setup.mode, "digests": setup.digests, "protocol": protocol_of(params)}
        if setup.mode == "fit":
            bins = fit_bins(setup.data["train"].features, params.max_bin)
            setup.plan["bins"] = bins
            hello["candidates"] = len(bins.candidates)
        else:
            assert setup.model is not None
            hello["nodes"] = len(HostModel.from_artifact(setup.model).nodes)
    except (ChaihuoError, ValueError) as exc:
        failure = exc
    send_status(peer, "hello", hello, failure)
    if failure is not None:
        raise failure
    assert setup is not None
    plan = receive_status(peer, "plan", "guest", KIND)
    problems = []
    trees = plan.get("trees")
    if setup.mode == "fit" and not (isinstance(trees, int) and 0 <= trees <= MAX_TREES):
        problems.append(f"the guest's plan asks for {trees!r} trees")
    if plan.get("score") not in setup.data:
        problems.append(f"the host has no `{plan.get('score')}` input to score")
    error = InvalidInputError("; ".join(problems), public=True) if problems else None
    send_status(peer, "ack", {}, error)
    if error is not None:
        raise error
    setup.plan.update(plan)
    return setup
