"""Where each sigmoid approximation's training converges on default_credit, in plain numpy.

Secure LR protocols replace σ(z) by something cheap on shares. Full-batch gradient descent
with the approximation in the gradient, run to its fixed point, shows what AUC a protocol
can reach at best (penalty l2, alpha 0.01, as the quality table). Reference: scikit-learn's
LogisticRegression(C = 1 / (n·alpha)) on the joined data. `--json` ends with one JSON line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from _harness import Report
from vertical_lr import load_pair

Sigmoid = Callable[[np.ndarray], np.ndarray]
KNOTS = np.array([-5.0, -2.5, -1.0, 0.0, 1.0, 2.5, 5.0])
APPROXIMATIONS: dict[str, tuple[str, Sigmoid]] = {
    "taylor": ("½ + z/4 (FATE, CAESAR; chaihuo's sigmoid: taylor)", lambda z: 0.5 + z / 4),
    "taylor_clipped": ("clip(½ + z/4, 0, 1): two comparisons",
                       lambda z: np.clip(0.5 + z / 4, 0, 1)),
    "secureml": ("clip(z + ½, 0, 1) (SecureML)", lambda z: np.clip(z + 0.5, 0, 1)),
    "piecewise_6": (
        "σ interpolated between 7 knots: six comparisons",
        lambda z: np.interp(z, KNOTS, 1 / (1 + np.exp(-KNOTS))),
    ),
    "cubic_ls8": ("½ + 0.15012z − 0.001593z³ (Kim et al. 2018)",
                  lambda z: 0.5 + 0.15012 * z - 0.001593 * z**3),
    "exact": ("1 / (1 + e^−z)", lambda z: 1 / (1 + np.exp(-z))),
}  # fmt: skip


def fixed_point_auc(x: np.ndarray, y: np.ndarray, sigmoid: Sigmoid, alpha: float) -> float | None:
    """AUC at the end of 4,000 full-batch steps (lr 0.3), or None when training diverges."""
    design = np.hstack([x, np.ones((len(y), 1))])
    w = np.zeros(design.shape[1])
    with np.errstate(all="ignore"):
        for _ in range(4000):
            gradient = design.T @ (sigmoid(design @ w) - y) / len(y)
            gradient[:-1] += alpha * w[:-1]
            w -= 0.3 * gradient
            if not np.all(np.isfinite(w)):
                return None
    return float(roc_auc_score(y, design @ w))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)
    _, guest_x, y, host_x = load_pair(
        "default_credit_hetero_guest.csv", "default_credit_hetero_host.csv"
    )
    x, alpha = np.hstack([guest_x, host_x]), 0.01
    y = y.astype(np.float64)
    central = LogisticRegression(C=1 / (alpha * len(y)), max_iter=10_000).fit(x, y)
    reference = float(roc_auc_score(y, central.decision_function(x)))
    report = Report("sshe_sigmoid")
    print(f"{'AUC at the fixed point (higher is better)':34s} {'approx.':>14s} {'sklearn':>14s}")
    for name, (formula, sigmoid) in APPROXIMATIONS.items():
        auc = fixed_point_auc(x, y, sigmoid, alpha)
        if auc is None:
            print(f"{'auc_' + name:34s} {'diverged':>14s} {reference:14.5f}            {formula}")
            continue
        report.add(f"auc_{name}", auc, reference, f"{auc / reference - 1:+.3%}  {formula}", 5)
    if args.json:
        print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
