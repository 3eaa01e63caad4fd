"""R13: with 30 % of messages lost (and some acks), the job's result equals the clean run's."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from chaihuo.federation import FaultPlan, FederationSettings, RetryPolicy

# Quick retries keep the test short; the policy is otherwise the production one.
QUICK_RETRY = FederationSettings(
    send_timeout_s=20,
    receive_timeout_s=20,
    retry=RetryPolicy(initial_backoff_s=0.005, max_backoff_s=0.05),
)


def _run(cluster: Any, toy_job: Any, faults: FaultPlan | None) -> tuple[dict[str, Any], Any]:
    job = f"job-r13-{uuid.uuid4().hex[:8]}"
    feds = cluster.open(job, toy_job.parties, settings=QUICK_RETRY, faults=faults)
    return toy_job.run(feds), cluster.stats(job)


def test_r13_thirty_percent_message_drop_gives_the_clean_result(cluster: Any, toy_job: Any) -> None:
    clean, clean_stats = _run(cluster, toy_job, None)
    faulty, stats = _run(cluster, toy_job, FaultPlan(drop=0.3, drop_ack=0.1, seed=13))
    np.testing.assert_array_equal(faulty["guest"], clean["guest"])
    assert faulty["arbiter"] == clean["arbiter"]
    assert clean_stats.applied == stats.applied == toy_job.logical_messages
    assert stats.duplicates_received > 0  # lost acks made senders resend delivered messages
    assert stats.duplicates_applied == 0
    wrappers = [fed.faults for fed in cluster.opened[-len(toy_job.parties) :]]
    assert sum(w.stats.dropped for w in wrappers) > 0.15 * toy_job.logical_messages
