"""Row count: epoch time and peak memory of every party for reader → psi → one hetero_lr epoch.

`chaihuo run` starts one process per party; a sampler reads each process's peak resident set
(VmHWM in /proc) every 0.2 s and attributes it to its party: the party's own process (the
"driver", which holds its rows and the ciphertexts in flight) and its crypto workers (the
largest one). Synthetic data: guest rows × 10 features with a label, host rows × 10, every id
shared; one full-batch epoch, 2048-bit keys. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _harness import Report

ROOT = Path(__file__).resolve().parents[1]
CHAIHUO = ROOT / ".venv" / "bin" / "chaihuo"
ROLE_OF = {"9999": "guest", "10000": "host", "10001": "arbiter"}


def _write_data(folder: Path, rows: int, features: int) -> None:
    rng = np.random.default_rng(5)
    guest, host = rng.normal(size=(rows, features)), rng.normal(size=(rows, features))
    logits = guest @ rng.normal(0, 0.5, features) + host @ rng.normal(0, 0.5, features)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logits))).astype(int)
    names = ",".join(f"x{j}" for j in range(features))
    with (folder / "guest.csv").open("w") as out:
        out.write(f"id,y,{names}\n")
        for i in range(rows):
            out.write(f"u{i},{labels[i]}," + ",".join(f"{v:.6f}" for v in guest[i]) + "\n")
    with (folder / "host.csv").open("w") as out:
        out.write(f"id,{names}\n")
        for i in range(rows):
            out.write(f"u{i}," + ",".join(f"{v:.6f}" for v in host[i]) + "\n")


def _job(folder: Path) -> Path:
    job = folder / "job.yaml"
    job.write_text(
        "name: rows-bench\n"
        "parties: {guest: 9999, host: [10000], arbiter: 10001}\n"
        "security: {paillier_bits: 2048}\n"
        "components:\n"
        "  reader_0:\n    component: reader\n    by_role:\n"
        f"      guest: {{path: {folder / 'guest.csv'}, id: id, label: y}}\n"
        f"      host: {{path: {folder / 'host.csv'}, id: id}}\n"
        "  psi_0:\n    component: psi\n    inputs: {data: reader_0.data}\n"
        "    params: {share_with_hosts: true, min_intersection: 1}\n"
        "  lr_0:\n    component: hetero_lr\n    inputs: {train: psi_0.data}\n"
        "    params: {epochs: 1, batch_size: -1, learning_rate: 0.5, random_seed: 1}\n"
    )
    return job


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _party_of(pid: int) -> str | None:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if b"chaihuo.components" not in args:
        return None
    for arg in args:
        text = arg.decode(errors="replace")
        for party, role in ROLE_OF.items():
            if f"party-{party}" in text or text.endswith(f"/{party}") or f"/{party}/" in text:
                return role
    return None


class Sampler(threading.Thread):
    """Peak RSS per party: its worker process and the largest of its descendants."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.done = root, threading.Event()
        self.driver: dict[str, int] = {}
        self.workers: dict[str, int] = {}

    def run(self) -> None:
        while not self.done.is_set():
            for pid in _children(self.root):
                role = _party_of(pid)
                if role is None:
                    continue
                self.driver[role] = max(self.driver.get(role, 0), _peak_kib(pid))
                stack = _children(pid)
                while stack:
                    child = stack.pop()
                    self.workers[role] = max(self.workers.get(role, 0), _peak_kib(child))
                    stack.extend(_children(child))
            time.sleep(0.2)


def measure(rows: int, features: int) -> tuple[float, dict[str, int], dict[str, int]]:
    with tempfile.TemporaryDirectory(prefix="chaihuo-rows-") as tmp:
        folder = Path(tmp)
        _write_data(folder, rows, features)
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(CHAIHUO), "run", str(_job(folder)), "--json", "--work-dir", str(folder / "runs")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        sampler = Sampler(process.pid)
        sampler.start()
        output, _ = process.communicate()
        sampler.done.set()
        sampler.join()
        wall = time.perf_counter() - start
        if process.returncode != 0:
            raise RuntimeError(f"job failed ({process.returncode}):\n{output[-3000:]}")
    return wall, sampler.driver, sampler.workers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="100000,200000", help="comma-separated row counts")
    parser.add_argument("--features", type=int, default=10, help="features per party")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    args = parser.parse_args(argv)
    report = Report("rows")
    report.header()
    table = []
    for rows in (int(r) for r in args.rows.split(",")):
        wall, driver, workers = measure(rows, args.features)
        report.add(f"job_s_{rows}", wall, None, "reader → psi → 1 hetero_lr epoch, whole run")
        for role in ("guest", "host", "arbiter"):
            report.add(f"peak_rss_mb_{role}_{rows}", driver.get(role, 0) / 1024, None,
                       f"largest crypto worker {workers.get(role, 0) / 1024:.0f} MB")  # fmt: skip
        table.append({"rows": rows, "driver_kib": driver, "worker_kib": workers})
    print(json.dumps({"bench": "rows", "cores": os.cpu_count() or 1, "detail": table}))
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
