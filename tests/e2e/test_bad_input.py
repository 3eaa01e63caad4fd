"""Bad input through `chaihuo run`: every job ends fast with an error that names its cause."""

# Documented behaviour checked here:
# - guest and host ids with nothing in common: `psi` (min_intersection, default 100) fails on
#   EVERY party: "no common ids" on the guest, "fewer than min_intersection" on the hosts
#   (the guest tells each host one bit: enough / not enough).
# - `security: {paillier_bits: 1024}`: refused by `chaihuo run` while validating the job,
#   before any party process starts (and again by each worker, should one be started).
# - a ragged CSV row: the reader's error names the file and the line.
# - `label:` given to a host's reader: if the host file has no such column the reader fails
#   naming it; if it has one, reader and psi accept it (ids are all psi looks at) and the
#   vertical training components are the ones that refuse a label on a host.

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chaihuo.components.builtin import default_registry
from chaihuo.computing import LocalComputing
from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Party
from chaihuo.runtime import Context
from chaihuo.testing import run_parties

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "fate-examples"
GUEST_CSV, HOST_CSV = DATA / "breast_hetero_guest.csv", DATA / "breast_hetero_host.csv"
DEADLINE_S = 20  # the jobs' per-message deadline: no party may wait longer than this
WALL_S = 60  # a generous bound on a whole failing job, far below a hang


def _run(job: Path, work: Path) -> tuple[int, dict[str, Any], str, float]:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "chaihuo.cli", "run", str(job), "--json", "--work-dir", str(work)],
        capture_output=True,
        text=True,
        timeout=WALL_S * 3,
        check=False,
        env={**os.environ, "CHAIHUO_PROFILE": "prod"},
    )
    seconds = time.monotonic() - started
    lines = completed.stdout.strip().splitlines()
    summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return completed.returncode, summary, completed.stdout + completed.stderr, seconds


def _job(path: Path, parties: str, readers: dict[str, str], extra: str = "") -> Path:
    """reader_0 → psi_0, with one `by_party` reader block per party id."""
    blocks = "".join(f"      '{pid}': {{{spec}}}\n" for pid, spec in readers.items())
    path.write_text(
        f"name: bad-input\nparties: {parties}\ntimeout_s: {DEADLINE_S}\n{extra}components:\n"
        f"  reader_0:\n    component: reader\n    by_party:\n{blocks}"
        "  psi_0: {component: psi, inputs: {data: reader_0.data}}\n"
    )
    return path


def _party_errors(work: Path) -> dict[str, str]:
    """Each party's own error, from the result.json its worker wrote."""
    (run,) = list(work.iterdir())
    return {
        result.parent.name: json.loads(result.read_text())["error"] or ""
        for result in run.glob("*/result.json")
    }


def _shifted_ids(source: Path, target: Path, offset: int) -> Path:
    lines = source.read_text().splitlines()
    body = [f"{int(line.split(',', 1)[0]) + offset},{line.split(',', 1)[1]}" for line in lines[1:]]
    target.write_text("\n".join([lines[0], *body]) + "\n")
    return target


def test_disjoint_ids_fail_psi_on_every_party_with_no_common_ids(tmp_path: Path) -> None:
    guest = _shifted_ids(GUEST_CSV, tmp_path / "guest.csv", 100_000)
    job = _job(
        tmp_path / "job.yaml",
        "{guest: 9999, host: 10000}",
        {"9999": f"path: {guest}, id: id, label: y", "10000": f"path: {HOST_CSV}, id: id"},
    )
    code, summary, output, seconds = _run(job, tmp_path / "runs")
    assert code == 1, output
    assert summary["status"] == "failed"
    assert summary["components"]["psi_0"]["status"] == "failed"
    errors = _party_errors(tmp_path / "runs")
    assert set(errors) == {"9999", "10000"}
    for party, error in errors.items():
        assert "PsiIntersectionError" in error, (party, error)
    # the guest knows the intersection is empty; a host learns one bit: below the guest's
    # min_intersection (default 100), nothing about how far below
    assert "no common ids" in errors["9999"]
    assert "fewer than min_intersection=100" in errors["10000"]
    assert seconds < WALL_S


def test_one_disjoint_host_of_two_empties_the_intersection_for_all(tmp_path: Path) -> None:
    stranger = _shifted_ids(HOST_CSV, tmp_path / "host2.csv", 100_000)
    job = _job(
        tmp_path / "job.yaml",
        "{guest: 9999, host: [10000, 10001]}",
        {
            "9999": f"path: {GUEST_CSV}, id: id, label: y",
            "10000": f"path: {HOST_CSV}, id: id",
            "10001": f"path: {stranger}, id: id",
        },
    )
    code, _, output, seconds = _run(job, tmp_path / "runs")
    assert code == 1, output
    errors = _party_errors(tmp_path / "runs")
    assert set(errors) == {"9999", "10000", "10001"}
    assert "no common ids" in errors["9999"]
    assert all("fewer than min_intersection" in errors[host] for host in ("10000", "10001"))
    assert seconds < WALL_S


@pytest.mark.parametrize(
    ("security", "cause"),
    [
        ("{paillier_bits: 1024}", "paillier_bits=1024 refused: at least 2048 bits"),
        (
            "{paillier_bits: 1024, allow_insecure_test_keys: true}",
            "allow_insecure_test_keys is refused by the production profile",
        ),
        ("{paillier_bits: 1023}", "paillier_bits must be an even number"),
    ],
)
def test_weak_keys_are_refused_before_any_party_starts(
    tmp_path: Path, security: str, cause: str
) -> None:
    job = _job(
        tmp_path / "job.yaml",
        "{guest: 9999, host: 10000}",
        {"9999": f"path: {GUEST_CSV}, label: y", "10000": f"path: {HOST_CSV}"},
        extra=f"security: {security}\n",
    )
    code, summary, output, seconds = _run(job, tmp_path / "runs")
    assert code != 0 and summary == {}
    assert cause in output and "JOB_INVALID" in output and "job.yaml" in output, output
    # Refused while planning: no party was given a task, no worker process started.
    assert not list((tmp_path / "runs").rglob("task.json"))
    assert not list((tmp_path / "runs").rglob("worker.log"))
    assert seconds < WALL_S


def test_a_ragged_csv_row_is_named_by_file_and_line(tmp_path: Path) -> None:
    lines = GUEST_CSV.read_text().splitlines()
    lines[4] = lines[4].rsplit(",", 1)[0]  # line 5 of the file loses its last field
    guest = tmp_path / "ragged.csv"
    guest.write_text("\n".join(lines) + "\n")
    job = _job(
        tmp_path / "job.yaml",
        "{guest: 9999, host: 10000}",
        {"9999": f"path: {guest}, id: id, label: y", "10000": f"path: {HOST_CSV}, id: id"},
    )
    code, summary, output, seconds = _run(job, tmp_path / "runs")
    assert code == 1, output
    assert f"{guest}:line 5: ragged row: expected 12 fields, got 11" in summary["error"]
    assert summary["components"]["reader_0"]["status"] == "failed"
    assert summary["components"]["psi_0"]["status"] != "success"
    # The host, left waiting in psi, is told why by the guest's abort notice and fails with
    # the cause well before its deadline.
    assert "party 10000" in summary["error"] and "guest:9999 failed" in summary["error"]
    assert "exited with" not in summary["error"]
    assert seconds < WALL_S


def test_a_label_declared_on_the_host(tmp_path: Path) -> None:
    # The host's file has no `y`: its reader names the missing column.
    job = _job(
        tmp_path / "missing.yaml",
        "{guest: 9999, host: 10000}",
        {"9999": f"path: {GUEST_CSV}, id: id, label: y", "10000": f"path: {HOST_CSV}, label: y"},
    )
    code, summary, output, seconds = _run(job, tmp_path / "runs-missing")
    assert code == 1, output
    assert f"{HOST_CSV}:line 1: missing label column 'y'" in summary["error"]
    assert seconds < WALL_S
    # The host's file has a `y` column and the job declares it: psi only looks at ids, so the
    # job is accepted (vertical training components refuse a label on a host themselves).
    guest_rows = GUEST_CSV.read_text().splitlines()
    host_rows = HOST_CSV.read_text().splitlines()
    labelled = tmp_path / "host_with_y.csv"
    labelled.write_text(
        "\n".join(
            f"{h.split(',', 1)[0]},{g.split(',')[1]},{h.split(',', 1)[1]}"
            for g, h in zip(guest_rows, host_rows, strict=True)
        )
        + "\n"
    )
    job = _job(
        tmp_path / "labelled.yaml",
        "{guest: 9999, host: 10000}",
        {"9999": f"path: {GUEST_CSV}, id: id, label: y", "10000": f"path: {labelled}, label: y"},
    )
    code, summary, output, seconds = _run(job, tmp_path / "runs-labelled")
    assert code == 0, output
    assert summary["components"]["psi_0"]["metrics"]["intersection"] == 569
    assert seconds < WALL_S


def test_min_intersection_fails_both_sides_in_process(tmp_path: Path) -> None:
    """`min_intersection` above the true overlap: the guest names the count, the host the bar."""
    registry, sessions = default_registry(), []  # type: list[LocalComputing]

    def computing(party: Party) -> LocalComputing:
        sessions.append(LocalComputing(tmp_path / party.party_id, workers=1))
        return sessions[-1]

    def party(ctx: Context) -> object:
        path = GUEST_CSV if ctx.role == Role.GUEST else HOST_CSV
        reader, psi = registry.get("reader"), registry.get("psi")
        data = reader.runners[ctx.role](ctx.sub("reader_0"), reader.params(path=str(path)), {})
        params = psi.params(min_intersection=600)  # breast has 569 common ids
        try:
            psi.runners[ctx.role](ctx.sub("psi_0"), params, data)
        except InvalidInputError as exc:  # returned, not raised: the harness would cancel peers
            return exc
        return None

    started = time.monotonic()
    try:
        results = run_parties(
            party, {"guest": 1, "host": 2}, computing=computing, timeout_s=DEADLINE_S
        )
    finally:
        for session in sessions:
            session.stop()
    errors = {p.role: str(e) for p, e in results.items()}
    assert "only 569 common ids, fewer than min_intersection=600" in errors[Role.GUEST]
    assert "fewer than min_intersection=600" in errors[Role.HOST]
    assert time.monotonic() - started < DEADLINE_S
