"""hetero_sshe_lr benchmark: epoch time on default_credit and core-seconds on FATE's 100k shape."""

# Both parties run in this process (chaihuo.testing.run_parties, in-memory federation), each
# with its own Paillier worker pool; 2048-bit keys. FATE's published figure is wall × 16
# cores. Ours is the CPU time of this process and every process it starts (the parties' pool
# workers), read from /proc while the run lasts: on an idle machine that equals wall × cores
# (both cores stay busy), and unlike wall time it does not grow when other jobs share the
# machine. Both are printed.

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from _harness import Report, StepTimes
from chaihuo.computing import Block, Dataset, LocalComputing, Schema
from chaihuo.core import Role
from chaihuo.ml.sshe import SsheParams, plain_fit, run_guest, run_host
from chaihuo.ml.vertical import he as _he
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.testing import run_parties

DATA = Path(__file__).resolve().parents[1] / "data" / "fate-examples"
FATE_100K_CORE_S = 4704.0  # FATE 2.0: 4 m 54 s per epoch on 16 cores (1024-bit keys)
PHASES = {
    "encrypt": "encrypt",
    "matvec": "matrix × ciphertext",
    "mask_pack": "mask + pack",
    "open_packed": "decrypt",
}


class _CpuMeter:
    """CPU seconds (user + system) of this process and all its descendants, sampled from /proc
    every half second while active (a process that exits loses at most its last half second)."""

    def __init__(self) -> None:
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def _tree(self) -> dict[int, float]:
        parents, times = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / self._tick
        mine, root = {}, os.getpid()
        for pid, seconds in times.items():
            node = pid
            while node > 1 and node != root:
                node = parents.get(node, 0)
            if node == root:
                mine[pid] = seconds
        return mine

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._seen.update(self._tree())

    def __enter__(self) -> _CpuMeter:
        self._start = sum(self._tree().values())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._seen.update(self._tree())

    @property
    def seconds(self) -> float:
        return sum(self._seen.values()) - self._start


class _Phases(StepTimes):
    """Wall seconds per protocol phase and party (wraps chaihuo.ml.vertical.he while running)."""

    def __init__(self) -> None:
        super().__init__(
            {(_he, name): name for name in PHASES},
            key=lambda name: (threading.current_thread().name.split(":")[0], name),
        )

    def print(self, wall: float) -> None:
        for party in ("guest", "host"):
            parts = [f"{PHASES[n]} {self.seconds[(party, n)]:.1f} s" for n in PHASES]
            busy = sum(self.seconds[(party, n)] for n in PHASES)
            parts.append(f"waiting/transfer/other {max(wall - busy, 0.0):.1f} s")
            print(f"  {party:5s}: " + ", ".join(parts), flush=True)


def _dataset(ctx: Context, ids: np.ndarray, x: np.ndarray, y: np.ndarray | None) -> Dataset:
    names = tuple(f"x{j}" for j in range(x.shape[1]))
    schema = Schema("id", None if y is None else "y", names, ("float64",) * len(names),
                    None if y is None else "int64")  # fmt: skip
    block = Block(ids.astype(object), x, None if y is None else y.astype(np.int64))
    return Dataset(schema, ctx.computing.parallelize([(0, block)], partitions=1, include_key=True))


def _run(
    guest: tuple[np.ndarray, np.ndarray],
    host: np.ndarray,
    params: dict[str, Any],
    crypto_workers: int = 0,
) -> tuple[float, float, dict[str, Any]]:
    ids = np.array([f"r{i:07d}" for i in range(len(host))], dtype=object)
    spec = SsheParams(**params)

    def party(ctx: Context) -> Any:
        if ctx.role == Role.GUEST:
            data = _dataset(ctx, ids, guest[0], guest[1])
            return run_guest(ctx.sub("sshe"), spec, {"train": data})
        return run_host(ctx.sub("sshe"), spec, {"train": _dataset(ctx, ids, host, None)})

    with tempfile.TemporaryDirectory() as folder, _CpuMeter() as meter:
        start = time.perf_counter()
        results = run_parties(
            party,
            {"guest": 9999, "host": 10000},
            security=SecurityPolicy(paillier_bits=2048, crypto_workers=crypto_workers),
            computing=lambda p: LocalComputing(Path(folder) / p.party_id, workers=1),
            timeout_s=7200,
        )
        wall = time.perf_counter() - start
    guest_out = next(v for p, v in results.items() if p.role == Role.GUEST)
    return wall, meter.seconds, guest_out


def _default_credit() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.genfromtxt(DATA / "default_credit_hetero_guest.csv", delimiter=",", skip_header=1)
    h = np.genfromtxt(DATA / "default_credit_hetero_host.csv", delimiter=",", skip_header=1)
    order = {int(r[0]): i for i, r in enumerate(h)}
    rows = [i for i, r in enumerate(g) if int(r[0]) in order]
    host = h[[order[int(g[i, 0])] for i in rows], 1:]
    return g[rows, 2:], g[rows, 1], host


QUALITY_EPOCHS = 5
"""Epochs of the quality table's default_credit case (batch 1000, lr 0.3): the time to reach
its quality is QUALITY_EPOCHS × the epoch time measured here."""


def default_credit_section(report: Report, batch_size: int = 1000) -> None:
    """One epoch on default_credit (30,000 rows), beside a plaintext numpy epoch."""
    xg, y, xh = _default_credit()
    params = {"epochs": 1, "batch_size": batch_size, "learning_rate": 0.3, "random_seed": 1}
    with _Phases() as phases:
        wall, cpu, out = _run((xg, y), xh, params)
    start = time.perf_counter()
    plain_fit(xg, xh, y, SsheParams(**params), seed=1)
    plain = time.perf_counter() - start
    report.add(
        "sshe_lr_epoch_s_default_credit", wall, plain, f"plaintext numpy epoch, batch {batch_size}"
    )
    phases.print(wall)
    print(f"  CPU seconds of both parties' processes: {cpu:.1f} (wall × cores "
          f"{wall * (os.cpu_count() or 1):.1f})")  # fmt: skip
    print(
        f"  loss after 1 epoch {out['model'].meta['loss_history'][0][0]:.5f}; time to the "
        f"quality table's result: {QUALITY_EPOCHS} epochs × {wall:.1f} s = "
        f"{QUALITY_EPOCHS * wall:.0f} s (an upper bound: the run measured includes the one-off "
        "key set-up and scoring)",
        flush=True,
    )


def synthetic_section(report: Report, rows: int, batch_size: int) -> None:
    """FATE 2.0's published shape: guest rows × 30 with label, host rows × 300, synthetic."""
    rng = np.random.default_rng(7)
    xg, xh = rng.normal(size=(rows, 30)), rng.normal(size=(rows, 300))
    w = rng.normal(size=330) / np.sqrt(330)
    y = (np.hstack([xg, xh]) @ w + rng.logistic(size=rows) > 0).astype(np.int64)
    params = {"epochs": 1, "batch_size": batch_size, "learning_rate": 0.15, "random_seed": 1}
    with _Phases() as phases:
        wall, cpu, _ = _run((xg, y), xh, params)
    cores = os.cpu_count() or 1
    scale = 100_000 / rows
    note = "FATE 2.0 (4m54s × 16 cores)" + (f"; {rows} rows × {scale:.0f}" if scale != 1 else "")
    report.add("sshe_lr_epoch_core_s_100k", cpu * scale, FATE_100K_CORE_S, note)
    phases.print(wall)
    print(
        f"  CPU seconds of both parties' processes {cpu:.0f}; wall {wall:.0f} s × {cores} "
        f"cores = {wall * cores:.0f} (whole run: key set-up, one epoch, reveal, scoring)"
    )


def sshe_sections(report: Report, quick: bool) -> None:
    """The SSHE rows of benchmarks/vertical_lr.py (`--quick`: default_credit only)."""
    default_credit_section(report)
    if not quick:
        synthetic_section(report, rows=100_000, batch_size=-1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="default_credit only")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the synthetic shape")
    args = parser.parse_args(argv)
    report = Report("vertical_sshe")
    header = "metric (seconds, lower is better)"
    print(f"{header:34s} {'chaihuo':>14s} {'reference':>14s} {'ratio':>9s}")
    default_credit_section(report)
    if not args.quick:
        synthetic_section(report, rows=args.rows, batch_size=-1)
    if args.json:
        print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
