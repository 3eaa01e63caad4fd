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

import secrets
from collections.abc import Mapping
from typing import Any

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.crypto.paillier import PaillierPublicKey
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.boost._bins import ColumnSampler, fit_bins
from chaihuo.ml.boost._model import KIND, HostModel, host_send_bits
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._remote import HostTrees
from chaihuo.ml.boost._setup import PartySetup, local_setup, protocol_of
from chaihuo.ml.vertical import acknowledge, receive_status, send_status
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
    key = ctx.sub("keys").guest.get("public_key")
    if not isinstance(key, PaillierPublicKey):
        raise ProtocolViolationError("the guest's public key is not a Paillier public key")
    if key.key_bits < ctx.cipher.policy.paillier_bits:
        raise ChaihuoError(f"the guest's Paillier key has {key.key_bits} bits, below this "
                           f"job's {ctx.cipher.policy.paillier_bits}")  # fmt: skip
    bins = setup.plan["bins"]
    sampler = None
    if params.colsample_bytree < 1:
        seed = params.random_seed if params.random_seed is not None else secrets.randbits(62)
        party = int(setup.plan["host_index"]) + 1
        sampler = ColumnSampler(bins, params.colsample_bytree, seed, party)
    trees = HostTrees(ctx.sub("trees").guest, key, bins, params.max_depth,
                      lambda: ctx.cipher.pool, sampler=sampler)  # fmt: skip
    if setup.model is not None:  # warm start: the saved trees' bits for the guest's scores
        saved = HostModel.from_artifact(setup.model)
        warm = ctx.sub("warm")
        host_send_bits(warm.guest, saved, setup.data["train"].features)
        if setup.plan.get("validate"):
            host_send_bits(warm.sub("validate").guest, saved, setup.data["validate"].features)
        trees.nodes.update(saved.nodes)
    part = _serve(ctx, setup, trees)
    host_send_bits(ctx.sub("predict").guest, part, score.features)
    return {"model": part.artifact({"max_bin": params.max_bin})}


def _serve(ctx: Context, setup: PartySetup, trees: HostTrees) -> HostModel:
    """Every tree of the guest's plan, round by round; with a `validate` input, the round's
    node bits on its rows, the guest's go-on after each round, and the trees it keeps."""
    total, outputs = int(setup.plan["trees"]), int(setup.plan["outputs"])
    first = int(setup.plan.get("first_tree", 0))  # a warm start's saved trees come first
    names = setup.data["train"].feature_names
    validate = setup.data.get("validate") if setup.plan.get("validate") else None
    channel = ctx.sub("validate")
    grown = first
    guest_only = int(setup.plan.get("guest_only_rounds", 0))
    for index in range(first // outputs, (first + total) // outputs):
        for _ in range(outputs):
            if index >= guest_only:  # complete_secure: the first round is the guest's alone
                trees.tree(grown)
            grown += 1
        ctx.progress("trees", grown - first, total)
        if validate is not None:
            peer = channel.sub(f"round{index}").guest
            part = HostModel(trees.nodes, names)
            host_send_bits(peer, part, validate.features, range(grown - outputs, grown))
            go = peer.get("go")
            if not isinstance(go, bool):
                raise ProtocolViolationError("the guest's go-on after a round is not a boolean")
            if not go:
                break
    part = HostModel(trees.nodes, names)
    if validate is None:
        return part
    kept = channel.guest.get("kept")
    if not isinstance(kept, int) or isinstance(kept, bool) or not 0 <= kept <= grown:
        raise ProtocolViolationError(f"the guest keeps {kept!r} of {grown} trees")
    return part.keep(kept)


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
            bins = fit_bins(setup.data["train"].features, params.max_bin, params.use_missing)
            setup.plan["bins"] = bins
            hello["candidates"] = len(bins.candidates)
        if setup.model is not None:  # predicting, or continuing it (warm start)
            saved = HostModel.from_artifact(setup.model)
            _check_names(saved.feature_names, setup.data[setup.score_usage].feature_names)
            hello["nodes"] = len(saved.nodes)
    except (ChaihuoError, ValueError) as exc:
        failure = exc
    send_status(peer, "hello", hello, failure)
    if failure is not None:
        raise failure
    assert setup is not None
    plan = receive_status(peer, "plan", "guest", KIND)
    problems = []
    trees, outputs = plan.get("trees"), plan.get("outputs")
    if setup.mode == "fit" and not (
        isinstance(trees, int) and 0 <= trees <= MAX_TREES
        and isinstance(outputs, int) and outputs >= 1 and trees % outputs == 0
    ):  # fmt: skip
        problems.append(f"the guest's plan asks for {trees!r} trees of {outputs!r} outputs")
    if setup.mode == "fit" and plan.get("guest_only_rounds") not in (0, 1):
        problems.append("the guest's plan has an unknown complete_secure setting")
    first = plan.get("first_tree", 0)
    continuing = setup.model is not None
    if setup.mode == "fit" and not (
        isinstance(first, int) and 0 <= first <= MAX_TREES and (first > 0) == continuing
        and isinstance(outputs, int) and outputs >= 1 and first % outputs == 0
    ):  # fmt: skip
        problems.append("the guest's and the host's model parts to continue do not match")
    if setup.mode == "fit" and plan.get("validate") and "validate" not in setup.data:
        problems.append("the host has no `validate` input")
    acknowledge(peer, plan.get("score"), setup.data, problems)
    setup.plan.update(plan)
    return setup
