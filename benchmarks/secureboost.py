"""SecureBoost benchmark: federated hetero_secureboost beside XGBoost and its plaintext reference.

On a hetero pair of FATE's data (breast by default; default_credit with --dataset) or FATE
2.0's benchmark shape (--synthetic 100000: guest 100k × 30, host 100k × 300), depth 3, 32
bins, learning rate 0.3: seconds (and core-seconds) per tree of the federated
run (guest + host in this process, 2048-bit keys, memory transport, the party's crypto
workers), of XGBoost (`tree_method="hist"`, all cores) and of the plaintext reference on the
joined data, the time spent in each protocol step, and the AUC of each model. Printed as a
table, then one JSON line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import xgboost
from sklearn.metrics import roc_auc_score

from _harness import Report, StepTimes
from chaihuo.computing import LocalComputing
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml.boost import BoostParams, _remote, fit_plaintext, run_guest, run_host
from chaihuo.ml.vertical import he
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.testing import run_parties
from vertical_lr import load_pair, make_dataset

STEPS = {
    (he, "encrypt"): "guest: encrypt [[g, h, 1]]",
    (he, "open_packed"): "guest: decrypt candidate sums",
    (_remote.HostTrees, "_histograms"): "host: encrypted histograms",
    (he, "mask_pack"): "host: pack + re-randomise sums",
}


FATE_CORE_S_PER_TREE = 1920.0
"""FATE 2.0's published ≈ 2 minutes per tree on 16 cores for guest 100k × 30 + host 100k × 300."""


def synthetic(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids, guest 30 columns, labels, host 300 columns): Gaussian features, labels from a
    logistic model of a few columns of each party."""
    rng = np.random.default_rng(seed)
    guest_x, host_x = rng.normal(size=(rows, 30)), rng.normal(size=(rows, 300))
    z = guest_x[:, :5].sum(axis=1) + host_x[:, :10].sum(axis=1) * 0.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.int64)
    ids = np.array([f"u{i}" for i in range(rows)], dtype=object)
    return ids, guest_x, y, host_x


def federated(
    ids: np.ndarray, guest_x: np.ndarray, y: np.ndarray, host_x: np.ndarray, params: BoostParams
) -> tuple[float, np.ndarray, dict[str, float]]:
    """(wall seconds, P(y=1) in row order of `ids`, seconds per step) of one federated fit."""
    with tempfile.TemporaryDirectory() as folder:
        sessions: dict[Party, LocalComputing] = {}

        def computing(party: Party) -> LocalComputing:
            sessions[party] = LocalComputing(Path(folder) / str(party.party_id), workers=1)
            return sessions[party]

        def party(ctx: Context) -> Any:
            guest = ctx.role == Role.GUEST
            data = make_dataset(ctx.computing, ids, guest_x if guest else host_x,
                                y if guest else None)  # fmt: skip
            run = run_guest if guest else run_host
            return run(ctx.sub("boost"), params, {"train": data})

        with StepTimes(STEPS) as steps:
            start = time.perf_counter()
            results = run_parties(party, {"guest": 9999, "host": 10000}, computing=computing,
                                  security=SecurityPolicy(), timeout_s=7200)  # fmt: skip
            seconds = time.perf_counter() - start
        for session in sessions.values():
            session.stop()
    predictions = next(v for p, v in results.items() if p.role == Role.GUEST)["predictions"]
    where = {key: i for i, key in enumerate(predictions.ids.tolist())}
    scores = np.asarray(predictions.scores)[[where[str(k)] for k in ids.tolist()]]
    return seconds, scores, {str(k): v for k, v in steps.seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=("breast", "default_credit"), default="breast")
    parser.add_argument(
        "--synthetic", type=int, metavar="ROWS",
        help="instead of a dataset: ROWS rows, guest 30 features + label, host 300 (FATE 2.0's "
        "benchmark shape at 100000)",
    )  # fmt: skip
    parser.add_argument("--trees", type=int, default=10)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    args = parser.parse_args(argv)
    if args.synthetic:
        ids, guest_x, y, host_x = synthetic(args.synthetic)
        name = f"synthetic {args.synthetic} × (30 + 300)"
    else:
        ids, guest_x, y, host_x = load_pair(
            f"{args.dataset}_hetero_guest.csv", f"{args.dataset}_hetero_host.csv"
        )
        name = args.dataset
    params = BoostParams(num_trees=args.trees, max_depth=args.depth, max_bin=32,
                         learning_rate=0.3)  # fmt: skip
    joined = np.hstack([guest_x, host_x])
    print(f"{name}: {len(y)} rows, guest {guest_x.shape[1]} + host {host_x.shape[1]} "
          f"features, {args.trees} trees, {os.cpu_count()} cores")  # fmt: skip
    seconds, ours, steps = federated(ids, guest_x, y, host_x, params)
    start = time.perf_counter()
    central = xgboost.XGBClassifier(
        n_estimators=args.trees, max_depth=args.depth, max_bin=32, learning_rate=0.3,
        reg_lambda=1.0,
        tree_method="hist", base_score=float(np.mean(y)),
    ).fit(joined, y)  # fmt: skip
    xgb_seconds = time.perf_counter() - start
    start = time.perf_counter()
    reference = fit_plaintext(guest_x, [host_x], y.astype(float), params)
    plain_seconds = time.perf_counter() - start
    report = Report("secureboost")
    header = "metric (seconds per tree; AUC)"
    print(f"{header:34s} {'chaihuo':>14s} {'reference':>14s} {'ratio':>9s}")
    per_tree = seconds / args.trees
    report.add("federated_s_per_tree", per_tree, xgb_seconds / args.trees, "XGBoost hist, joined")
    cores = os.cpu_count() or 1
    report.add("federated_core_s_per_tree", per_tree * cores, FATE_CORE_S_PER_TREE,
               "FATE 2.0 published, 100k × (30 + 300), 16 cores")  # fmt: skip
    report.add("federated_s_per_tree_vs_plain", per_tree, plain_seconds / args.trees,
               "chaihuo plaintext reference")  # fmt: skip
    for label, spent in sorted(steps.items()):
        report.add(f"  {label}", spent / args.trees, None, "seconds per tree in this step")
    xgb_auc = float(roc_auc_score(y, central.predict_proba(joined)[:, 1]))
    report.add("auc", float(roc_auc_score(y, ours)), xgb_auc, "XGBoost hist", digits=5)
    plain_auc = float(roc_auc_score(y, reference.predict(guest_x, [host_x])))
    report.add("auc_vs_plain", float(roc_auc_score(y, ours)), plain_auc, "plaintext reference",
               digits=5)  # fmt: skip
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
