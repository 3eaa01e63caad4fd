"""Disk full while saving a model: the save fails with a typed error and nothing torn is kept."""

# Real kernel refusals, not mocks: a child process with RLIMIT_FSIZE below the model's size gets
# EFBIG from write(2) exactly where a full disk gives ENOSPC. The node's registry then reads
# each model back before registering a task's models, all or none.

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from chaihuo.core import InvalidInputError, StorageError, write_atomic
from chaihuo.flow.node._registry import ModelRegistry
from chaihuo.flow.store import Store
from chaihuo.ml import ModelArtifact

LIMIT = 64 * 1024  # bytes any one file of the child may reach


_LIMITS = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write(2) then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT}, {LIMIT}))
"""


def _in_a_child_with_a_full_disk(code: str) -> subprocess.CompletedProcess[str]:
    # The child sets its own limits before anything else: a preexec_fn would run Python
    # between fork and exec in a process that has gRPC's threads (another test's server),
    # which is unsafe (in one run the child died there and printed nothing).
    return subprocess.run(
        [sys.executable, "-c", _LIMITS + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_model_too_large_for_the_disk_fails_typed_and_leaves_no_model(tmp_path: Path) -> None:
    done = _in_a_child_with_a_full_disk(f"""
        import numpy as np
        from pathlib import Path
        from chaihuo.core import StorageError
        from chaihuo.ml import ModelArtifact
        weights = {{"w": np.random.default_rng(1).random(50_000)}}  # 400 KB
        model = ModelArtifact("hetero_lr", "guest", {{}}, weights)
        try:
            model.save(Path({str(tmp_path)!r}), "model")
        except StorageError as exc:
            print("STORAGE", exc.code, exc)
        """)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("STORAGE STORAGE cannot write "), done.stdout + done.stderr
    assert "model.npz" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no JSON, no torn npz, no temp
    with pytest.raises(InvalidInputError):
        ModelArtifact.load(tmp_path / "model.json")


def test_a_write_that_fails_keeps_the_previous_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "outputs.json"
    write_atomic(target, '{"before": 1}')
    done = _in_a_child_with_a_full_disk(f"""
        from pathlib import Path
        from chaihuo.core import StorageError, write_atomic
        try:
            write_atomic(Path({str(target)!r}), "x" * {2 * LIMIT})
        except StorageError as exc:
            print("STORAGE", exc)
        """)  # fmt: skip
    assert done.stdout.startswith("STORAGE cannot write"), done.stdout + done.stderr
    assert json.loads(target.read_text()) == {"before": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["outputs.json"]
    assert target.stat().st_mode & 0o777 == 0o600


def _saved_task(folder: Path, role: str) -> Path:
    model = ModelArtifact("hetero_lr", role, {"epochs": 3}, {"w": np.arange(4.0)})
    path = model.save(folder, "model")
    (folder / "outputs.json").write_text(json.dumps({"model": {"kind": "model",
                                                               "file": path.name}}))  # fmt: skip
    return path


def test_the_registry_registers_none_of_a_task_whose_model_is_torn(tmp_path: Path) -> None:
    store = Store.open("sqlite://", owner="tests")
    registry = ModelRegistry(store, "9999", tmp_path)
    whole = tmp_path / "guest" / "lr_0"
    torn = tmp_path / "host" / "lr_0"
    _saved_task(whole, "guest")
    npz = _saved_task(torn, "host").with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:40])  # what a crash mid-write of a non-atomic save leaves
    with pytest.raises(InvalidInputError, match="cannot read model"):
        registry.register_outputs("j1", "lr_0", "hetero_lr", "1", {"guest": whole, "host": torn})
    assert store.list_models() == []  # not even the guest's whole part
    registry.register_outputs("j1", "lr_0", "hetero_lr", "1", {"guest": whole})
    (record,) = store.list_models()
    assert record.sha256 == ModelArtifact.load(whole / "model.json").digest


def test_storage_errors_have_their_own_code() -> None:
    error = StorageError("cannot write /x: No space left on device")
    assert (error.code, error.spec.http_status, error.spec.exit_code) == ("STORAGE", 507, 74)
    assert isinstance(error, OSError)
