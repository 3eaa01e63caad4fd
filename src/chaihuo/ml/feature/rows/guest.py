"""Guest side of row synchronisation: check hosts are row-aligned, then send them row codes."""

# What each role learns. Hosts send the guest a SHA-256 digest of their ordered ids (which
# the guest, knowing the intersection, could compute itself); the guest sends each host one
# small integer per aligned row saying which output it goes to (a split part, or kept/not
# kept by a sample). No label, feature or id crosses the wire. A stratified assignment is a
# function of the labels, but each row's marginal chance of each code is the same in every
# class; what a host could infer is limited to the per-part class balance the guest chose.

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from chaihuo.core import ChaihuoError, shared_reason
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._data import id_digest
from chaihuo.runtime import Context

__all__ = ["best_effort", "check_hosts_aligned", "notify_on_error", "send_row_codes"]

T = TypeVar("T")


def check_hosts_aligned(ctx: Context, ids: npt.NDArray[Any]) -> str | None:
    """Receive every host's id digest; a description of the first mismatch, or None."""
    mine = id_digest(ids)
    for party, theirs in zip(ctx.hosts.parties, ctx.hosts.get("id_digest"), strict=True):
        if not isinstance(theirs, bytes) or theirs != mine:
            return (
                f"rows of {party} are not aligned with the guest's: run psi (with "
                "share_with_hosts) before this component, with the same partition count"
            )
    return None


def send_row_codes(ctx: Context, ids: npt.NDArray[Any], codes: npt.NDArray[np.uint8]) -> None:
    """Check alignment, then send each host the row codes (or the error, and raise it)."""
    problem = check_hosts_aligned(ctx, ids)
    if problem is not None:
        ctx.hosts.put("rows", {"error": problem})
        raise ProtocolViolationError(problem, public=True)
    ctx.hosts.put("rows", {"codes": np.ascontiguousarray(codes, dtype=np.uint8)})


def notify_on_error(ctx: Context, tag: str, step: Callable[[], T]) -> T:
    """Run `step`; if it fails, tell every host under `tag` before re-raising (no host hangs).

    Hosts get the error's type and its shared reason (core.shared_reason: the code, and the
    message only where it is vouched free of data, as the alignment check's is).
    """
    try:
        return step()
    except Exception as exc:
        notice = {"error": f"{type(exc).__name__} on the guest: {shared_reason(exc)}"}
        best_effort(lambda: ctx.hosts.put(tag, notice))
        raise


def best_effort(send: Callable[[], object]) -> None:
    """Deliver an error notice if the federation still can: failing to tell a peer must not
    hide the error being reported."""
    with contextlib.suppress(ChaihuoError):
        send()
