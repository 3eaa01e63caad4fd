"""The set-up every horizontal learner runs: parameters, schema, class census, moments."""

# Server → clients: the parameters it governs; a client whose own values differ refuses,
# naming them. Clients → server: their feature names (the schema must be one) or a data-free
# refusal; the server's verdict goes back to every client before anyone raises, so a bad
# input stops all parties with the same cause. Then secure sums (chaihuo.ml.homo._aggregate):
# the count of every class (labels are whole numbers 0–63) and of rows; on request, the
# union's mean and variance per feature (chaihuo.ml.homo._scaling), missing cells skipped.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from chaihuo.core import ChaihuoError, InvalidInputError, Role
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._data import DataArrays
from chaihuo.ml._predictions import Predictions
from chaihuo.ml.homo._aggregate import Aggregation, aggregate, contribute
from chaihuo.ml.homo._messages import Setup
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.ml.vertical import receive_status, send_status
from chaihuo.runtime import Context

__all__ = [
    "MAX_CLASSES",
    "RoundSettings",
    "aggregation",
    "class_labels",
    "class_predictions",
    "client_join",
    "client_moments",
    "server_moments",
    "server_welcome",
]

MAX_CLASSES = 64
Matrix = npt.NDArray[np.float64]


class RoundSettings(Protocol):
    """What every horizontal learner's parameters say about its sums."""

    @property
    def secure_aggregation(self) -> bool: ...
    @property
    def dropout(self) -> float: ...
    @property
    def round_timeout_s(self) -> float: ...


def class_labels(arrays: DataArrays, usage: str, component: str) -> npt.NDArray[np.int64]:
    """A client's labels as class numbers: whole numbers in [0, MAX_CLASSES), else refused."""
    if arrays.labels is None:
        raise InvalidInputError(
            f"{component} needs a label column in every client's `{usage}` data", public=True
        )
    values = np.asarray(arrays.labels, dtype=np.float64)
    if not np.all((values == np.round(values)) & (values >= 0) & (values < MAX_CLASSES)):
        raise InvalidInputError(
            f"{component} labels must be whole numbers in [0, {MAX_CLASSES})", public=True
        )
    return values.astype(np.int64)


def class_predictions(
    scored: DataArrays, probabilities: Matrix, classes: list[int], threshold: float = 0.5
) -> Predictions:
    """Predictions of `scored`'s rows: P(classes[1]) for two classes, else one column each."""
    labels = None if scored.labels is None else np.asarray(scored.labels)
    if len(classes) == 2:
        scores = probabilities.reshape(len(scored.ids), -1)[:, -1]
        return Predictions("binary", scored.ids, scores, labels, list(classes), threshold)
    return Predictions("multiclass", scored.ids, probabilities, labels, list(classes))


def aggregation(ctx: Context, settings: RoundSettings, *, integers: bool = False) -> Aggregation:
    """How the vectors of `ctx`'s step are summed, bound to the job and the step's namespace."""
    domain = f"chaihuo/homo|{ctx.job_id}|{'.'.join(ctx.namespace)}".encode()
    return Aggregation(
        settings.secure_aggregation, settings.dropout, settings.round_timeout_s, domain, integers
    )


def client_join(
    ctx: Context, settings: RoundSettings, mine: Mapping[str, Any], *, columns: list[str],
    labels: npt.NDArray[np.int64] | None, error: BaseException | None, component: str,
) -> Setup:  # fmt: skip
    """A client's side of the set-up; `mine` its governed parameters, `error` its own refusal
    (raised after the server has it), `labels` its class indices for the census."""
    server = ctx.peers(Role.SERVER)[0]
    plan = server.get("plan")
    if error is None and plan != dict(mine):
        differ = sorted(k for k in mine if not isinstance(plan, dict) or plan.get(k) != mine[k])
        error = InvalidInputError(
            f"this client's parameters {differ} differ from the server's", public=True
        )
    send_status(server, "hello", {} if error else {"columns": columns}, error)
    if error is not None:
        raise error
    assert labels is not None
    receive_status(server, "go", "server", component)
    census = np.zeros(MAX_CLASSES + 1, dtype=np.int64)
    np.add.at(census, labels, 1)
    census[-1] = len(labels)
    setup_ctx = ctx.sub("setup")
    contribute(setup_ctx.peers(Role.SERVER)[0].sub("agg"), census,
               aggregation(setup_ctx, settings, integers=True))  # fmt: skip
    return Setup.from_wire(server.get("setup"))


def server_welcome(
    ctx: Context, settings: RoundSettings, governed: Mapping[str, Any], component: str
) -> tuple[Setup, tuple[str, ...]]:
    """The server's side: every client's verdict and schema, then the summed class census."""
    clients = ctx.peers(Role.CLIENT)
    clients.put("plan", dict(governed))
    problems: list[BaseException] = []
    hellos = []
    for peer in clients:
        try:
            hellos.append(receive_status(peer, "hello", f"client {peer.party.party_id}", component))
        except ChaihuoError as exc:
            problems.append(exc)
    columns = {tuple(h.get("columns", ())) for h in hellos}
    if not problems and len(columns) != 1:
        problems.append(InvalidInputError("the clients' feature columns differ", public=True))
    error = problems[0] if problems else None
    for peer in clients:
        send_status(peer, "go", {}, error)
    if error is not None:
        raise error
    setup_ctx = ctx.sub("setup")
    how = aggregation(setup_ctx, settings, integers=True)
    census, _ = aggregate(list(setup_ctx.peers(Role.CLIENT).sub("agg")), MAX_CLASSES + 1, how)
    classes = [int(c) for c in np.flatnonzero(census[:MAX_CLASSES])]
    if len(classes) < 2:
        raise InvalidInputError("the clients' labels hold a single class: nothing to learn")
    setup = Setup(classes, [int(census[c]) for c in classes], int(census[-1]))
    clients.put("setup", setup.to_wire())
    return setup, tuple(str(name) for name in next(iter(columns)))


def client_moments(
    ctx: Context, settings: RoundSettings, features: Matrix
) -> tuple[Scaling, Matrix]:
    """The union's mean and variance per feature, from two secure sums (see _scaling), and
    its count of present cells per feature."""
    width = features.shape[1]
    mean_ctx, variance_ctx = ctx.sub("mean"), ctx.sub("variance")
    server = mean_ctx.peers(Role.SERVER)[0]
    present = np.maximum(_present(features, mean_ctx, settings, server), 1)
    contribute(server.sub("agg"), np.nansum(features, axis=0) / present,
               aggregation(mean_ctx, settings))  # fmt: skip
    mean = Scaling.from_wire(server.get("mean"), width).mean
    server = variance_ctx.peers(Role.SERVER)[0]
    centred = np.nansum((features - mean) ** 2, axis=0) / present
    contribute(server.sub("agg"), centred, aggregation(variance_ctx, settings))
    return Scaling.from_wire(server.get("scaling"), width), present


def _present(features: Matrix, ctx: Context, settings: RoundSettings, server: Any) -> Matrix:
    """The union's count of present (non-missing) cells per feature."""
    counts = np.sum(~np.isnan(features), axis=0).astype(np.int64)
    how = aggregation(ctx.sub("present"), settings, integers=True)
    contribute(server.sub("present"), counts, how)
    total = server.get("present")
    width = features.shape[1]
    if not isinstance(total, np.ndarray) or total.dtype != np.int64 or total.shape != (width,):
        raise ProtocolViolationError(f"present counts: expected {width} int64 values")
    if np.any(total < 0):
        raise ProtocolViolationError("present counts: a count is negative")
    return total.astype(np.float64)


def server_moments(
    ctx: Context, settings: RoundSettings, width: int
) -> tuple[Scaling, npt.NDArray[np.int64]]:
    """The union's count of present cells, mean, then variance per feature, each a secure sum
    of the clients' shares of it."""
    mean_ctx = ctx.sub("mean")
    clients = mean_ctx.peers(Role.CLIENT)
    present_how = aggregation(mean_ctx.sub("present"), settings, integers=True)
    present, _ = aggregate(list(clients.sub("present")), width, present_how)
    clients.put("present", np.asarray(present, dtype=np.int64))
    steps = []
    for name in ("mean", "variance"):
        step_ctx = ctx.sub(name)
        total, _ = aggregate(
            list(step_ctx.peers(Role.CLIENT).sub("agg")), width, aggregation(step_ctx, settings)
        )
        steps.append(np.asarray(total, dtype=np.float64))
        if name == "mean":
            step_ctx.peers(Role.CLIENT).put("mean", Scaling(steps[0], np.ones(width)).to_wire())
    scaling = Scaling.from_variance(steps[0], steps[1])
    ctx.sub("variance").peers(Role.CLIENT).put("scaling", scaling.to_wire())
    return scaling, np.asarray(present, dtype=np.int64)
