"""MPC protocol benchmark: guest, host and arbiter over gRPC + mTLS, beside MPyC."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

import numpy as np

from _harness import Report
from chaihuo.core import Role
from chaihuo.mpc import (
    DealerTriples,
    Session,
    ecdh_psi_guest,
    ecdh_psi_host,
    serve_triples,
)
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.testing import run_parties

MPYC_VERSION = "0.11"


def mpyc_rate(n: int, op: str) -> float | None:
    """Elements per second of MPyC 3-party (its local launcher: 3 processes) on `op`."""
    script = """
import json, sys, time
import numpy as np
from mpyc.runtime import mpc

async def main():
    n, op = int(sys.argv[1]), sys.argv[2]
    await mpc.start()
    secint = mpc.SecInt(64)
    values = np.arange(n, dtype=object) - n // 2
    x = mpc.input(secint.array(values), senders=0)
    y = mpc.input(secint.array(values[::-1].copy()), senders=0)
    await mpc.barrier()
    start = time.perf_counter()
    await mpc.output(x * y if op == "mul" else x < y)
    elapsed = time.perf_counter() - start
    await mpc.shutdown()
    if mpc.pid == 0:
        print(json.dumps({"seconds": elapsed}))

mpc.run(main())
"""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mpyc_bench.py")
        with open(path, "w") as handle:
            handle.write(script)
        try:
            done = subprocess.run(
                [sys.executable, path, str(n), op, "-M3", "--no-log"],
                capture_output=True,
                text=True,
                timeout=900,
                check=True,
                cwd=folder,
            )
        except (subprocess.SubprocessError, OSError):
            return None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return n / json.loads(lines[-1])["seconds"] if lines else None


def mpyc_available() -> bool:
    try:
        import mpyc  # noqa: PLC0415 - optional reference
    except ImportError:
        return False
    return str(mpyc.__version__) == MPYC_VERSION


def _session_roles(ctx: Context) -> Session:
    """Guest = party 0, host = party 1, both fed by the arbiter's triples (over gRPC + mTLS)."""
    index = 0 if ctx.role == Role.GUEST else 1
    peer = ctx.hosts[0] if index == 0 else ctx.guest
    return Session(index, {1 - index: peer.sub("ss")}, triples=DealerTriples(ctx.arbiter.sub("ss")))


def _mul_and_compare(ctx: Context, size: int, count: int, budget: float) -> dict[str, float] | None:
    if ctx.role == Role.ARBITER:
        serve_triples([ctx.guest.sub("ss"), ctx.hosts[0].sub("ss")])
        return None
    rng = np.random.default_rng(1 + (ctx.role == Role.HOST))  # benchmark data only
    with _session_roles(ctx) as session:
        mine = rng.normal(size=size)
        x = session.input(0, mine if session.index == 0 else None, shape=(size,))
        y = session.input(1, mine if session.index == 1 else None, shape=(size,))
        x * y  # warm-up: first large messages on fresh channels
        # Every party must run the same number of multiplications: a fixed count sized from
        # the warm-up, not each party's own clock.
        rounds = 3 if budget < 2 else 8
        start = time.perf_counter()
        for _ in range(rounds):
            x * y
        mul = rounds * size / (time.perf_counter() - start)
        x[:count].lt(y[:count]).reveal()  # builds and caches the comparison circuit
        start = time.perf_counter()
        x[:count].lt(y[:count]).reveal()
        compare = count / (time.perf_counter() - start)
    return {"mul": mul, "compare": compare}


def mpc_sections(report: Report, quick: bool) -> None:
    """ss_mul_elements, secure_compare_elements, psi_ids: guest, host, arbiter over gRPC."""
    has_mpyc = mpyc_available()
    ref_name = f"MPyC {MPYC_VERSION} 3-party (local processes)" if has_mpyc else None
    missing = "MPyC not installable"
    size, count = 1_000_000, (10_000 if quick else 100_000)
    results = run_parties(
        lambda ctx: _mul_and_compare(ctx, size, count, 1.0 if quick else 3.0),
        {"guest": 9999, "host": 10000, "arbiter": 10001},
        transport="grpc",
        timeout_s=900,
    )
    guest = next(r for p, r in results.items() if p.role == Role.GUEST)
    ref = mpyc_rate(100_000 if quick else size, "mul") if has_mpyc else None
    report.add("ss_mul_elements", guest["mul"], ref, ref_name if ref else missing)
    ref = mpyc_rate(1_000 if quick else 5_000, "lt") if has_mpyc else None
    report.add("secure_compare_elements", guest["compare"], ref, ref_name if ref else missing)
    report.add("psi_ids", psi_rate(10**5 if quick else 10**6), None, None)


def _psi_party(ctx: Context, ids: list[str], domain: bytes) -> tuple[int, float]:
    pool = ctx.cipher.pool.executor  # the party's crypto workers, as the psi component uses
    start = time.perf_counter()
    if ctx.role == Role.GUEST:
        found = len(ecdh_psi_guest(list(ctx.hosts), ids, domain=domain, executor=pool))
    else:
        ecdh_psi_host(ctx.guest, ids, domain=domain, executor=pool)
        found = -1
    return found, time.perf_counter() - start


def psi_rate(per_side: int, crypto_workers: int = 0) -> float:
    """ECDH PSI over gRPC + mTLS, guest and one host of `per_side` ids (half shared): ids/s.

    Each party spreads its group operations over its own crypto worker processes (as the psi
    component does from 20,000 ids on); here both parties' workers share this machine's cores.
    """
    shared = [secrets.token_hex(8) for _ in range(per_side // 2)]
    sets = {
        Role.GUEST: shared + [secrets.token_hex(8) for _ in range(per_side - len(shared))],
        Role.HOST: shared + [secrets.token_hex(8) for _ in range(per_side - len(shared))],
    }
    results = run_parties(
        lambda ctx: _psi_party(ctx, sets[ctx.role], b"bench/psi"),
        {"guest": 9999, "host": 10000},
        transport="grpc",
        timeout_s=1800,
        security=SecurityPolicy(crypto_workers=crypto_workers),
    )
    found, _ = next(r for p, r in results.items() if p.role == Role.GUEST)
    assert found == len(shared)
    elapsed = max(seconds for _, seconds in results.values())
    return 2 * per_side / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (about a minute)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    args = parser.parse_args(argv)
    report = Report("runtime_mpc")
    report.header()
    mpc_sections(report, args.quick)
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
