"""Slow tier (make test-slow): nightly-size key checks (R22) and the crypto benchmark end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaihuo.crypto.paillier import generate_keypair

ROOT = Path(__file__).resolve().parents[2]
METRICS = {
    "paillier_encrypt",
    "paillier_decrypt",
    "paillier_add",
    "paillier_scalar_mul",
    "paillier_matvec_cells",
    "paillier_packed_decrypt_values",
    "paillier_encrypt_all_cores",
    "ss_beaver_mul_elements",
    "gc_and_gates",
    "ecdh_ops",
}


@pytest.mark.slow
def test_thousand_keygens_at_2048_bits_are_unique_and_exact() -> None:
    moduli = set()
    for _ in range(1000):
        pk, sk = generate_keypair(2048)
        assert pk.key_bits == 2048 and sk.p != sk.q
        moduli.add(int(pk.n))
    assert len(moduli) == 1000


@pytest.mark.slow
def test_quick_benchmark_ends_with_one_json_line_of_every_metric() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "crypto.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    last = json.loads(completed.stdout.strip().splitlines()[-1])
    assert last["bench"] == "crypto" and last["cores"] >= 1
    assert set(last["results"]) >= METRICS
    for metric in METRICS:
        assert last["results"][metric]["chaihuo"] > 0
