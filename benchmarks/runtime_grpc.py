"""Federation transport benchmark: bytes/s over chaihuo's gRPC + mTLS beside a plain TLS socket."""

from __future__ import annotations

import os
import socket
import ssl
import sys
import tempfile
import threading
from pathlib import Path

from _harness import Report, rate
from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    BytesCodec,
    FederationSettings,
    Party,
    TlsConfig,
    local_grpc_nodes,
    make_local_pki,
)

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
GiB = 1 << 30


def _grpc_rate(tls: dict[PartyId, TlsConfig], payload: bytes, seconds: float) -> float:
    """remote() on one party to get() on the other: chunking, digests, mTLS, dedup included.

    The payload codec is the identity (bytes in, bytes out), so the figure is the transport's;
    chaihuo.serde adds one copy on each side for a bytes object.
    """
    roomy = FederationSettings(max_payload_bytes=4 * GiB, job_buffer_bytes=8 * GiB)
    with local_grpc_nodes(tls, settings=roomy) as (nodes, addresses):
        parties = [GUEST, HOST]
        codec = BytesCodec()
        sender = nodes[GUEST.party_id].federation("bench", GUEST, parties, addresses, codec=codec)
        receiver = nodes[HOST.party_id].federation("bench", HOST, parties, addresses, codec=codec)
        rounds = iter(range(1 << 30))
        sender.remote(b"warm-up", "warm-up", [HOST])  # connection and handshake off the clock
        receiver.get("warm-up", [GUEST])

        def one() -> int:
            tag = f"payload.{next(rounds)}"
            sender.remote(payload, tag, [HOST])
            (got,) = receiver.get(tag, [GUEST])
            assert len(got) == len(payload)  # type: ignore[arg-type]
            return len(payload)

        try:
            return rate(one, seconds)
        finally:
            sender.close()
            receiver.close()


def _tls_socket_rate(tls: TlsConfig, payload: bytes, seconds: float) -> float:
    """The same bytes through one Python `ssl` socket (server in a thread), mutual TLS too."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tls.cert, tls.key)
    server_ctx.load_verify_locations(tls.ca_cert)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_cert_chain(tls.cert, tls.key)
    client_ctx.load_verify_locations(tls.ca_cert)
    client_ctx.check_hostname = False
    listener = socket.create_server(("127.0.0.1", 0))
    size = len(payload)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as sock:
            while not stop.is_set():
                view, got = memoryview(bytearray(size)), 0  # a fresh buffer, as a receiver needs
                while got < size:
                    received = sock.recv_into(view[got:], size - got)
                    if not received:
                        return
                    got += received
                sock.sendall(b"k")

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    raw = socket.create_connection(listener.getsockname())
    with client_ctx.wrap_socket(raw, server_hostname="localhost") as client:

        def one() -> int:
            client.sendall(payload)
            client.recv(1)
            return size

        measured = rate(one, seconds)
        stop.set()
    server.join(5)
    listener.close()
    return measured


def grpc_section(report: Report, quick: bool) -> None:
    """grpc_bytes: bytes/s of a 1 GiB payload (256 MiB with quick) over gRPC + mTLS, loopback."""
    size = (256 << 20) if quick else GiB
    payload = os.urandom(size)
    with tempfile.TemporaryDirectory() as scratch:
        tls = make_local_pki(Path(scratch), [GUEST.party_id, HOST.party_id])
        seconds = 1.0 if quick else 4.0
        ours = _grpc_rate(tls, payload, seconds)
        ref = _tls_socket_rate(tls[HOST.party_id], payload, seconds)
    report.add("grpc_bytes", ours, ref, "plain TLS socket (ssl)")


if __name__ == "__main__":
    bench = Report("runtime_grpc")
    bench.header()
    grpc_section(bench, quick="--quick" in sys.argv)
    print(bench.json_line())
