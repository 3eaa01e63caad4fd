"""Vertical LR benchmark: hetero_lr and hetero_sshe_lr epochs, PSI of 10⁶ × 10⁶, with references."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # before grpc is imported
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from phe import paillier as phe

from _harness import Report
from chaihuo.computing import Dataset, LocalComputing, Schema
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml.glm import (
    LOGISTIC,
    GlmParams,
    Phases,
    fit_plaintext,
    run_arbiter,
    run_guest,
    run_host,
)
from chaihuo.ml.glm._model import auc
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.testing import run_parties
from runtime_mpc import psi_rate
from vertical_sshe import sshe_sections

DATA = Path(__file__).resolve().parents[1] / "data" / "fate-examples"
ROLES = {"guest": 9999, "host": 10000, "arbiter": 10001}
CREDIT_BATCH = 3000  # the quality test's default_credit configuration (10 batches per epoch)


def load_pair(guest: str, host: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids, guest features, labels, host features) of a hetero pair joined on id."""

    def read(name: str) -> tuple[list[str], np.ndarray]:
        lines = (DATA / name).read_text().splitlines()
        cells = [line.split(",") for line in lines[1:]]
        return [c[0] for c in cells], np.array([[float(v) for v in c[1:]] for c in cells])

    guest_ids, guest_rows = read(guest)
    host_ids, host_rows = read(host)
    position = {key: i for i, key in enumerate(host_ids)}
    keep = [i for i, key in enumerate(guest_ids) if key in position]
    ids = np.array([guest_ids[i] for i in keep], dtype=object)
    host_x = host_rows[[position[guest_ids[i]] for i in keep]]
    return ids, guest_rows[keep, 1:], guest_rows[keep, 0].astype(np.int64), host_x


def make_dataset(
    computing: LocalComputing, ids: np.ndarray, x: np.ndarray, y: np.ndarray | None
) -> Dataset:
    """A dataset of float features x0..x{m-1} (and an int label y) keyed by `ids`."""
    names = tuple(f"x{j}" for j in range(x.shape[1]))
    schema = Schema(
        "id", None if y is None else "y", names, ("float64",) * len(names),
        None if y is None else "int64",
    )  # fmt: skip
    rows = [(str(key), (x[i], None if y is None else int(y[i]))) for i, key in enumerate(ids)]
    return Dataset.from_rows(schema, computing.parallelize(rows, partitions=4, include_key=True))


def run_hetero_lr(
    ids: np.ndarray,
    guest_x: np.ndarray,
    y: np.ndarray,
    host_x: np.ndarray,
    params: GlmParams,
    transport: str = "grpc",
    security: SecurityPolicy | None = None,
) -> tuple[dict[Role, Phases], Any]:
    """One hetero_lr run, every party in a thread of this process: phases per role and the
    guest's predictions (on the training rows)."""
    phases = {role: Phases() for role in (Role.GUEST, Role.HOST, Role.ARBITER)}
    with tempfile.TemporaryDirectory(prefix="chaihuo-bench-") as tmp:
        sessions: list[LocalComputing] = []

        def computing(party: Party) -> LocalComputing:
            session = LocalComputing(Path(tmp) / party.role.value, workers=1)
            sessions.append(session)
            return session

        def party(ctx: Context) -> Any:
            role = ctx.role
            if role == Role.ARBITER:
                return run_arbiter(ctx, LOGISTIC, params, {}, phases=phases[role])
            if role == Role.GUEST:
                data = make_dataset(ctx.computing, ids, guest_x, y)
                return run_guest(ctx, LOGISTIC, params, {"train": data}, phases=phases[role])
            data = make_dataset(ctx.computing, ids, host_x, None)
            return run_host(ctx, LOGISTIC, params, {"train": data}, phases=phases[role])

        try:
            results = run_parties(
                party,
                ROLES,
                transport=transport,
                computing=computing,
                timeout_s=3600,
                security=security,
            )
        finally:
            for session in sessions:
                session.stop()
    guest = next(value for p, value in results.items() if p.role == Role.GUEST)
    return phases, guest["predictions"]


def naive_phe_seconds_per_row(
    guest_x: np.ndarray, y: np.ndarray, host_x: np.ndarray, rows: int
) -> float:
    """The same protocol on python-paillier, one phe operation per value and per matrix cell.

    One batch of `rows` rows: host encrypts u_h; guest forms [[d]] = 0.25[[u_h]] + (0.25 u_g +
    0.5 − y) and obfuscates it; guest and host compute X^T[[d]] with one phe scalar
    multiplication per cell, add a random mask each; the arbiter decrypts every value.
    Returns seconds per row (the cost is linear in the rows).
    """
    public, private = phe.generate_paillier_keypair(n_length=2048)
    rng = np.random.default_rng(0)
    w_g, w_h = rng.normal(0, 0.1, guest_x.shape[1]), rng.normal(0, 0.1, host_x.shape[1])
    xg, xh, yy = guest_x[:rows], host_x[:rows], y[:rows]
    start = time.perf_counter()
    enc_u = [public.encrypt(float(v)) for v in xh @ w_h]
    plain = 0.25 * (xg @ w_g) + 0.5 - yy
    enc_d = [c * 0.25 + float(p) for c, p in zip(enc_u, plain, strict=True)]
    for c in enc_d:
        c.obfuscate()
    for x in (xg, xh):
        for j in range(x.shape[1]):
            total = enc_d[0] * float(x[0, j])
            for i in range(1, rows):
                total = total + enc_d[i] * float(x[i, j])
            masked = total + secrets.randbits(64) / 2**20
            private.decrypt(masked)
    return (time.perf_counter() - start) / rows


def plaintext_epoch_seconds(guest_x: np.ndarray, y: np.ndarray, host_x: np.ndarray) -> float:
    """One epoch of the same mini-batch Taylor LR in numpy (no encryption)."""
    params = GlmParams(epochs=1, batch_size=CREDIT_BATCH, learning_rate=1.0)
    start = time.perf_counter()
    fit_plaintext(LOGISTIC, params, guest_x, y, [host_x], seed=1, classes=[0, 1])
    return time.perf_counter() - start


def _phase_table(title: str, phases: dict[Role, Phases]) -> None:
    print(f"  phases of {title} (seconds summed over the run, per party):")
    for role, recorded in phases.items():
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(recorded.seconds.items()))
        print(f"    {role.value:8s} {parts}")


def _steady_epoch(phases: dict[Role, Phases]) -> float:
    """Mean wall time of the epochs after the first (which also starts the worker pools)."""
    laps = phases[Role.GUEST].laps["epoch"]
    return float(np.mean(laps[1:])) if len(laps) > 1 else laps[0]


def glm_sections(report: Report, quick: bool) -> None:
    """hetero_lr rows of the vertical LR benchmark (default_credit; 100k shape unless quick)."""
    cores = os.cpu_count() or 1
    ids, guest_x, y, host_x = load_pair(
        "default_credit_hetero_guest.csv", "default_credit_hetero_host.csv"
    )
    # The quality test's configuration: AUC at the Taylor optimum after 3 epochs.
    params = GlmParams(epochs=3, batch_size=CREDIT_BATCH, learning_rate=1.0, random_seed=1, tol=0)
    phases, predictions = run_hetero_lr(ids, guest_x, y, host_x, params)
    epoch = _steady_epoch(phases)
    sample = 40 if quick else 120
    naive = naive_phe_seconds_per_row(guest_x, y, host_x, sample) * len(ids)
    report.add(
        "hetero_lr_epoch_s_default_credit", epoch, naive,
        f"naive phe: {sample} rows timed, x{len(ids) // sample} (linear)",
    )  # fmt: skip
    plain = plaintext_epoch_seconds(guest_x, y, host_x)
    report.add("plaintext_lr_epoch_s_default_credit", plain, None, None)
    reached = auc(predictions.labels.astype(np.float64), predictions.scores)
    total = sum(phases[Role.GUEST].laps["epoch"])
    report.add("hetero_lr_time_to_quality_s_default_credit", total, None,
               f"3 epochs, train AUC {reached:.4f}")  # fmt: skip
    _phase_table("hetero_lr on default_credit, batch 3000 (3 epochs)", phases)
    if quick:
        return
    rng = np.random.default_rng(7)
    rows = 100_000
    big_guest, big_host = rng.normal(size=(rows, 30)), rng.normal(size=(rows, 300))
    logits = big_guest @ rng.normal(0, 0.3, 30) + big_host @ rng.normal(0, 0.1, 300)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    big_ids = np.array([str(i) for i in range(rows)], dtype=object)
    params = GlmParams(epochs=2, batch_size=-1, random_seed=1, tol=0.0)
    phases, _ = run_hetero_lr(big_ids, big_guest, labels, big_host, params)
    epoch = _steady_epoch(phases)
    report.add("hetero_lr_epoch_core_s_100k", epoch * cores, 2176.0,
               f"FATE 2.0: 16 cores, 1024-bit; ours: {epoch:.0f} s x {cores} cores")  # fmt: skip
    _phase_table("hetero_lr on 100k x (30 + 300), full batch (2 epochs)", phases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="default_credit rows only")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    parser.add_argument("--only", choices=("glm", "sshe", "psi"), help="run one section")
    args = parser.parse_args(argv)
    report = Report("vertical_lr")
    header = "metric (seconds, lower is better)"
    print(f"{header:34s} {'chaihuo':>14s} {'reference':>14s} {'ratio':>9s}")
    if args.only in (None, "glm"):
        glm_sections(report, args.quick)
    if args.only in (None, "sshe"):
        sshe_sections(report, args.quick)
    if args.only in (None, "psi") and not args.quick:
        ids = 10**6
        report.add(
            "psi_s_1e6", 2 * ids / psi_rate(ids), None, "ECDH, gRPC + mTLS, both on this host"
        )
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
