"""R14: duplicated and resent messages are applied once; a changed resend aborts the job."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from chaihuo.federation import FaultPlan, FederationSettings, ProtocolViolationError, RetryPolicy

QUICK_RETRY = FederationSettings(
    send_timeout_s=20,
    receive_timeout_s=20,
    retry=RetryPolicy(initial_backoff_s=0.005, max_backoff_s=0.05),
)


def test_r14_duplicates_and_resends_after_ack_loss_apply_once(cluster: Any, toy_job: Any) -> None:
    clean_job, faulty_job = f"job-r14-{uuid.uuid4().hex[:8]}", f"job-r14-{uuid.uuid4().hex[:8]}"
    clean = toy_job.run(cluster.open(clean_job, toy_job.parties, settings=QUICK_RETRY))
    plan = FaultPlan(duplicate=0.2, resend_after_ack=1.0, seed=14)
    feds = cluster.open(faulty_job, toy_job.parties, settings=QUICK_RETRY, faults=plan)
    faulty = toy_job.run(feds)
    np.testing.assert_array_equal(faulty["guest"], clean["guest"])
    assert faulty["arbiter"] == clean["arbiter"]
    stats = cluster.stats(faulty_job)
    assert stats.applied == toy_job.logical_messages
    resent = sum(fed.faults.stats.resent for fed in feds.values())
    duplicated = sum(fed.faults.stats.duplicated for fed in feds.values())
    assert resent == toy_job.logical_messages  # every message was sent again after its ack
    assert stats.duplicates_received == resent + duplicated
    assert stats.duplicates_applied == 0


def test_r14_same_key_with_different_digest_aborts_the_job(cluster: Any, toy_job: Any) -> None:
    job = f"job-r14-{uuid.uuid4().hex[:8]}"
    guest, host, _, arbiter = toy_job.parties
    feds = cluster.open(job, toy_job.parties, settings=QUICK_RETRY)
    feds[guest].remote(np.ones(3), "weights", [host])
    # The same (job, tag, src, dst) from a second endpoint of the guest, other contents.
    impostor = cluster.open(job, toy_job.parties, settings=QUICK_RETRY, only=[guest])[guest]
    with pytest.raises(ProtocolViolationError) as info:
        impostor.remote(np.zeros(3), "weights", [host])
    assert info.value.spec.grpc_status == "FAILED_PRECONDITION"
    with pytest.raises(ProtocolViolationError, match="different contents"):
        feds[host].get("weights", [guest])
    with pytest.raises(ProtocolViolationError):  # the whole job is aborted on that node
        feds[arbiter].get("anything", [guest], timeout=1)
    assert cluster.stats(job).applied == 1
