"""Federation settings: deadlines, retry policy, size limits and gRPC keepalive, with defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FederationSettings", "KeepaliveSettings", "RetryPolicy"]

MiB = 1 << 20
GiB = 1 << 30


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter for transient send failures (R17).

    Only UNAVAILABLE and DEADLINE_EXCEEDED are retried. Retrying DEADLINE_EXCEEDED is safe
    because every send is idempotent: the receiver deduplicates by (job, tag, src, dst) and
    digest, so a retry of a message that did arrive is acknowledged and discarded (R13, R14).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_backoff_s: float = Field(0.05, gt=0, le=60, description="Wait before attempt 2.")
    max_backoff_s: float = Field(5.0, gt=0, le=300, description="Cap on one wait.")
    multiplier: float = Field(2.0, ge=1.0, le=10.0, description="Growth of the wait per attempt.")
    jitter: float = Field(0.2, ge=0.0, le=1.0, description="Each wait is scaled by 1 ± jitter.")
    max_attempts: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Attempts per message; None retries until the send deadline, which is what "
        "lets a job ride out a peer restart or a short partition (R16).",
    )

    def backoff(self, attempt: int, unit: float) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based); `unit` in [0, 1)."""
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        return float(base * (1.0 - self.jitter + 2.0 * self.jitter * unit))


class KeepaliveSettings(BaseModel):
    """HTTP/2 keepalive on both sides, chosen so the server never answers GOAWAY too_many_pings.

    The server tolerates client pings every `server_min_ping_interval_ms`, which must not exceed
    the client's `client_time_ms` (R17: a 2 h idle link must survive an idle-killing proxy).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_time_ms: int = Field(30_000, ge=1_000, description="Client ping interval when idle.")
    client_timeout_ms: int = Field(10_000, ge=1_000, description="Wait for a ping ack.")
    server_time_ms: int = Field(60_000, ge=1_000, description="Server ping interval when idle.")
    server_timeout_ms: int = Field(20_000, ge=1_000, description="Wait for a ping ack.")
    server_min_ping_interval_ms: int = Field(
        10_000, ge=100, description="Most frequent client ping the server accepts."
    )

    @model_validator(mode="after")
    def _pings_are_tolerated(self) -> KeepaliveSettings:
        if self.server_min_ping_interval_ms > self.client_time_ms:
            raise ValueError(
                "server_min_ping_interval_ms above client_time_ms makes the server send "
                "GOAWAY too_many_pings"
            )
        return self


class FederationSettings(BaseModel):
    """Every knob of a federation endpoint and node; the defaults are production values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_timeout_s: float = Field(
        300.0, gt=0, description="Deadline for delivering one message, retries included."
    )
    attempt_timeout_s: float = Field(
        30.0, gt=0, description="Deadline of one attempt (one RPC), before size allowance."
    )
    min_throughput_bytes_s: int = Field(
        4 * MiB,
        gt=0,
        description="Slowest link assumed: attempt and send deadlines grow by size / this.",
    )
    receive_timeout_s: float = Field(600.0, gt=0, description="Default deadline of `get`.")
    retry: RetryPolicy = RetryPolicy()
    chunk_bytes: int = Field(
        4 * MiB, ge=1, le=4 * MiB, description="Payload bytes per streamed chunk (≤ 4 MiB)."
    )
    max_payload_bytes: int = Field(
        2 * GiB, ge=1, description="Largest payload of one message, sent or accepted (R04)."
    )
    max_grpc_message_bytes: int = Field(
        64 * MiB, ge=MiB, description="gRPC max send/receive size of one chunk message (R04)."
    )
    job_buffer_bytes: int = Field(
        4 * GiB, ge=1, description="Payload bytes a node buffers per job before refusing more."
    )
    job_buffer_messages: int = Field(
        100_000, ge=1, description="Messages a node buffers per job before refusing more."
    )
    max_jobs: int = Field(1024, ge=1, description="Jobs with live mailboxes on one node.")
    server_workers: int = Field(16, ge=2, le=1024, description="Threads of a node's server.")
    denylist_refresh_s: float = Field(
        30.0, gt=0, le=60, description="Revocation takes effect within this time (R10)."
    )
    keepalive: KeepaliveSettings = KeepaliveSettings()
    security_log_burst: int = Field(
        10, ge=1, description="Security events logged per kind and peer host in one window."
    )
    security_log_window_s: float = Field(
        60.0, gt=0, description="Window of the security log's rate limit; the rest is summed."
    )

    @model_validator(mode="after")
    def _chunks_fit_messages(self) -> FederationSettings:
        if self.chunk_bytes + 64 * 1024 > self.max_grpc_message_bytes:
            raise ValueError("chunk_bytes plus envelope must fit max_grpc_message_bytes")
        return self

    def send_deadline_s(self, size: int) -> float:
        """Deadline for delivering `size` payload bytes, retries included."""
        return self.send_timeout_s + size / self.min_throughput_bytes_s

    def attempt_deadline_s(self, size: int) -> float:
        """Deadline of one attempt carrying `size` payload bytes."""
        return self.attempt_timeout_s + size / self.min_throughput_bytes_s
