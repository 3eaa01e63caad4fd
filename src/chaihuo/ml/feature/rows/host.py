"""Host side of row synchronisation: prove alignment by id digest, receive the row codes."""

# A host reveals only the digest of its ordered ids and learns one code per aligned row
# (see chaihuo.ml.feature.rows.guest for the guest's side).

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._data import id_digest
from chaihuo.runtime import Context

__all__ = ["receive_row_codes", "send_id_digest"]


def send_id_digest(ctx: Context, ids: npt.NDArray[Any]) -> None:
    """Send the guest the digest of this host's ids in block order."""
    ctx.guest.put("id_digest", id_digest(ids))


def receive_row_codes(ctx: Context, ids: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Send the id digest and receive one code per row (a guest-side error is re-raised)."""
    send_id_digest(ctx, ids)
    reply = ctx.guest.get("rows")
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise ProtocolViolationError(f"the guest refused: {reply['error']}")
    codes = reply.get("codes") if isinstance(reply, dict) else None
    if not isinstance(codes, np.ndarray) or codes.shape != (len(ids),) or codes.dtype != np.uint8:
        raise ProtocolViolationError(f"the guest sent no valid row codes for {len(ids)} rows")
    return codes.copy()
