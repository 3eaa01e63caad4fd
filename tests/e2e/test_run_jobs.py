"""`chaihuo run` end to end: every party its own process, gRPC over mutual TLS (R01 audited)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _run(job: Path, work: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaihuo.cli",
            "run",
            str(job),
            "--json",
            "--work-dir",
            str(work),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    return completed.returncode, json.loads(lines[-1]) if lines else {}, completed.stderr


def test_secure_add_example_matches_the_plaintext_sum(tmp_path: Path) -> None:
    code, summary, err = _run(EXAMPLES / "secure_add.yaml", tmp_path)
    assert code == 0, err
    metrics = summary["components"]["secure_add_0"]["metrics"]  # type: ignore[index]
    assert metrics["match"] == 1.0
    # 2,000 values, each rounded to 2^-17 twice: |error| ≤ 2000 · 2^-16.
    assert metrics["abs_error"] <= 2000 * 2.0**-16
    assert metrics["secure_sum"] == pytest.approx(metrics["plaintext_sum"], abs=2000 * 2.0**-16)


def test_demo_job_runs_three_parties_over_mtls_and_never_unpickles_party_input(
    tmp_path: Path,
) -> None:
    code, summary, err = _run(EXAMPLES / "demo.yaml", tmp_path)
    assert code == 0, err
    components = summary["components"]  # type: ignore[assignment]
    assert all(c["status"] == "success" for c in components.values())  # type: ignore[union-attr]
    assert components["millionaires_0"]["metrics"]["guest_richer"] == 1.0  # type: ignore[index]
    assert components["psi_0"]["metrics"]["intersection"] == 569  # type: ignore[index]
    runs = list(tmp_path.iterdir())
    assert len(runs) == 1
    audits = sorted(runs[0].glob("*/audit.json"))
    assert len(audits) == 3  # guest, host, arbiter processes
    for audit in audits:
        report = json.loads(audit.read_text())
        assert report["network_unpickles"] == [], audit  # R01
    for party in ("9999", "10000", "10001"):
        assert (runs[0] / "pki" / party / f"{party}.pem").exists()


def test_a_failing_component_fails_every_party_with_a_clear_error(tmp_path: Path) -> None:
    job = tmp_path / "broken.yaml"
    job.write_text(
        "name: broken\nparties: {guest: 1, host: 2}\ncomponents:\n"
        "  reader_0:\n    component: reader\n    by_role:\n"
        "      guest: {path: missing.csv}\n      host: {path: missing.csv}\n"
        "  psi_0: {component: psi, inputs: {data: reader_0.data}}\n"
    )
    code, summary, _ = _run(job, tmp_path / "runs")
    assert code == 1
    assert summary["status"] == "failed"
    assert "missing.csv" in str(summary["error"])
    assert summary["components"]["psi_0"]["status"] == "not_run"  # type: ignore[index]


def test_insecure_mode_is_refused_by_the_production_profile(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaihuo.cli",
            "run",
            str(EXAMPLES / "secure_add.yaml"),
            "--insecure",
            "--work-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"CHAIHUO_PROFILE": "prod", "PATH": ""},
    )
    assert completed.returncode != 0
    assert "insecure" in (completed.stdout + completed.stderr).lower()
