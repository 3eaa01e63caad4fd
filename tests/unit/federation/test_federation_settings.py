"""Federation settings: validation, backoff schedule and size-scaled deadlines."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chaihuo.federation import FederationSettings, RetryPolicy


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(initial_backoff_s=0.1, multiplier=2, max_backoff_s=1.0, jitter=0.2)
    assert policy.backoff(1, 0.5) == pytest.approx(0.1)
    assert policy.backoff(3, 0.5) == pytest.approx(0.4)
    assert policy.backoff(10, 0.5) == pytest.approx(1.0)  # capped
    assert policy.backoff(2, 0.0) == pytest.approx(0.16)
    assert policy.backoff(2, 0.999999) == pytest.approx(0.24, rel=1e-4)


def test_settings_forbid_unknown_keys_and_oversized_chunks() -> None:
    with pytest.raises(ValidationError):
        FederationSettings(chunk_size=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FederationSettings(chunk_bytes=8 << 20)
    with pytest.raises(ValidationError, match="fit"):
        FederationSettings(chunk_bytes=4 << 20, max_grpc_message_bytes=4 << 20)
    with pytest.raises(ValidationError):
        FederationSettings(denylist_refresh_s=120)  # revocation must bite within 60 s (R10)


def test_deadlines_grow_with_payload_size() -> None:
    settings = FederationSettings(
        send_timeout_s=10, attempt_timeout_s=5, min_throughput_bytes_s=1 << 20
    )
    assert settings.send_deadline_s(0) == 10
    assert settings.attempt_deadline_s(100 << 20) == 105
    assert settings.send_deadline_s(100 << 20) == 110


def test_defaults_are_production_values() -> None:
    settings = FederationSettings()
    assert settings.max_grpc_message_bytes == 64 << 20
    assert settings.chunk_bytes == 4 << 20
    assert settings.retry.max_attempts is None  # until the deadline (ride out restarts)
    assert settings.keepalive.server_min_ping_interval_ms <= settings.keepalive.client_time_ms
