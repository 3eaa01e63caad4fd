"""FATE 1.x jobs (DSL v1 / v2 + conf, KubeFATE FateJob) translate into valid chaihuo jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaihuo.components.builtin import default_registry
from chaihuo.core import Role
from chaihuo.flow import JobInvalidError, load_job_file, run_job_locally, validate_job
from chaihuo.flow._fate import (
    FateTranslation,
    load_kubefate,
    read_fate_files,
    translate_fate,
)
from chaihuo.flow._local import _roster_roles

FIXTURES = Path(__file__).parent / "fate"


def _pair(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return read_fate_files(FIXTURES / f"{name}_dsl.json", FIXTURES / f"{name}_conf.json")


def _translate(name: str) -> FateTranslation:
    translation = translate_fate(*_pair(name))
    validate_job(translation.job, default_registry(), _roster_roles(translation.job))
    return translation


def _params(t: FateTranslation, cid: str, role: Role, party: str) -> dict[str, Any]:
    return t.job.components[cid].params_for(role, party)


def _has(t: FateTranslation, path: str) -> bool:
    return any(item.startswith(path) for item in t.unmapped)


# -- the seed's SecureAddExample ------------------------------------------------------------


def test_the_seed_pair_translates_with_one_party_in_both_roles() -> None:
    t = _translate("seed")
    assert t.job.parties == {"guest": 9999, "host": [9999]}
    entry = t.job.components["secure_add_example_0"]
    assert entry.component == "secure_add"
    guest = entry.params_for(Role.GUEST, "9999")
    host = entry.params_for(Role.HOST, "9999")
    assert (guest["seed"], host["seed"]) == (123, 321)
    for params in (guest, host):
        assert params["data_num"] == 1000 and params["partition"] == 10
    assert guest["data_num"] + host["data_num"] == 2 * 1000
    assert _has(t, "conf.job_parameters.work_mode")
    # The YAML a user saves is the same job.
    assert yaml.safe_load(t.yaml)["components"] == {
        cid: e.model_dump(exclude_defaults=True) for cid, e in t.job.components.items()
    }


def test_the_seed_job_runs_and_sums_to_two_thousand(tmp_path: Path) -> None:
    t = _translate("seed")
    job_path = tmp_path / "secure_add.yaml"
    job_path.write_text(t.yaml, encoding="utf-8")
    summary = run_job_locally(
        job_path, default_registry(), work_root=tmp_path / "runs", insecure=False, profile="prod"
    )
    assert summary.status == "success", summary.error
    metrics = summary.components["secure_add_example_0"]["metrics"]
    assert metrics["match"] == 1.0
    assert metrics["secure_sum"] == pytest.approx(2000.0, abs=2000 * 2.0**-16)


def test_the_seed_job_runs_one_party_as_guest_and_host(tmp_path: Path) -> None:
    t = _translate("seed")
    job_path = tmp_path / "secure_add.yaml"
    job_path.write_text(t.yaml, encoding="utf-8")
    assert load_job_file(job_path) == t.job
    summary = run_job_locally(
        job_path, default_registry(), work_root=tmp_path / "runs", insecure=False, profile="prod"
    )
    assert summary.status == "success", summary.error
    assert summary.parties["9999"]["roles"] == ["guest", "host"]
    metrics = summary.components["secure_add_example_0"]["metrics"]
    assert metrics["match"] == 1.0  # secure sum of both parties' 1000 values = plaintext sum


def test_the_kubefate_fatejob_yaml_translates_like_the_pair() -> None:
    dsl, conf = load_kubefate((FIXTURES / "kubefate_fatejob.yaml").read_text(encoding="utf-8"))
    assert (dsl, conf) == _pair("seed")
    t = translate_fate(dsl, conf, name="fatejob-sample")
    assert t.job.name == "fatejob-sample"
    assert t.job.components == _translate("seed").job.components


def test_kubefate_accepts_mappings_as_well_as_json_strings() -> None:
    dsl, conf = _pair("seed")
    doc = {"kind": "FateJob", "spec": {"jobConf": {"pipeline": dsl, "modulesConfig": conf}}}
    assert load_kubefate(yaml.safe_dump(doc)) == (dsl, conf)


# -- hetero LR / LinR pairs ----------------------------------------------------------------


def test_a_v1_hetero_lr_pair_maps_readers_psi_lr_and_evaluation() -> None:
    t = _translate("v1_hetero_lr")
    components = t.job.components
    assert list(components) == ["reader_0", "intersection_0", "hetero_lr_0", "evaluation_0"]
    assert t.job.parties == {"guest": 9999, "host": [10000, 10001], "arbiter": 10000}
    guest = _params(t, "reader_0", Role.GUEST, "9999")
    assert guest["label"] == "y" and guest["label_type"] == "int"
    assert guest["table"] == "experiment/breast_hetero_guest"
    hosts = [_params(t, "reader_0", Role.HOST, pid) for pid in ("10000", "10001")]
    assert [h["table"] for h in hosts] == [
        "experiment/breast_hetero_host_a",
        "experiment/breast_hetero_host_b",
    ]
    assert all("label" not in h for h in hosts)
    assert components["intersection_0"].inputs == {"data": "reader_0.data"}
    assert components["intersection_0"].params == {"protocol": "rsa", "share_with_hosts": True}
    lr = components["hetero_lr_0"]
    assert lr.inputs == {"train": "intersection_0.data"}
    for key, value in {
        "epochs": 30, "optimizer": "rmsprop", "penalty": "l2", "alpha": 0.01,
        "learning_rate": 0.15, "batch_size": -1, "tol": 0.0001, "early_stop": "diff",
        "init_method": "zeros",
        # FATE's training as FATE runs it (chaihuo's own defaults differ on these three)
        "standardize": False, "intercept_init": "zero", "sigmoid": "taylor",
    }.items():  # fmt: skip
        assert lr.params[key] == value, key
    assert components["evaluation_0"].inputs == {"data": "hetero_lr_0.predictions"}
    assert components["evaluation_0"].params == {"pos_label": 1}
    assert (
        "conf.algorithm_parameters.hetero_lr_0.encrypt_param: chaihuo always uses Paillier "
        "≥ 2048 bits" in t.unmapped
    )
    for path in ("cv_param", "sqn_param", "decay_sqrt"):
        assert _has(t, f"conf.algorithm_parameters.hetero_lr_0.{path}"), path
    assert "security" not in yaml.safe_load(t.yaml)  # 1024-bit keys are not carried over
    assert not _has(t, "conf.role_parameters.host.evaluation_0.need_run")


def test_a_v2_hetero_lr_pair_with_validation_and_prediction() -> None:
    t = _translate("v2_hetero_lr")
    components = t.job.components
    assert list(components) == [
        "reader_0", "intersection_0", "reader_1", "intersection_1",
        "hetero_lr_0", "hetero_lr_1", "evaluation_0",
    ]  # fmt: skip
    assert t.job.security == {"paillier_bits": 3072}
    # data_transform_1 reuses data_transform_0's settings (its model input).
    for reader in ("reader_0", "reader_1"):
        guest = _params(t, reader, Role.GUEST, "9999")
        assert guest["label"] == "y" and guest["missing_fill"] == "mean"
        assert "label" not in _params(t, reader, Role.HOST, "10000")
    assert _params(t, "reader_1", Role.HOST, "10000")["table"] == (
        "experiment/breast_hetero_host_test"
    )
    assert components["intersection_0"].params == {"protocol": "ecdh"}
    assert _has(t, "conf.component_parameters.common.intersection_0.intersect_method")
    lr = components["hetero_lr_0"]
    assert lr.inputs == {"train": "intersection_0.data", "validate": "intersection_1.data"}
    assert lr.params["batch_size"] == 320 and lr.params["early_stop"] == "weight_diff"
    assert lr.params["early_stopping_rounds"] == 3
    assert lr.params["init_method"] == "random" and lr.params["random_seed"] == 7
    assert lr.params["optimizer"] == "sgd"
    assert _has(t, "conf.component_parameters.common.hetero_lr_0.optimizer")
    assert _has(t, "conf.component_parameters.common.hetero_lr_0.cv_param")
    predict = components["hetero_lr_1"]
    assert predict.inputs == {"test": "intersection_1.data", "model": "hetero_lr_0.model"}
    assert predict.params == {"predict_only": True}
    evaluation = components["evaluation_0"]
    assert evaluation.inputs == {
        "data": "hetero_lr_0.predictions",
        "data_2": "hetero_lr_1.predictions",
    }
    assert evaluation.params == {"metrics": ["auc", "ks"]}
    assert _has(t, "conf.component_parameters.common.evaluation_0.metrics: metric 'psi'")
    assert _has(t, "conf.component_parameters.role.host.all.evaluation_0.pos_label")
    assert _has(t, "conf.job_parameters.common.task_cores")


def test_a_v1_args_pair_with_custom_output_names_translates_hetero_linr() -> None:
    t = _translate("v1_args_linr")
    components = t.job.components
    assert list(components) == ["dataio_0", "intersection_0", "hetero_linr_0", "evaluation_0"]
    guest = _params(t, "dataio_0", Role.GUEST, "10000")
    assert guest["label"] == "motor_speed" and guest["label_type"] == "float"
    assert guest["table"] == "motor_mini/motor_mini_b"
    linr = components["hetero_linr_0"]
    assert linr.component == "hetero_linr" and linr.inputs == {"train": "intersection_0.data"}
    assert linr.params["epochs"] == 20 and linr.params["decay"] == 0.0
    assert components["evaluation_0"].inputs == {"data": "hetero_linr_0.predictions"}
    assert not _has(t, "conf.algorithm_parameters.hetero_linr_0")  # all of it carried over


def test_fate_defaults_are_written_where_chaihuo_defaults_differ() -> None:
    dsl, conf = _pair("v1_hetero_lr")
    conf["algorithm_parameters"]["hetero_lr_0"] = {}
    lr = translate_fate(dsl, conf).job.components["hetero_lr_0"].params
    assert (lr["alpha"], lr["optimizer"], lr["learning_rate"], lr["epochs"]) == (
        1.0, "rmsprop", 0.01, 100,
    )  # fmt: skip
    assert lr["init_method"] == "random"


def test_a_reader_without_a_table_param_gets_a_path_and_a_note() -> None:
    registry = default_registry()
    if "table" not in registry.get("reader").params.model_fields:
        t = _translate("v1_hetero_lr")
        assert _params(t, "reader_0", Role.GUEST, "9999")["path"] == (
            "experiment/breast_hetero_guest"
        )
        assert _has(t, "conf.role_parameters.guest.reader_0.table")
    else:
        t = _translate("v1_hetero_lr")
        assert not _has(t, "conf.role_parameters.guest.reader_0.table")


# -- documents that cannot be translated ----------------------------------------------------


def _refused(dsl: dict[str, Any], conf: dict[str, Any], match: str) -> None:
    with pytest.raises(JobInvalidError, match=match):
        translate_fate(dsl, conf)


def test_an_unknown_module_is_refused_naming_its_path() -> None:
    dsl, conf = _pair("v1_hetero_lr")
    dsl["components"]["hetero_lr_0"]["module"] = "HeteroNN"
    _refused(dsl, conf, r"dsl\.components\.hetero_lr_0\.module: 'HeteroNN'")


def test_a_missing_role_block_is_refused() -> None:
    dsl, conf = _pair("seed")
    del conf["role"]
    _refused(dsl, conf, r"conf\.role: missing")


def test_a_missing_guest_and_a_role_without_parties_are_refused() -> None:
    dsl, conf = _pair("seed")
    conf["role"] = {"host": [9999]}
    _refused(dsl, conf, r"conf\.role\.guest")
    dsl, conf = _pair("v1_hetero_lr")
    del conf["role"]["arbiter"]
    _refused(dsl, conf, r"needs a party in the role 'arbiter'")


def test_too_few_v1_values_for_a_role_is_refused_naming_the_list() -> None:
    dsl, conf = _pair("v1_hetero_lr")
    conf["role_parameters"]["host"]["dataio_0"]["with_label"] = [False]
    _refused(dsl, conf, r"conf\.role_parameters\.host\.dataio_0\.with_label: 1 value")


def test_a_reference_to_a_missing_component_is_refused() -> None:
    dsl, conf = _pair("v1_hetero_lr")
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["nowhere_0.data"]
    _refused(dsl, conf, r"dsl\.components\.hetero_lr_0\.input\.data\.train_data: .*'nowhere_0'")


def test_malformed_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "conf.json"
    bad.write_text('{"role": {"guest": [9999]', encoding="utf-8")
    with pytest.raises(JobInvalidError, match=r"conf\.json: not valid JSON"):
        read_fate_files(FIXTURES / "seed_dsl.json", bad)


def test_malformed_kubefate_documents_are_refused_naming_the_field() -> None:
    text = (FIXTURES / "kubefate_fatejob.yaml").read_text(encoding="utf-8")
    broken = text.replace('{"components"', '{"components" oops', 1)
    with pytest.raises(JobInvalidError, match=r"spec\.jobConf\.pipeline: not valid JSON"):
        load_kubefate(broken)
    with pytest.raises(JobInvalidError, match="kind: expected FateJob"):
        load_kubefate(text.replace("kind: FateJob", "kind: FateCluster"))
    with pytest.raises(JobInvalidError, match=r"spec\.jobConf\.modulesConfig: missing"):
        load_kubefate(json.dumps({"kind": "FateJob", "spec": {"jobConf": {"pipeline": "{}"}}}))


def test_v2_party_blocks_keyed_by_index_lists_and_all() -> None:
    dsl, conf = _pair("v2_hetero_lr")
    conf["role"]["host"] = [10000, 10001]
    host = conf["component_parameters"]["role"]["host"]
    host["0|1"] = host.pop("0")
    host["1"] = {"reader_0": {"table": {"name": "other_host", "namespace": "experiment"}}}
    t = translate_fate(dsl, conf)
    tables = [_params(t, "reader_0", Role.HOST, pid)["table"] for pid in ("10000", "10001")]
    assert tables == ["experiment/breast_hetero_host", "experiment/other_host"]
    host["3"] = {}
    _refused(dsl, conf, r"conf\.component_parameters\.role\.host\.3: host has 2 parties")


def test_a_v2_secureboost_pair_maps_to_hetero_secureboost_with_fate_defaults() -> None:
    t = _translate("v2_secureboost")
    boost = t.job.components["hetero_secure_boost_0"]
    assert boost.component == "hetero_secureboost"
    assert boost.inputs == {"train": "intersection_0.data"}
    for key, value in {
        "num_trees": 3, "max_depth": 3, "learning_rate": 0.3, "max_bin": 32,
        "objective": "binary:logistic", "l2": 0.1, "l1": 0.05,
        # FATE's tree limits where chaihuo's (XGBoost's) defaults differ
        "min_gain": 1e-3, "min_child_weight": 0, "min_samples_split": 2,
        "colsample_bytree": 0.8, "random_seed": 7,
    }.items():  # fmt: skip
        assert boost.params[key] == value, key
    assert t.job.components["evaluation_0"].inputs == {"data": "hetero_secure_boost_0.predictions"}
    assert _has(t, "conf.component_parameters.common.hetero_secure_boost_0.validation_freqs")
    assert _has(t, "conf.component_parameters.common.hetero_secure_boost_0.encrypt_param")
