"""Every component, with each input it needs missing, fails with a typed error naming the input —
never a bare KeyError or AttributeError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaihuo.components import ComponentError, ComponentSpec, ComponentTask
from chaihuo.components._report import PartyReport
from chaihuo.components._task import FederationPlan, PartyTask
from chaihuo.components._worker import _gather_inputs, _run_role
from chaihuo.components.builtin import default_registry
from chaihuo.core import ChaihuoError, Role
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

REGISTRY = default_registry()
PARAMS: dict[str, dict[str, Any]] = {"sample": {"fraction": 0.5}}
ROSTER = {"guest": "1", "host": "2", "arbiter": "3", "client": "4", "server": "5"}

CASES = [
    (name, role, needed)
    for name in REGISTRY.names()
    for role in sorted(REGISTRY.get(name).roles, key=list(Role).index)
    for needed in REGISTRY.get(name).inputs
]


def _task(tmp_path: Path, spec: ComponentSpec, role: Role, inputs: dict[str, str]) -> PartyTask:
    component = ComponentTask(
        id="c_0", component=spec.name, inputs=inputs, params={role: PARAMS.get(spec.name, {})}
    )
    return PartyTask(
        job_id="j", job_name="j", party_id=ROSTER[role.value], roster={}, security={},
        components=[component], work_dir=tmp_path, base_dir=tmp_path,
        federation=FederationPlan(listen="127.0.0.1:0", addresses={}),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "role", "needed"), CASES, ids=lambda v: str(getattr(v, "value", v))
)
def test_a_required_input_that_never_arrived_is_named(
    tmp_path: Path, name: str, role: Role, needed: str
) -> None:
    spec = REGISTRY.get(name)
    # the input is wired to a component this party did not run for this role
    inputs = {n: "src_0.data" for n in spec.inputs if n != needed} | {needed: "src_0.data"}
    task = _task(tmp_path, spec, role, inputs)
    (tmp_path / task.party_id).mkdir()
    report = PartyReport(tmp_path / task.party_id, task.party_id)

    def party(ctx: Context) -> None:
        if ctx.role is role:
            _run_role(task, ctx, REGISTRY, report, {})

    roles = {r.value: ROSTER[r.value] for r in spec.roles}
    with pytest.raises(PartyFailedError) as info:
        run_parties(party, roles, timeout_s=5)
    error = info.value.error
    assert isinstance(error, ComponentError), repr(error)
    assert f"needs input {needed!r}" in str(error)
    outcome = report.result.components["c_0"][role]
    assert outcome.status == "failed" and outcome.code == "JOB_INVALID"


def test_an_output_the_producer_did_not_give_this_role_is_named(tmp_path: Path) -> None:
    spec = REGISTRY.get("feature_scale")
    task = _task(tmp_path, spec, Role.HOST, {"data": "psi_0.data"})
    (tmp_path / "2").mkdir()
    report = PartyReport(tmp_path / "2", "2")
    produced: dict[str, object] = {"psi_0": True}  # psi ran on the host, gave it no table
    with pytest.raises(ComponentError, match="which this party's 'psi_0' did not produce"):
        _gather_inputs(spec, task.components[0], produced, Role.HOST)
    assert report.result.status == "running"


LEARNERS = [name for name in REGISTRY.names() if not REGISTRY.get(name).inputs
            and REGISTRY.get(name).optional_inputs]  # fmt: skip


@pytest.mark.parametrize("name", LEARNERS)
def test_learners_run_with_no_inputs_fail_typed_on_every_party(name: str) -> None:
    """Inputs a learner may go without (train / model / test): none at all is refused."""
    spec = REGISTRY.get(name)

    def party(ctx: Context) -> object:
        return spec.runners[ctx.role](ctx.sub("c_0"), spec.params(), {})

    roles = {r.value: ROSTER[r.value] for r in spec.roles}
    with pytest.raises(PartyFailedError) as info:
        run_parties(party, roles, timeout_s=10)
    for party_name, error in {info.value.party: info.value.error, **info.value.others}.items():
        assert isinstance(error, ChaihuoError), f"{party_name}: {error!r}"
        assert not isinstance(error, (KeyError, AttributeError)), f"{party_name}: {error!r}"
