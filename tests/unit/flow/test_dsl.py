"""Job files: docs/architecture.md §6's form parses; every mistake is refused before a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaihuo.components.builtin import default_registry
from chaihuo.core import ConfigError
from chaihuo.flow import JobInvalidError, load_job_file, plan_tasks, topological_order
from chaihuo.flow._local import _roster_roles
from chaihuo.flow._plan import validate_job

GOOD = """
name: demo-job
parties: {guest: 9999, host: [10000], arbiter: 10000}
components:
  reader_0:
    component: reader
    by_role:
      guest: {path: g.csv, id: id, label: y}
      host: {path: h.csv, id: id}
  psi_0: {component: psi, inputs: {data: reader_0.data}}
  add_0:
    component: secure_add
    params: {data_num: 10}
    by_role: {guest: {seed: 1}}
    by_party: {"10000": {seed: 2}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def _validate(tmp_path: Path, text: str) -> None:
    job = load_job_file(_write(tmp_path, text))
    validate_job(job, default_registry(), _roster_roles(job))


def test_a_good_job_parses_and_plans_one_task_per_party(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    job = load_job_file(path)
    assert topological_order(job) == ["reader_0", "psi_0", "add_0"]
    assert job.components["add_0"].params_for("host", "10000") == {"data_num": 10, "seed": 2}  # type: ignore[arg-type]
    tasks = plan_tasks(
        job, path, tmp_path / "run", default_registry(), insecure=True, profile="dev"
    )
    assert [t.party_id for t in tasks] == ["9999", "10000"]
    host = tasks[1]
    assert {c.id for c in host.components} == {"reader_0", "psi_0", "add_0"}
    assert host.federation.insecure and host.profile == "dev"


def test_insecure_needs_the_development_profile(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    with pytest.raises(ConfigError, match="production profile"):
        plan_tasks(
            load_job_file(path), path, tmp_path, default_registry(), insecure=True, profile="prod"
        )


def test_certificates_are_made_for_every_party(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    tasks = plan_tasks(
        load_job_file(path),
        path,
        tmp_path / "run",
        default_registry(),
        insecure=False,
        profile="prod",
    )
    for task in tasks:
        assert task.federation.cert is not None and task.federation.cert.exists()
        assert (
            task.federation.key is not None
            and oct(task.federation.key.stat().st_mode)[-3:] == "600"
        )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("name: demo-job", "name: demo-job\ncolour: red"), "colour"),
        (lambda t: t.replace("component: psi", "component: nope"), "unknown component 'nope'"),
        (lambda t: t.replace("reader_0.data}", "reader_0.rows}"), "no output 'rows'"),
        (lambda t: t.replace("reader_0.data}", "ghost_0.data}"), "unknown"),
        (lambda t: t.replace("{data_num: 10}", "{data_num: -1}"), "data_num"),
        (lambda t: t.replace("{data_num: 10}", "{data_num: 10, sped: 3}"), "sped"),
        (lambda t: t.replace('"10000": {seed: 2}', '"10000": {}'), "seed"),
        (lambda t: t.replace("inputs: {data: reader_0.data}", ""), "needs input 'data'"),
        (
            lambda t: t.replace(
                "psi_0: {component: psi, inputs: {data: reader_0.data}}",
                "psi_0: {component: psi, inputs: {data: psi_0.data}}",
            ),
            "cycle",
        ),
        (lambda t: t.replace("guest: 9999,", "guest: [9999, 9998],"), "exactly one"),
        (lambda t: t.replace("name: demo-job", "name: 'bad name'"), "job name"),
        (lambda t: ":\n  - [", "YAML"),
    ],
)
def test_mistakes_are_refused_with_a_clear_message(
    tmp_path: Path, edit: object, message: str
) -> None:
    text = edit(GOOD)  # type: ignore[operator]
    with pytest.raises(Exception, match=message) as info:
        _validate(tmp_path, text)
    assert getattr(info.value, "code", None) in {"JOB_INVALID", "INVALID_INPUT"}


def test_missing_job_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JobInvalidError, match="cannot read"):
        load_job_file(tmp_path / "absent.yaml")
