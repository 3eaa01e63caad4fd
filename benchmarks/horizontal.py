"""Horizontal LR benchmark: homo_lr in-process and under chaihuo run beside Flower 1.42."""

# default_credit's horizontal split (3 clients of 8000 rows, 23 features), the same model and
# steps on both sides: one full-batch local epoch per round, learning rate 0.5, α = 0.001 on
# standardised features, FedAvg weighted by rows. Every run is a child process of this script
# (a clean process tree for the peak RSS). Per-round seconds and start-up come from the
# server's own round records (chaihuo: its `clients` metric per round — metrics.jsonl of the
# server party under `chaihuo run`; Flower: a timestamp in the strategy's aggregate_fit):
# per round = (last − first) / (R − 1), start-up = first − launch − one round. Flower runs in
# its own Python (--flower-python or $FLOWER_PYTHON, e.g. a venv with `flwr[simulation]==1.42.0`):
# it requires protobuf < 7, chaihuo protobuf 7, so they cannot share one environment.
# Bytes per client per round: payload bytes a client sends in the rounds (chaihuo: serde
# payloads counted in the in-process memory run, the same protocol as under `chaihuo run`;
# Flower: its own record.count_bytes() of every reply, all SecAgg+ stages included), no
# transport framing. Flower's deployment runs --deploy-rounds rounds (4: ~7 s a round plain,
# ~25 s with SecAgg+); its per-round time is a steady state, as every row's.

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # before grpc is imported
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from _harness import Report
from chaihuo.computing import LocalComputing
from chaihuo.core import Role
from chaihuo.ml.homo import HomoLrParams, run_client, run_server
from chaihuo.runtime import Context
from chaihuo.serde import dumps
from chaihuo.testing import RecordingFederation, run_parties
from vertical_lr import make_dataset

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "fate-examples"  # the repository's symlink to the shared data
FILES = ("default_credit_homo_guest.csv", "default_credit_homo_host_1.csv",
         "default_credit_homo_host_2.csv")  # fmt: skip
TEST = "default_credit_homo_test.csv"
SERVER, CLIENTS = 9999, (10000, 10001, 10002)
PARAMS = {"local_epochs": 1, "learning_rate": 0.5, "alpha": 0.001, "tol": 0.0}


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, features, labels) of a homo CSV (id, y, x0..x22)."""
    data = np.loadtxt(DATA / name, delimiter=",", skiprows=1, ndmin=2)
    return data[:, 0].astype(np.int64).astype(str), data[:, 2:], data[:, 1].astype(np.int64)


def timing(launch: float, ends: list[float]) -> dict[str, float]:
    """Per-round seconds and start-up from the launch time and each round's end."""
    per_round = (ends[-1] - ends[0]) / (len(ends) - 1)
    return {"s_per_round": per_round, "startup_s": ends[0] - launch - per_round,
            "rounds": len(ends)}  # fmt: skip


# ---- a child process: chaihuo in-process (every party a thread) ------------------------------


def in_process(transport: str, secure: bool, rounds: int) -> dict[str, Any]:
    """homo_lr with `run_parties`; the round records, bytes clients sent, the model."""
    params = HomoLrParams(rounds=rounds, secure_aggregation=secure, **PARAMS)
    sent: dict[str, int] = {"round": 0, "setup": 0}
    lock = threading.Lock()

    class Counting(RecordingFederation):
        """Payload bytes (serde) a client sends: in its rounds, and before them."""

        def remote(self, obj: object, tag: str, to: Any) -> None:
            with lock:
                sent["round" if "round" in tag else "setup"] += len(dumps(obj)) * len(to)
            super().remote(obj, tag, to)

    launch = time.time()
    with tempfile.TemporaryDirectory(prefix="chaihuo-bench-homo-") as folder:
        computing = LocalComputing(Path(folder) / "computing")
        try:

            def party(ctx: Context) -> Any:
                if ctx.role is Role.SERVER:
                    out = run_server(ctx, params, {})
                    clients = ctx.metrics_sink.records()
                    return out, [r.time for r in clients if r.name == "clients"]
                ids, x, y = load(FILES[CLIENTS.index(int(ctx.local.party_id))])
                tids, tx, ty = load(TEST)
                ctx = Context(
                    local=ctx.local, roster=ctx.roster, computing=ctx.computing,
                    federation=Counting(ctx.federation, lambda *_: None), cipher=ctx.cipher,
                    metrics=ctx.metrics_sink,
                )  # fmt: skip
                inputs = {"train": make_dataset(computing, ids, x, y),
                          "test": make_dataset(computing, tids, tx, ty)}  # fmt: skip
                return run_client(ctx, params, inputs)

            roles = {"server": SERVER, "client": list(CLIENTS)}
            results = run_parties(party, roles, transport=transport, timeout_s=600)
        finally:
            computing.stop()
    out, ends = next(v for p, v in results.items() if p.role is Role.SERVER)
    weights = np.asarray(out["model"].arrays["weights"], dtype=np.float64).reshape(-1)
    return {**timing(launch, ends), "weights": weights.tolist(),
            "bytes_per_client_round": sent["round"] / (len(CLIENTS) * rounds)}  # fmt: skip


# ---- runs as child processes, with the peak RSS of their process tree ------------------------


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and every descendant (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


def child(argv: list[str], env: dict[str, str] | None = None, timeout_s: float = 1800) -> tuple[
    str, int
]:  # fmt: skip
    """(stdout, peak RSS bytes of the process tree, sampled every 0.1 s) of a command."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=HERE,
                               env={**os.environ, **(env or {})}, text=True)  # fmt: skip
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = process.communicate(timeout=timeout_s)
    finally:
        done.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} exited {process.returncode}: {err[-2000:]}")
    return out, peak


def chaihuo_in_process(transport: str, secure: bool, rounds: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", transport, "--rounds", str(rounds)]
    out, peak = child(argv + (["--secure"] if secure else []))
    return {**json.loads(out.strip().splitlines()[-1]), "rss": peak}


JOB = """\
name: homo-lr-default-credit
parties: {{server: {server}, client: [{clients}]}}
components:
  reader_0:
    component: reader
    by_party:
{readers}
  reader_1:
    component: reader
    params: {{path: {test}, id: id, label: y}}
  lr_0:
    component: homo_lr
    inputs: {{train: reader_0.data, test: reader_1.data}}
    params: {params}
"""


def chaihuo_run(secure: bool, rounds: int) -> dict[str, Any]:
    """`chaihuo run` of the job: every party its own process, gRPC + mTLS on loopback."""
    readers = "\n".join(
        f'      "{party}": {{path: {json.dumps(str(DATA / name))}, id: id, label: y}}'
        for party, name in zip(CLIENTS, FILES, strict=True)
    )
    params = json.dumps({"rounds": rounds, "secure_aggregation": secure, **PARAMS})
    with tempfile.TemporaryDirectory(prefix="chaihuo-bench-homo-run-") as tmp:
        job = Path(tmp) / "job.yaml"
        job.write_text(JOB.format(server=SERVER, clients=", ".join(map(str, CLIENTS)),
                                  readers=readers, test=json.dumps(str(DATA / TEST)),
                                  params=params), encoding="utf-8")  # fmt: skip
        launch = time.time()
        _out, peak = child([sys.executable, "-m", "chaihuo.cli", "run", str(job)])
        (metrics,) = Path(tmp).glob(f".chaihuo-runs/*/{SERVER}/metrics.jsonl")
        records = [json.loads(line) for line in metrics.read_text().splitlines() if line]
    ends = [r["time"] for r in records if r.get("name") == "clients"]
    return {**timing(launch, ends), "rss": peak}


def flower(python: str, mode: str, secure: bool, rounds: int) -> dict[str, Any]:
    """Flower's simulation (Ray) or deployment (SuperLink + SuperNodes, --insecure)."""
    with tempfile.TemporaryDirectory(prefix="chaihuo-bench-flower-") as tmp:
        log = Path(tmp) / "log.jsonl"
        env = {"HFL_DATA": str(DATA), "HFL_LOG": str(log), "HFL_ROUNDS": str(rounds),
               "HFL_SECAGG": "1" if secure else "0", "HFL_CLIENTS": str(len(CLIENTS)),
               "HFL_LR": str(PARAMS["learning_rate"]), "HFL_ALPHA": str(PARAMS["alpha"]),
               "RAY_DEDUP_LOGS": "0", "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0"}  # fmt: skip
        argv = [python, str(HERE / "_flower_app.py"), mode]
        _out, peak = child(argv + (["--work", str(Path(tmp) / "work")] if mode == "deploy"
                                   else []), env)  # fmt: skip
        records = [json.loads(line) for line in log.read_text().splitlines() if line]
    rounds_done = [r for r in records if r["event"] == "round"]
    if len(rounds_done) != rounds or any(r["clients"] != len(CLIENTS) for r in rounds_done):
        raise RuntimeError(f"Flower {mode}: rounds {[r['clients'] for r in rounds_done]}")
    launch = next(r["time"] for r in records if r["event"] == "launch")
    sent = sum(r["bytes"] for r in records if r["event"] == "sent")
    final = next((r["weights"] for r in records if r["event"] == "final"), None)
    return {**timing(launch, [r["time"] for r in rounds_done]), "rss": peak, "weights": final,
            "bytes_per_client_round": sent / (len(CLIENTS) * rounds)}  # fmt: skip


def auc(weights: list[float] | None) -> float | None:
    """AUC on the test split of a model (coefficients, then the intercept) on raw features."""
    if weights is None:
        return None
    _ids, x, y = load(TEST)
    return float(roc_auc_score(y, x @ np.asarray(weights[:-1]) + weights[-1]))


def _flower_python(given: str | None) -> tuple[str | None, str]:
    """(a Python with flwr, its version) or (None, why not)."""
    python = given or os.environ.get("FLOWER_PYTHON")
    if not python:
        return None, "no Flower: pass --flower-python (flwr needs protobuf < 7, chaihuo 7)"
    probe = subprocess.run([python, "-c", "import flwr, ray; print(flwr.__version__)"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    if probe.returncode != 0:
        return None, f"no Flower at {python}: {probe.stderr.strip().splitlines()[-1:]}"
    return python, probe.stdout.strip()


def _attempt(label: str, run: Any, *args: Any) -> dict[str, Any] | str:
    """A run's numbers, or why it failed (printed in the table instead of a number)."""
    print(f"  running {label} ...", file=sys.stderr, flush=True)
    try:
        return dict(run(*args))
    except Exception as exc:
        return f"failed: {type(exc).__name__}: {str(exc)[-200:]}"


def table(report: Report, runs: dict[str, Any], flower_name: str, deploy_rounds: int) -> None:
    """Rows: chaihuo beside the Flower mode it compares with; a reason where one is missing."""
    pairs = [  # (row, chaihuo run, Flower run, what the Flower run is)
        ("memory", "memory", "sim", "Flower simulation (Ray)"),
        ("grpc_threads", "grpc", "sim", "Flower simulation (Ray)"),
        ("deployed", "run", "deploy", f"Flower deployment, {deploy_rounds} rounds"),
    ]
    for row, ours_key, theirs_key, what in pairs:
        for suffix, ref_suffix in (("", ""), ("_secagg", ", SecAgg+")):
            ours = runs.get(f"{ours_key}{suffix}")
            theirs = runs.get(f"flower_{theirs_key}{suffix}")
            why = theirs if isinstance(theirs, str) else None
            ref = None if why or theirs is None else theirs
            for metric, key, digits in (("s_per_round", "s_per_round", 4),
                                        ("startup_s", "startup_s", 3)):  # fmt: skip
                name = f"{row}{suffix}_{metric}"
                if not isinstance(ours, dict):
                    print(f"{name:34s} {'-':>14s}  chaihuo {ours}")
                    continue
                report.add(name, ours[key], ref[key] if ref else None,
                           why or f"{what}{ref_suffix}", digits)  # fmt: skip
            if isinstance(ours, dict):
                report.add(f"{row}{suffix}_peak_rss_mb", ours["rss"] / 2**20,
                           ref["rss"] / 2**20 if ref else None, why or f"{what}{ref_suffix}, "
                           "process tree", 1)  # fmt: skip
        plain, secure_run = runs.get(ours_key), runs.get(f"{ours_key}_secagg")
        fp, fs = runs.get(f"flower_{theirs_key}"), runs.get(f"flower_{theirs_key}_secagg")
        if isinstance(plain, dict) and isinstance(secure_run, dict):
            flower_x = (fs["s_per_round"] / fp["s_per_round"]
                        if isinstance(fp, dict) and isinstance(fs, dict) else None)  # fmt: skip
            report.add(f"{row}_secagg_overhead_x", secure_run["s_per_round"]
                       / plain["s_per_round"], flower_x, f"{what}: SecAgg+ / plain "
                       "(goal ≤ 1.5)", 2)  # fmt: skip
    for suffix, ref_suffix in (("", ""), ("_secagg", ", SecAgg+")):
        ours, theirs = runs.get(f"memory{suffix}"), runs.get(f"flower_sim{suffix}")
        if isinstance(ours, dict):
            ref = theirs if isinstance(theirs, dict) else None
            report.add(f"bytes_per_client_round{suffix}", ours["bytes_per_client_round"],
                       ref["bytes_per_client_round"] if ref else None,
                       f"payload sent, Flower record.count_bytes(){ref_suffix}", 0)  # fmt: skip
            flower_auc = auc(ref["weights"]) if ref else None
            report.add(f"test_auc{suffix}", auc(ours["weights"]) or 0.0, flower_auc,
                       f"{flower_name}{ref_suffix}", 4)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 rounds, no Flower deployment")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    parser.add_argument("--flower-python", help="a Python with flwr[simulation]==1.42.0 "
                        "(default: $FLOWER_PYTHON)")  # fmt: skip
    parser.add_argument(
        "--deploy-rounds",
        type=int,
        default=4,
        help="rounds of Flower's deployment runs (seconds per round each)",
    )
    parser.add_argument("--child", choices=("memory", "grpc"), help=argparse.SUPPRESS)
    parser.add_argument("--secure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else args.rounds
    if rounds < 2:
        parser.error("--rounds must be at least 2 (seconds per round need two round ends)")
    if args.child:
        print(json.dumps(in_process(args.child, args.secure, rounds)))
        return 0
    python, flower_name = _flower_python(args.flower_python)
    print(f"default_credit homo: {len(FILES)} clients × 8000 rows, 23 features, {rounds} rounds, "
          f"{os.cpu_count()} cores; Flower: {flower_name}", flush=True)  # fmt: skip
    runs: dict[str, Any] = {}
    for secure, suffix in ((False, ""), (True, "_secagg")):
        runs[f"memory{suffix}"] = _attempt(f"memory{suffix}", chaihuo_in_process, "memory",
                                           secure, rounds)  # fmt: skip
        runs[f"grpc{suffix}"] = _attempt(f"grpc{suffix}", chaihuo_in_process, "grpc", secure,
                                         rounds)  # fmt: skip
        runs[f"run{suffix}"] = _attempt(f"chaihuo run{suffix}", chaihuo_run, secure, rounds)
        for mode, flower_rounds in (("sim", rounds), ("deploy", args.deploy_rounds)):
            key = f"flower_{mode}{suffix}"
            if python is None:
                runs[key] = flower_name
            elif mode == "deploy" and args.quick:
                runs[key] = "Flower deployment skipped (--quick)"
            else:
                runs[key] = _attempt(key, flower, python, mode, secure, flower_rounds)
    report = Report("horizontal")
    print(f"{'metric (s; MB; bytes; AUC)':34s} {'chaihuo':>14s} {'Flower':>14s} {'ratio':>9s}")
    table(report, runs, f"Flower {flower_name}", args.deploy_rounds)
    line = json.loads(report.json_line())
    line["rounds"], line["flower"] = rounds, flower_name
    line["not_measured"] = {key: run for key, run in runs.items() if isinstance(run, str)}
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
