"""`make demo` keeps working: the three-node demo script, run as make runs it, succeeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_node_demo_trains_and_stops_its_nodes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "node_demo.py"), "--epochs", "2"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert ": success in " in output and "model registry" in output
    assert "exit codes: guest 0, host 0, arbiter 0" in output  # every node stopped cleanly
