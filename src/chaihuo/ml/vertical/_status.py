"""Set-up status messages every vertical algorithm exchanges, and loading a party's model part."""

# Each party validates its own inputs first and sends its peer the outcome before either
# raises, so a bad input (a label on a host, rows not aligned by PSI, disagreeing parameters)
# stops both with the same cause instead of leaving one waiting for its deadline. What
# crosses on failure is the error's code and a data-free text (chaihuo.core.shared_reason),
# never its message, which may quote this party's data.

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaihuo.core import ChaihuoError, InvalidInputError, shared_reason
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.runtime import Peer

__all__ = ["acknowledge", "load_part", "receive_status", "scoring_input", "send_status"]


def send_status(
    peer: Peer, name: str, payload: dict[str, Any], error: BaseException | None
) -> None:
    """Send `payload`, or the error that stops this party. The error is sent best effort: if the
    peer is gone already (it failed first and cancelled the job), the caller still raises its
    own error, which is the one to report."""
    if error is None:
        peer.put(name, {"error": None, **payload})
        return
    try:
        peer.put(name, {"error": shared_reason(error)})
    except ChaihuoError:
        return


def receive_status(peer: Peer, name: str, who: str, component: str) -> dict[str, Any]:
    """The peer's status message without its status: the payload, for the caller's record to
    check; raises InvalidInputError carrying the peer's reason."""
    received = peer.get(name)
    if not isinstance(received, dict) or "error" not in received:
        raise ProtocolViolationError(f"{who} sent a malformed {name!r} message")
    if received["error"] is not None:
        raise InvalidInputError(f"{component} stopped by the {who}: {received['error']}")
    return {key: value for key, value in received.items() if key != "error"}


def acknowledge(peer: Peer, score: object, data: Mapping[str, Any], problems: list[str]) -> None:
    """A host's answer to the guest's plan: its own `problems` (data-free texts), plus a
    missing input to `score` (the plan's data set to predict), refuse it on both parties;
    none, and the plan is accepted."""
    if not isinstance(score, str) or score not in data:
        problems = [*problems, f"the host has no `{score}` input to score"]
    error = InvalidInputError("; ".join(problems), public=True) if problems else None
    send_status(peer, "ack", {}, error)
    if error is not None:
        raise error


def load_part(source: object, kind: str, role: str) -> ModelArtifact | None:
    """A `model` input (an artifact, a path to its JSON, or None), checked to be `role`'s part
    of a `kind` model."""
    if source is None:
        return None
    model = ModelArtifact.load(Path(source)) if isinstance(source, str | Path) else source
    if not isinstance(model, ModelArtifact):
        raise InvalidInputError("`model` input is not a model", got=type(source).__name__)
    if model.kind != kind or model.role != role:
        raise InvalidInputError(
            f"`model` input is a {model.kind} model of the {model.role}, expected the {role}'s "
            f"part of a {kind} model"
        )
    return model


def scoring_input(
    model: ModelArtifact | None, inputs: Mapping[str, Any], rounds: str
) -> tuple[ModelArtifact, str]:
    """For a run that only predicts (`predict_only`, or `rounds`: 0): the model, and the input
    to score (`test`, else `train`); refused, naming what is missing, without either."""
    if model is None:
        raise InvalidInputError(
            f"predicting (predict_only or {rounds}: 0) needs a `model` input", public=True
        )
    usage = "test" if inputs.get("test") is not None else "train"
    if inputs.get(usage) is None:
        raise InvalidInputError("predicting needs a `test` input", public=True)
    return model, usage
