"""Spark for jobs: a party computes on Spark, its partner locally; the model stays the same."""

# The same breast hetero-LR job three ways through `chaihuo run`: every party on the local
# process pool; the guest on Spark local[2] with the host local; the host on Spark with the
# guest local. Each party's model must equal the all-local one within 1e-9 and the metrics
# must agree to the same tolerance: the backend is a party's private choice and changes
# nothing its partners see.

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chaihuo.ml import ModelArtifact

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / "examples" / "hetero_lr_breast.yaml"
PARTIES = {"guest": "9999", "host": "10000"}

pytestmark = pytest.mark.xdist_group("spark")  # one JVM-heavy test at a time on 2 cores


def _run(work: Path, *computing: str) -> tuple[dict[str, object], Path]:
    extra = [arg for option in computing for arg in ("--computing", option)]
    done = subprocess.run(
        [sys.executable, "-m", "chaihuo.cli", "run", str(JOB), "--json", "--work-dir",
         str(work), *extra],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    summary = json.loads(lines[-1]) if lines else {}
    assert done.returncode == 0, (summary.get("error"), done.stderr[-3000:])
    (run,) = work.iterdir()
    return summary, run


def _model(run: Path, role: str) -> dict[str, np.ndarray]:
    path = run / PARTIES[role] / role / "lr_0" / "model.json"
    return {k: np.asarray(v, dtype=np.float64) for k, v in ModelArtifact.load(path).arrays.items()}


def test_a_party_on_spark_trains_the_same_model_as_on_the_local_pool(tmp_path: Path) -> None:
    local, local_run = _run(tmp_path / "local")
    for role, party in PARTIES.items():
        mixed, mixed_run = _run(tmp_path / f"{role}-on-spark", f"{party}=local[2]")
        log = (mixed_run / party / "worker.log").read_text(errors="replace")
        assert "Spark" in log, f"party {party} did not start Spark"
        for side in PARTIES:
            expected, got = _model(local_run, side), _model(mixed_run, side)
            assert expected.keys() == got.keys()
            for name in expected:
                np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-9,
                                           err_msg=f"{side} {name}, {role} on Spark")  # fmt: skip
        for component in ("psi_0", "eval_0"):
            want = local["components"][component]["metrics"]  # type: ignore[index]
            have = mixed["components"][component]["metrics"]  # type: ignore[index]
            assert have.keys() == want.keys()
            for name, value in want.items():
                assert have[name] == pytest.approx(value, abs=1e-9), (component, name)


def test_an_unknown_backend_is_refused_before_any_party_starts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chaihuo.cli", "run", str(JOB), "--work-dir", str(tmp_path),
         "--computing", "10000=hadoop://x"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 78, done.stderr
    assert "computing backend must be 'local' or a Spark master" in done.stderr
    assert not any(tmp_path.iterdir())
