"""What `chaihuo run` leaves on disk: private files, no spill data of killed runs, nothing for a
refused job."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from chaihuo.components.builtin import default_registry
from chaihuo.computing._spill import SpillLock
from chaihuo.flow import run_job_locally

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"

JOB = f"""
name: files
parties: {{guest: 9999, host: 10000}}
timeout_s: 30
components:
  reader_0:
    component: reader
    by_role:
      guest: {{path: {DATA / "breast_hetero_guest.csv"}, id: id, label: y}}
      host: {{path: {DATA / "breast_hetero_host.csv"}, id: id}}
  psi_0: {{component: psi, inputs: {{data: reader_0.data}}}}
"""


def _stale_spill(root: Path, run: str) -> Path:
    spill = root / run / "9999" / "data" / "tmp" / "deadbeef"
    spill.mkdir(parents=True)
    (spill / "part-0").write_bytes(b"x" * 1024)
    return spill


def test_a_run_is_private_to_its_user_and_sweeps_spill_of_killed_runs(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(JOB)
    root = tmp_path / "runs"
    abandoned = _stale_spill(root, "old-killed-run")
    live = _stale_spill(root, "old-live-run")
    lock = SpillLock(live)  # a session of another run still holds this one
    try:
        summary = run_job_locally(job, default_registry(), work_root=root, profile="prod")
    finally:
        assert live.exists(), "a spill directory in use was removed"
        lock.release()
    assert summary.status == "success", summary.error
    assert not abandoned.exists(), "spill data of a killed run was left behind"
    run = Path(summary.work_dir)
    assert not list(run.glob("*/data/tmp/*")), "this run's spill data was left behind"
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    loose = []
    for path in [run, *run.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        public_certificate = path.suffix == ".pem" and "key" not in path.name
        if mode & 0o077 and not public_certificate:  # certificates: public, in a 0700 folder
            loose.append(f"{oct(mode)} {path.relative_to(run)}")
    assert not loose, loose
    # long components report progress: to the console (events) and the job's metrics
    events = [json.loads(line) for line in (run / "9999" / "events.jsonl").read_text().splitlines()]
    stages = {e["stage"] for e in events if e["event"] == "progress" and e["component"] == "psi_0"}
    assert {"blind", "intersect"} <= stages, stages
    metrics = (run / "9999" / "metrics.jsonl").read_text()
    assert '"kind": "progress"' in metrics
    outputs = list(run.glob("9999/guest/psi_0/*.csv"))
    assert outputs and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in outputs)
