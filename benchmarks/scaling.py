"""Scaling: the X^T[[d]] kernel, a hetero_lr epoch, an SSHE epoch and ECDH PSI on 1..N workers."""

# Every row is measured with the party's crypto pool at each worker count (1, 2, 4, ... up to
# the cores), in the same run. The kernel section also runs the previous column split (every
# worker received all ciphertexts and built the tables of every row) beside the row split, and
# reports the fraction of wall time not spent multiplying (process hand-off, pickling
# ciphertexts, waiting): 1 − (single-process time / workers) / wall. Both parties of the
# protocol sections share this machine's cores, as they would not in production.

from __future__ import annotations

import argparse
import itertools
import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # before grpc is imported
import sys
import time

import numpy as np

from _harness import Report
from chaihuo.core import Role
from chaihuo.crypto.paillier import PaillierPool, generate_keypair, power_products
from chaihuo.ml.glm import GlmParams
from chaihuo.runtime import SecurityPolicy
from runtime_mpc import psi_rate
from vertical_lr import run_hetero_lr
from vertical_sshe import _run as run_sshe


def _column_split(pool: PaillierPool, modulus: object, bases: list, exponents: np.ndarray) -> list:
    """The split used before: blocks of columns, each shipping every ciphertext to a worker."""
    columns = exponents.shape[1]
    bounds = np.linspace(0, columns, min(columns, pool.workers * 2) + 1).astype(int).tolist()
    blocks = [np.ascontiguousarray(exponents[:, lo:hi]) for lo, hi in itertools.pairwise(bounds)]
    futures = [pool.executor.submit(power_products, bases, b, modulus) for b in blocks if b.size]
    return [c for f in futures for c in f.result()]


def kernel_section(report: Report, rows: int, features: int, counts: list[int]) -> None:
    """[[X^T d]] for rows × features 17-bit integers (the quantised features), 2048-bit key."""
    keys = generate_keypair(2048)
    rng = np.random.default_rng(3)
    bases = keys.public_key.raw_encrypt([int(v) for v in rng.integers(0, 2**60, rows)])
    exponents = rng.integers(-(2**16), 2**16, size=(rows, features)).astype(np.int64)
    nsq = keys.public_key.nsquare
    start = time.perf_counter()
    expected = power_products(bases, exponents, nsq)
    single = time.perf_counter() - start
    shape = f"{rows} x {features}"
    report.add(f"kernel_s_{shape.replace(' ', '')}_in_process", single, None, "no pool")
    for n in counts:
        with PaillierPool(n) as pool:
            pool.power_products(nsq, bases[:64], exponents[:64])  # start the workers
            timings = {}
            for name, run in (
                ("rows", lambda: pool.power_products(nsq, bases, exponents)),
                ("columns", lambda: _column_split(pool, nsq, bases, exponents)),
            ):
                start = time.perf_counter()
                got = run()
                timings[name] = time.perf_counter() - start
                if got != expected:
                    raise AssertionError(f"{name} split differs from the in-process kernel")
        other = 1 - (single / n) / timings["rows"]
        report.add(
            f"kernel_speedup_{n}w_{shape.replace(' ', '')}", single / timings["rows"],
            single / timings["columns"],
            f"row split vs column split (ref); {timings['rows']:.1f} s; not multiplying "
            f"{100 * max(other, 0):.0f}% of wall",
        )  # fmt: skip


def glm_section(report: Report, rows: int, counts: list[int]) -> None:
    """One full-batch hetero_lr epoch on rows × (30 + 300) (FATE 2.0's shape, scaled)."""
    rng = np.random.default_rng(7)
    guest, host = rng.normal(size=(rows, 30)), rng.normal(size=(rows, 300))
    logits = guest @ rng.normal(0, 0.3, 30) + host @ rng.normal(0, 0.1, 300)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    ids = np.array([str(i) for i in range(rows)], dtype=object)
    params = GlmParams(epochs=2, batch_size=-1, random_seed=1, tol=0.0)
    epochs = {}
    for n in counts:
        phases, _ = run_hetero_lr(
            ids, guest, labels, host, params, security=SecurityPolicy(crypto_workers=n)
        )
        epochs[n] = float(phases[Role.GUEST].laps["epoch"][-1])
        report.add(f"hetero_lr_epoch_s_{n}w_{rows}", epochs[n], epochs[counts[0]],
                   f"{rows} x (30 + 300), 2048-bit; reference: {counts[0]} worker")  # fmt: skip


def sshe_section(report: Report, rows: int, counts: list[int]) -> None:
    """One full-batch hetero_sshe_lr epoch on rows × (30 + 300)."""
    rng = np.random.default_rng(7)
    xg, xh = rng.normal(size=(rows, 30)), rng.normal(size=(rows, 300))
    w = rng.normal(size=330) / np.sqrt(330)
    y = (np.hstack([xg, xh]) @ w + rng.logistic(size=rows) > 0).astype(np.int64)
    params = {"epochs": 1, "batch_size": -1, "learning_rate": 0.15, "random_seed": 1}
    walls = {}
    for n in counts:
        walls[n], _, _ = run_sshe((xg, y), xh, params, crypto_workers=n)
        report.add(f"sshe_run_s_{n}w_{rows}", walls[n], walls[counts[0]],
                   f"key set-up + 1 epoch + scoring; reference: {counts[0]} worker")  # fmt: skip


def psi_section(report: Report, ids: int, counts: list[int]) -> None:
    """ECDH PSI of ids × ids over gRPC + mTLS."""
    rates = {n: psi_rate(ids, crypto_workers=n) for n in counts}
    for n in counts:
        report.add(f"psi_ids_per_s_{n}w_{ids}", rates[n], rates[counts[0]],
                   f"reference: {counts[0]} worker")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the 100k shape")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, kernel and PSI only")
    parser.add_argument("--only", choices=("kernel", "glm", "sshe", "psi"))
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    counts = sorted({1, *(2**k for k in range(1, 9) if 2**k <= cores), cores})
    rows = 20_000 if args.quick else args.rows
    report = Report("scaling")
    report.header()
    sections = {
        "kernel": lambda: kernel_section(report, rows, 30, counts),
        "psi": lambda: psi_section(report, max(rows, 20_000), counts),
        "glm": lambda: glm_section(report, rows, counts),
        "sshe": lambda: sshe_section(report, rows, counts),
    }
    chosen = [args.only] if args.only else (["kernel", "psi"] if args.quick else list(sections))
    for name in chosen:
        sections[name]()
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
