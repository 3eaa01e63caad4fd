"""Row assignment synchronised across parties: split parts and samples decided by the guest."""

from chaihuo.ml.feature.rows._assign import (
    UNUSED,
    allocate,
    resolve_size,
    sample_mask,
    split_codes,
)
from chaihuo.ml.feature.rows.guest import (
    best_effort,
    check_hosts_aligned,
    notify_on_error,
    send_row_codes,
)
from chaihuo.ml.feature.rows.host import receive_row_codes, send_id_digest

__all__ = [
    "UNUSED",
    "allocate",
    "best_effort",
    "check_hosts_aligned",
    "notify_on_error",
    "receive_row_codes",
    "resolve_size",
    "sample_mask",
    "send_id_digest",
    "send_row_codes",
    "split_codes",
]
