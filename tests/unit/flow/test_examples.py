"""Every job file in examples/ parses, validates against the registry and names files that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaihuo.components.builtin import default_registry
from chaihuo.flow import load_job_file, validate_job

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


def test_the_examples_cover_every_vertical_dataset_pair() -> None:
    names = {path.stem for path in EXAMPLES}
    for dataset in ("breast", "default_credit", "epsilon_5k", "vehicle"):
        assert f"hetero_lr_{dataset}" in names
    for dataset in ("breast", "default_credit", "epsilon_5k"):
        assert f"hetero_sshe_lr_{dataset}" in names
    assert {"hetero_linr_motor", "hetero_linr_student", "hetero_poisson_dvisits"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_example_job_is_valid_and_its_data_exists(path: Path) -> None:
    job = load_job_file(path)
    roles = {role: [str(pid) for pid in ids] for role, ids in job.roster.roles}
    registry = default_registry()
    validate_job(job, registry, roles)
    for entry in job.components.values():
        if entry.component != "reader":
            continue
        for role in entry.roles or list(registry.get("reader").roles):
            for party_id in roles.get(role, []):
                params = entry.params_for(role, party_id)
                assert (path.parent / params["path"]).exists(), f"{role}: {params['path']}"
