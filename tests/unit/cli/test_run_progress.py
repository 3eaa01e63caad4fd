"""`chaihuo run` shows a training component's progress with its latest loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaihuo.cli._run import _progress
from chaihuo.components.builtin import default_registry
from chaihuo.flow import run_job_locally

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "hetero_secureboost_breast.yaml"


def test_a_progress_line_names_the_loss() -> None:
    line = _progress(
        {"stage": "trees", "done": 3, "total": 10, "rate": 1.5, "eta": 5, "loss": 0.1234}
    )
    assert line == "trees 3/10 (30%), 1.5/s, ~5s left, loss 0.1234"
    assert "loss" not in _progress({"stage": "blind", "done": 5, "total": 10})


def test_training_progress_events_carry_the_latest_loss(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    job = tmp_path / "job.yaml"
    text = EXAMPLE.read_text().replace("num_trees: 10", "num_trees: 3")
    job.write_text(text.replace("../data/", f"{EXAMPLE.parents[1] / 'data'}/"))
    summary = run_job_locally(job, default_registry(), work_root=tmp_path / "runs",
                              on_event=events.append)  # fmt: skip
    assert summary.status == "success", summary.error
    trees = [e for e in events if e.get("event") == "progress" and e.get("stage") == "trees"
             and e.get("party") == "9999"]  # fmt: skip
    assert trees and all(e["loss"] > 0 for e in trees), trees  # reported after each tree
