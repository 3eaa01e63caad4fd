"""Plan-time checks: the standard vertical pipeline runs on defaults; data-flow and role mistakes
are refused before any party starts, naming the setting to change."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaihuo.components.builtin import default_registry
from chaihuo.core import Role
from chaihuo.flow import JobInvalidError, load_job_file, plan_tasks, resolve_job, run_job_locally
from chaihuo.flow._local import _roster_roles

# docs/architecture.md §6's example job, as a new user writes it: psi without parameters.
PIPELINE = """
name: hetero-lr-breast
parties: {guest: 9999, host: [10000], arbiter: 10000}
components:
  reader_0:
    component: reader
    by_role:
      guest: {path: g.csv, id: id, label: y}
      host: {path: h.csv, id: id}
  psi_0: {component: psi, inputs: {data: reader_0.data}}
  scale_0: {component: feature_scale, inputs: {data: psi_0.data}}
  lr_0:
    component: hetero_lr
    inputs: {train: scale_0.data}
    params: {epochs: 10, batch_size: 320, learning_rate: 0.15}
  eval_0: {component: evaluation, inputs: {data: lr_0.predictions}}
"""


def _resolve(tmp_path: Path, text: str) -> dict[str, dict[tuple[Role, str], dict[str, object]]]:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    job = load_job_file(path)
    return resolve_job(job, default_registry(), _roster_roles(job))  # type: ignore[return-value]


def test_psi_gives_hosts_the_table_when_a_host_component_reads_it(tmp_path: Path) -> None:
    psi = _resolve(tmp_path, PIPELINE)["psi_0"]
    assert {key: raw["share_with_hosts"] for key, raw in psi.items()} == {
        (Role.GUEST, "9999"): True,
        (Role.HOST, "10000"): True,
    }


def test_the_resolved_setting_reaches_every_partys_task(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(PIPELINE)
    tasks = plan_tasks(
        load_job_file(path), path, tmp_path / "run", default_registry(), insecure=True,
        profile="dev",
    )  # fmt: skip
    for task in tasks:
        (psi,) = [c for c in task.components if c.id == "psi_0"]
        assert all(raw["share_with_hosts"] is True for raw in psi.params.values())


def test_psi_keeps_the_intersection_from_hosts_when_only_the_guest_reads_it(
    tmp_path: Path,
) -> None:
    text = PIPELINE.split("  scale_0", maxsplit=1)[0] + (
        "  stats_0: {component: statistics, inputs: {data: psi_0.data}, roles: [guest]}\n"
    )
    psi = _resolve(tmp_path, text)["psi_0"]
    assert all(raw["share_with_hosts"] is False for raw in psi.values())


def test_an_explicit_guest_only_psi_feeding_a_host_names_the_setting(tmp_path: Path) -> None:
    text = PIPELINE.replace(
        "psi_0: {component: psi, inputs: {data: reader_0.data}}",
        "psi_0: {component: psi, inputs: {data: reader_0.data}, params: {share_with_hosts: false}}",
    )
    with pytest.raises(JobInvalidError) as info:
        _resolve(tmp_path, text)
    message = str(info.value)
    assert "'scale_0' (feature_scale) on host:10000 reads psi_0.data" in message
    assert "share_with_hosts: true" in message


def test_psi_settings_that_differ_between_parties_are_refused(tmp_path: Path) -> None:
    text = PIPELINE.replace(
        "psi_0: {component: psi, inputs: {data: reader_0.data}}",
        "psi_0:\n    component: psi\n    inputs: {data: reader_0.data}\n"
        "    by_role: {guest: {share_with_hosts: false}}",
    )
    with pytest.raises(JobInvalidError, match="share_with_hosts must be the same"):
        _resolve(tmp_path, text)


def test_a_missing_arbiter_is_caught_at_plan_time_and_nothing_is_left(tmp_path: Path) -> None:
    text = PIPELINE.replace(
        "parties: {guest: 9999, host: [10000], arbiter: 10000}",
        "parties: {guest: 9999, host: [10000]}",
    )
    with pytest.raises(JobInvalidError) as info:
        _resolve(tmp_path, text)
    assert "'lr_0' (hetero_lr) needs a party in the role 'arbiter'" in str(info.value)
    assert "arbiter: <party id>" in str(info.value)
    runs = tmp_path / "runs"
    with pytest.raises(JobInvalidError, match="arbiter"):
        run_job_locally(tmp_path / "job.yaml", default_registry(), work_root=runs)
    assert not [p for p in runs.iterdir() if p.is_dir()]  # no empty run folder behind


def test_a_host_component_reading_guest_only_predictions_is_refused(tmp_path: Path) -> None:
    text = PIPELINE + "  stats_1: {component: statistics, inputs: {data: lr_0.predictions}}\n"
    with pytest.raises(JobInvalidError) as info:
        _resolve(tmp_path, text)
    assert "on host:10000 reads lr_0.predictions" in str(info.value)
    assert "predictions stay with the guest" in str(info.value)


def test_a_role_the_component_does_not_have_is_refused(tmp_path: Path) -> None:
    text = PIPELINE.replace(
        "scale_0: {component: feature_scale, inputs: {data: psi_0.data}}",
        "scale_0: {component: feature_scale, inputs: {data: psi_0.data}, roles: [arbiter]}",
    )
    with pytest.raises(JobInvalidError, match=r"does not run on 'arbiter' \(roles: guest, host\)"):
        _resolve(tmp_path, text)


def test_a_required_input_read_from_a_component_that_skips_the_role_is_refused(
    tmp_path: Path,
) -> None:
    text = PIPELINE.replace(
        "scale_0: {component: feature_scale, inputs: {data: psi_0.data}}",
        "scale_0: {component: feature_scale, inputs: {data: eval_0.report}}",
    ).replace("inputs: {train: scale_0.data}", "inputs: {train: psi_0.data}")
    with pytest.raises(JobInvalidError, match="does not run on the host"):
        _resolve(tmp_path, text)
