"""A misspelled component parameter is named, with the closest valid name and the full list."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaihuo.components import ComponentError, validate_params
from chaihuo.components.builtin import default_registry
from chaihuo.flow import JobInvalidError, load_job_file
from chaihuo.flow._local import _roster_roles
from chaihuo.flow._plan import validate_job

JOB = """
name: lr-typo
parties: {guest: 9999, host: [10000], arbiter: 10001}
components:
  reader_0:
    component: reader
    by_role:
      guest: {path: g.csv, id: id, label: y}
      host: {path: h.csv, id: id}
  psi_0: {component: psi, inputs: {data: reader_0.data}}
  lr_0:
    component: hetero_lr
    inputs: {train: psi_0.data}
    params: {epochs: 2, lerning_rate: 0.1}
"""


def test_a_misspelled_parameter_gets_a_suggestion_and_the_valid_names() -> None:
    spec = default_registry().get("hetero_lr")
    with pytest.raises(ComponentError) as caught:
        validate_params(spec, {"lerning_rate": 0.1}, "lr_0 on guest:9999")
    message = str(caught.value)
    assert message.startswith(
        "lr_0 on guest:9999: unknown parameter 'lerning_rate' for hetero_lr; "
        "did you mean 'learning_rate'? valid: alpha, batch_size,"
    )
    assert "Extra inputs" not in message
    assert all(name in message for name in spec.params.model_fields)


def test_an_alias_is_suggested_with_the_name_it_stands_for() -> None:
    spec = default_registry().get("hetero_lr")
    with pytest.raises(ComponentError, match=r"did you mean 'max_iter' \(= 'epochs'\)\?"):
        validate_params(spec, {"max_itr": 3}, "lr_0")


def test_a_name_like_nothing_lists_the_valid_names_without_a_guess() -> None:
    spec = default_registry().get("psi")
    with pytest.raises(ComponentError) as caught:
        validate_params(spec, {"zzz": 1}, "psi_0")
    assert str(caught.value) == (
        "psi_0: unknown parameter 'zzz' for psi; valid: min_intersection, protocol, "
        "share_with_hosts"
    )


def test_other_errors_are_still_reported_beside_unknown_names() -> None:
    spec = default_registry().get("hetero_lr")
    with pytest.raises(ComponentError) as caught:
        validate_params(spec, {"lerning_rate": 0.1, "alpha": -1}, "lr_0")
    message = str(caught.value)
    assert "unknown parameter 'lerning_rate'" in message
    assert "invalid parameters for hetero_lr: alpha:" in message


def test_a_job_with_a_misspelled_parameter_is_refused_before_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(JOB, encoding="utf-8")
    job = load_job_file(path)
    with pytest.raises((JobInvalidError, ComponentError), match="did you mean 'learning_rate'"):
        validate_job(job, default_registry(), _roster_roles(job))
