"""R17: every call has a deadline; transient failures are retried with backoff, others are not."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from pydantic import ValidationError

import chaihuo.federation
from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    FederationSettings,
    GrpcNode,
    KeepaliveSettings,
    NodeConfig,
    Party,
    PeerUnreachableError,
    PermissionDeniedError,
    RetryPolicy,
)

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
SRC = Path(chaihuo.federation.__file__).parent


class _Flaky:
    """Stands in for a node's Send handler: fails `failures` times with `status`, then serves."""

    def __init__(self, real: Any, failures: int, status: grpc.StatusCode, delay: float = 0) -> None:
        self.real, self.failures, self.status, self.delay = real, failures, status, delay
        self.calls = 0

    def __call__(self, requests: Any, context: grpc.ServicerContext) -> bytes:
        self.calls += 1
        time.sleep(self.delay)
        if self.calls <= self.failures:
            context.abort(self.status, f"injected failure {self.calls}")
        return bytes(self.real(requests, context))


class _DeadlineRecorder(grpc.StreamUnaryClientInterceptor):
    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        self.timeouts.append(client_call_details.timeout)
        return continuation(client_call_details, request_iterator)


@pytest.fixture
def flaky_host(pki):
    """Start a host node whose handler is wrapped by `wrap(real_handler) -> handler`."""
    nodes: list[GrpcNode] = []

    def start(wrap: Any) -> tuple[GrpcNode, Any]:
        node = GrpcNode(NodeConfig(party_id="10000", tls=pki["10000"]))
        flaky = wrap(node._service.send)
        node._service.send = flaky  # type: ignore[method-assign]
        nodes.append(node.start())
        return node, flaky

    yield start
    for node in nodes:
        node.stop(grace=0)


def _sender(node_factory, host: GrpcNode, settings: FederationSettings, **kwargs: Any):
    guest_node = node_factory("9999", settings=settings, **kwargs)
    addresses = {"9999": guest_node.address, "10000": host.address}
    return guest_node.federation("job-r17", GUEST, [GUEST, HOST], addresses)


def test_r17_every_client_call_has_a_deadline(node_factory) -> None:
    recorder = _DeadlineRecorder()
    host = node_factory("10000")
    fed = _sender(node_factory, host, FederationSettings(), client_interceptors=[recorder])
    for index in range(5):
        fed.remote(index, f"t.{index}", [HOST])
    assert len(recorder.timeouts) == 5
    assert all(t is not None and 0 < t <= 31 for t in recorder.timeouts), recorder.timeouts


def test_r17_every_rpc_in_the_source_passes_a_timeout() -> None:
    calls = 0
    for path in SRC.rglob("_grpc*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"future", "with_call", "__call__"}
            ):
                calls += 1
                keywords = {kw.arg for kw in node.keywords}
                assert "timeout" in keywords, f"{path}:{node.lineno} has no deadline"
    assert calls >= 1


def test_r17_unavailable_three_times_then_success_on_attempt_4(flaky_host, node_factory) -> None:
    host, flaky = flaky_host(lambda real: _Flaky(real, 3, grpc.StatusCode.UNAVAILABLE))
    policy = RetryPolicy(max_attempts=5, initial_backoff_s=0.01, max_backoff_s=0.05)
    fed = _sender(node_factory, host, FederationSettings(retry=policy))
    fed.remote({"x": 1}, "flaky", [HOST])
    assert flaky.calls == 4
    assert host.stats("job-r17").applied == 1


def test_r17_retries_stop_at_max_attempts(flaky_host, node_factory) -> None:
    host, flaky = flaky_host(lambda real: _Flaky(real, 10, grpc.StatusCode.UNAVAILABLE))
    policy = RetryPolicy(max_attempts=3, initial_backoff_s=0.01)
    fed = _sender(node_factory, host, FederationSettings(retry=policy))
    with pytest.raises(PeerUnreachableError, match=r"after 3 attempt\(s\): UNAVAILABLE") as info:
        fed.remote(1, "down", [HOST])
    assert flaky.calls == 3
    assert info.value.details["address"] == host.address


def test_r17_deadline_exceeded_is_retried_then_surfaced(flaky_host, node_factory) -> None:
    host, flaky = flaky_host(lambda real: _Flaky(real, 0, grpc.StatusCode.OK, delay=0.6))
    settings = FederationSettings(
        attempt_timeout_s=0.2, send_timeout_s=0.9, retry=RetryPolicy(initial_backoff_s=0.01)
    )
    fed = _sender(node_factory, host, settings)
    started = time.monotonic()
    with pytest.raises(PeerUnreachableError, match="DEADLINE_EXCEEDED"):
        fed.remote(1, "slow", [HOST])
    assert time.monotonic() - started < 3
    assert flaky.calls >= 2


def test_r17_non_transient_failures_are_not_retried(flaky_host, node_factory) -> None:
    host, flaky = flaky_host(lambda real: _Flaky(real, 10, grpc.StatusCode.PERMISSION_DENIED))
    fed = _sender(node_factory, host, FederationSettings())
    with pytest.raises(PermissionDeniedError):
        fed.remote(1, "denied", [HOST])
    assert flaky.calls == 1


def test_r17_malformed_retry_and_keepalive_configs_are_refused() -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(maxAttempts=5)  # type: ignore[call-arg]  # FATE's misspelled-key failure mode
    with pytest.raises(ValidationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError, match="too_many_pings"):
        KeepaliveSettings(client_time_ms=5_000, server_min_ping_interval_ms=10_000)
    defaults = KeepaliveSettings()
    assert defaults.server_min_ping_interval_ms <= defaults.client_time_ms


_IDLE_LINK = textwrap.dedent(
    """
    import sys, tempfile, time
    from chaihuo.core import PartyId, Role
    from chaihuo.federation import *
    g, h = Party(Role.GUEST, PartyId("9999")), Party(Role.HOST, PartyId("10000"))
    keep = KeepaliveSettings.model_construct(
        client_time_ms=1000, client_timeout_ms=1000, server_time_ms=60000,
        server_timeout_ms=20000, server_min_ping_interval_ms=int(sys.argv[1]))
    settings = FederationSettings().model_copy(update={"keepalive": keep})
    with tempfile.TemporaryDirectory() as d:
        with local_grpc_nodes(make_local_pki(d, ["9999", "10000"]), settings=settings) as (n, a):
            fg = n["9999"].federation("j", g, [g, h], a)
            fh = n["10000"].federation("j", h, [g, h], a)
            fg.remote(1, "before", [h]); fh.get("before", [g])
            time.sleep(5)
            fg.remote(2, "after", [h]); print(fh.get("after", [g]))
    """
)


def test_r17_idle_link_gets_no_goaway_too_many_pings() -> None:
    # Client pings every 1 s while idle. The shipped relation (server tolerance <= client
    # interval) must not draw GOAWAY too_many_pings; the inverted one must (control).
    runs = {
        interval: subprocess.Popen(
            [sys.executable, "-c", _IDLE_LINK, str(interval)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for interval in (500, 10_000)
    }
    outputs = {interval: run.communicate(timeout=60) for interval, run in runs.items()}
    good_out, good_err = outputs[500]
    assert "[2]" in good_out, good_err
    assert "too_many_pings" not in good_err
    assert "too_many_pings" in outputs[10_000][1]  # the check can see the failure it guards
