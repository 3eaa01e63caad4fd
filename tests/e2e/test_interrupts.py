"""Interrupts and dead parties in `chaihuo run`: workers end, the summary tells what happened."""

# Documented behaviour checked here (chaihuo.flow._supervise, chaihuo.components._lifecycle):
# - SIGTERM or SIGINT to `chaihuo run` (or Ctrl-C to its whole process group) stops every
#   worker process of the job within seconds — pool processes included — prints a summary with
#   status "canceled" (and the JSON line under --json) and exits 128 + the signal (143, 130).
# - kill -9 of the launcher: the workers notice their parent is gone and stop.
# - kill -9 of one party mid-training: the summary names that party as the one that failed
#   first, how (SIGKILL) and in which component, says the others were stopped, and keeps the
#   components that had finished as "success".
# - a party's own error is kept even when its peer is gone before it can be told.

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "fate-examples"
STOP_WITHIN_S = 12.0  # launcher grace (5 s) + the worker's own hard stop (3 s) + slack

LONG_JOB = f"""
name: long-lr
parties: {{guest: 9999, host: [10000], arbiter: 10001}}
timeout_s: 60
components:
  reader_0:
    component: reader
    by_role:
      guest: {{path: {DATA / "breast_hetero_guest.csv"}, id: id, label: y}}
      host: {{path: {DATA / "breast_hetero_host.csv"}, id: id}}
  psi_0: {{component: psi, inputs: {{data: reader_0.data}}}}
  lr_0:
    component: hetero_lr
    inputs: {{train: psi_0.data}}
    params: {{epochs: 400, batch_size: -1, learning_rate: 0.01, early_stop: weight_diff, tol: 0}}
"""


def _start(tmp_path: Path, text: str) -> tuple[subprocess.Popen[str], Path]:
    job = tmp_path / "job.yaml"
    job.write_text(text)
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "chaihuo.cli", "run", str(job), "--json", "--work-dir", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal job would be
        env={**os.environ, "CHAIHUO_PROFILE": "prod"},
    )
    return process, runs


def _run_dir(runs: Path) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [p for p in runs.glob("*") if p.is_dir()] if runs.exists() else []
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("the run folder never appeared")


def _wait_for(run: Path, party: str, component: str, event: str = "start") -> None:
    deadline = time.monotonic() + 60
    path = run / party / "events.jsonl"
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record.get("component") == component and record.get("event") == event:
                    return
        time.sleep(0.1)
    raise AssertionError(f"{party} never reached {component} {event}")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # state, ppid, pgrp, session, ...


def _job_processes(run: Path) -> set[int]:
    """Every live process of the job: the workers (their command names the run folder) and
    every process in a worker's session (its pool processes)."""
    workers, sessions = set(), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat(pid)
        if fields is None or fields[0] == "Z":
            continue
        sessions[pid] = int(fields[3])
        try:
            if str(run) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                workers.add(pid)
        except OSError:
            continue
    return workers | {pid for pid, sid in sessions.items() if sid in workers}


def _finish(process: subprocess.Popen[str]) -> tuple[int, dict[str, Any], str]:
    out, err = process.communicate(timeout=STOP_WITHIN_S + 10)
    lines = out.strip().splitlines()
    summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return process.returncode, summary, out + err


def _assert_all_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + STOP_WITHIN_S
    alive = pids
    while time.monotonic() < deadline:
        alive = {pid for pid in pids if (fields := _stat(pid)) is not None and fields[0] != "Z"}
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"processes still running: {sorted(alive)}")


def _logs(run: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in run.glob("*/worker.log"))


def _interrupted(tmp_path: Path, send: Any, signum: int) -> None:
    process, runs = _start(tmp_path, LONG_JOB)
    run = _run_dir(runs)
    _wait_for(run, "9999", "lr_0")
    pids = _job_processes(run)
    assert len(pids) >= 3, pids
    started = time.monotonic()
    send(process)
    code, summary, output = _finish(process)
    assert time.monotonic() - started < STOP_WITHIN_S, output
    assert code == 128 + signum, output
    assert summary["status"] == "canceled", output
    assert f"canceled by {signal.Signals(signum).name}" in summary["error"]
    assert summary["components"]["reader_0"]["status"] == "success"
    assert summary["components"]["psi_0"]["status"] == "success"
    assert summary["components"]["lr_0"]["status"] == "canceled"
    _assert_all_gone(pids)
    assert not list(run.glob("*/data/tmp/*")), "spill data left behind"
    logs = _logs(run)
    assert "Traceback" not in logs and "KeyboardInterrupt" not in logs, logs


def test_sigterm_to_the_launcher_stops_every_worker_with_a_summary(tmp_path: Path) -> None:
    _interrupted(tmp_path, lambda p: p.send_signal(signal.SIGTERM), signal.SIGTERM)


def test_ctrl_c_to_the_process_group_stops_every_worker_cleanly(tmp_path: Path) -> None:
    _interrupted(tmp_path, lambda p: os.killpg(p.pid, signal.SIGINT), signal.SIGINT)


def test_workers_stop_when_the_launcher_is_killed(tmp_path: Path) -> None:
    process, runs = _start(tmp_path, LONG_JOB)
    run = _run_dir(runs)
    _wait_for(run, "9999", "lr_0")
    pids = _job_processes(run)
    process.kill()
    process.communicate(timeout=10)
    _assert_all_gone(pids)


def test_a_killed_party_is_named_first_and_finished_components_stay_success(
    tmp_path: Path,
) -> None:
    process, runs = _start(tmp_path, LONG_JOB)
    run = _run_dir(runs)
    _wait_for(run, "10000", "lr_0")
    time.sleep(1.0)
    (host,) = [pid for pid in _job_processes(run) if _stat(pid)[3] == str(pid)  # type: ignore[index]
               and "10000" in Path(f"/proc/{pid}/cmdline").read_bytes().decode()]  # fmt: skip
    os.kill(host, signal.SIGKILL)
    code, summary, output = _finish(process)
    assert code == 1, output
    assert summary["status"] == "failed"
    error = summary["error"]
    assert error.startswith("party 10000 (host) failed first: killed by SIGKILL during lr_0"), error
    assert "party 9999 (guest) was stopped by the launcher" in error, error
    assert "party 10001 (arbiter) was stopped by the launcher" in error, error
    assert summary["components"]["reader_0"]["status"] == "success"
    assert summary["components"]["psi_0"]["status"] == "success"
    assert summary["components"]["lr_0"]["status"] == "failed"
    assert summary["parties"]["10000"]["exit_code"] == -9
    assert summary["parties"]["9999"]["status"] == "canceled"
    assert "RuntimeWarning" not in _logs(run)
    assert not list(run.glob("*/data/tmp/*")), "spill data of the killed party left behind"


def test_each_partys_own_error_survives_a_peer_that_is_already_gone(tmp_path: Path) -> None:
    text = f"""
name: missing-files
parties: {{guest: 9999, host: 10000}}
timeout_s: 30
components:
  reader_0:
    component: reader
    by_role:
      guest: {{path: {tmp_path / "absent-guest.csv"}, id: id, label: y}}
      host: {{path: {tmp_path / "absent-host.csv"}, id: id}}
"""
    process, runs = _start(tmp_path, text)
    code, summary, output = _finish(process)
    assert code == 1, output
    error = summary["error"]
    assert "absent-guest.csv" in error and "absent-host.csv" in error, error
    assert "exited with" not in error and "SIGTERM" not in error, error
    assert {p["status"] for p in summary["parties"].values()} == {"failed"}
    # each party's task log carries its own error with its traceback, and only its own
    run = _run_dir(runs)
    for party, mine, theirs in (("9999", "absent-guest", "absent-host"),
                                ("10000", "absent-host", "absent-guest")):  # fmt: skip
        log = (run / party / "worker.log").read_text(errors="replace")
        assert "reader_0 failed" in log and mine in log and "Traceback" in log, log
        assert theirs not in log, log
