"""The CLI's job, data, model, user and node-status commands against a served node (real HTTP)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))  # the API tests' harness and twin

from _api_harness import JOB_YAML, Node, running_node

from chaihuo.cli import app
from chaihuo.cli._node_client import node_status_command
from chaihuo.core import ConfigError, error_spec

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with running_node(tmp_path_factory.mktemp("cli-node")) as served:
        yield served


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")  # rich tables unwrapped


def run(node: Node, *args: str, admin: bool = False, token: str | None = None) -> tuple[int, str]:
    chosen = token or (node.admin_token if admin else node.user_token)
    result = RUNNER.invoke(app, [*args, "--url", node.url, "--token", chosen])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def submit(node: Node, tmp_path: Path) -> str:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(JOB_YAML)
    code, out = run(node, "job", "submit", str(job_file), "--json")
    assert code == 0, out
    job_id: str = json.loads(out)["job_id"]
    return job_id


def test_job_submit_list_show_logs_metrics_dag(node: Node, tmp_path: Path) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(JOB_YAML)
    code, out = run(node, "job", "submit", str(job_file), "--request-id", "cli-1")
    assert code == 0 and "submitted job" in out and "running" in out
    job_id = out.split("submitted job ")[1].split()[0]
    node.twin.finish(job_id, "success")
    code, out = run(node, "job", "list")
    assert code == 0 and job_id in out and "twin-lr" in out
    code, out = run(node, "job", "list", "--state", "success", "--json")
    assert code == 0 and {j["state"] for j in json.loads(out)} == {"success"}
    code, out = run(node, "job", "show", job_id)
    assert code == 0 and "psi_0" in out and "guest 9999" in out and "host/arbiter 10000" in out
    code, out = run(node, "job", "logs", job_id, "--component", "lr_0")
    assert code == 0 and "lr_0: success" in out and "psi_0" not in out
    code, out = run(node, "job", "metrics", job_id)
    assert code == 0 and "auc" in out and "0.98" in out
    code, out = run(node, "job", "dag", job_id)
    assert code == 0 and "data ← reader_0.data" in out and "hetero_lr" in out
    code, out = run(node, "job", "dag", job_id, "--json")
    assert code == 0 and len(json.loads(out)["edges"]) == 2


def test_job_submit_wait_shows_progress_and_exits_by_state(node: Node, tmp_path: Path) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(JOB_YAML)
    for state, exit_code in (("success", 0), ("failed", 1)):
        rid = f"wait-{state}"
        job_id = node.client(admin=False).submit_job(JOB_YAML, request_id=rid).job_id
        timer = threading.Timer(0.4, node.twin.finish, args=(job_id, state))
        timer.start()
        args = ("job", "submit", str(job_file), "--wait", "--poll", "0.05", "--request-id", rid)
        code, out = run(node, *args)
        timer.join()
        assert code == exit_code, out
        assert f"job {job_id}" in out and "lr_0" in out and "10000" in out and state in out
        assert ("auc" in out) == (state == "success")


def test_job_stop_rerun_and_logs_follow(node: Node, tmp_path: Path) -> None:
    job_id = submit(node, tmp_path)
    code, out = run(node, "job", "stop", job_id)
    assert code == 0 and "canceled" in out
    code, out = run(node, "job", "stop", job_id)
    assert code == error_spec("CONFLICT").exit_code and "CONFLICT" in out and "409" in out
    code, out = run(node, "job", "rerun", job_id)
    assert code == 0 and "attempt 2" in out
    threading.Timer(0.3, node.twin.finish, args=(job_id, "success")).start()
    code, out = run(node, "job", "logs", job_id, "--follow", "--poll", "0.05")
    assert code == 0 and "reader_0: started" in out and "lr_0: success" in out


def test_errors_exit_with_the_catalog_code(node: Node, tmp_path: Path) -> None:
    code, out = run(node, "job", "show", "job9999")
    assert code == error_spec("NOT_FOUND").exit_code and "NOT_FOUND" in out
    code, out = run(node, "job", "list", token="chh_wrong")
    assert code == error_spec("UNAUTHENTICATED").exit_code and "refused: unknown" in out
    code, out = run(node, "user", "list")  # alice is no admin
    assert code == error_spec("FORBIDDEN").exit_code and "FORBIDDEN" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nparties: {}\ncomponents: {}\nextra: 1\n")
    code, out = run(node, "job", "submit", str(bad))
    assert code == error_spec("JOB_INVALID").exit_code and "JOB_INVALID" in out
    result = RUNNER.invoke(app, ["job", "submit"])
    assert result.exit_code == 2 and "give one of" in result.output


def test_connection_settings_come_from_the_environment(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAIHUO_CLIENT__URL", node.url)
    monkeypatch.setenv("CHAIHUO_CLIENT__TOKEN", node.user_token)
    result = RUNNER.invoke(app, ["user", "whoami"])
    assert result.exit_code == 0 and "alice" in result.output
    monkeypatch.delenv("CHAIHUO_CLIENT__URL")
    result = RUNNER.invoke(app, ["user", "whoami"])
    assert isinstance(result.exception, ConfigError) and "--url" in str(result.exception)


def test_data_upload_list_show_download_delete(node: Node, tmp_path: Path) -> None:
    source = tmp_path / "breast.csv"
    source.write_text(
        "id,x0,x1,y\n" + "".join(f"{i},{i / 10},{i % 3},{i % 2}\n" for i in range(50))
    )
    args = ("--namespace", "exp", "--name", "breast", "--id", "id", "--label", "y")
    code, out = run(node, "data", "upload", str(source), *args)
    assert code == 0 and "exp/breast" in out and "50 rows" in out and "(label)" in out
    code, out = run(node, "data", "upload", str(source), *args)
    assert code == error_spec("CONFLICT").exit_code
    code, out = run(node, "data", "upload", str(source), *args, "--replace", "--json")
    assert code == 0 and json.loads(out)["rows"] == 50
    code, out = run(node, "data", "list")
    assert code == 0 and "exp/breast" in out
    code, out = run(node, "data", "show", "exp/breast")
    assert code == 0 and "x1" in out
    target = tmp_path / "copy.csv"
    code, out = run(node, "data", "download", "exp/breast", "--output", str(target))
    assert code == 0 and target.read_bytes() == source.read_bytes()
    code, out = run(node, "data", "delete", "exp/breast", "--yes")
    assert code == 0 and "deleted exp/breast" in out
    code, out = run(node, "data", "show", "exp-breast")
    assert code == 2 and "NAMESPACE/NAME" in out


def test_model_list_show_export_import(node: Node, tmp_path: Path) -> None:
    job_id = submit(node, tmp_path)
    node.twin.finish(job_id, "success")
    model_id = f"{job_id}/lr_0"
    code, out = run(node, "model", "list")
    assert code == 0 and model_id in out
    code, out = run(node, "model", "show", model_id)
    assert code == 0 and "weights.npz" in out
    archive = tmp_path / "m.zip"
    code, out = run(node, "model", "export", model_id, "--output", str(archive))
    assert code == 0 and archive.stat().st_size > 0
    del node.twin.models[model_id]
    code, out = run(node, "model", "import", str(archive), "--json")
    assert code == 0 and json.loads(out)["model_id"] == model_id


def test_users_and_tokens(node: Node) -> None:
    code, out = run(node, "user", "create", "dave", admin=True)
    assert code == 0 and "created user dave" in out
    code, out = run(node, "user", "list", admin=True)
    assert code == 0 and "dave" in out and "root" in out
    code, out = run(node, "user", "token", "create", "dave", "--label", "laptop", admin=True)
    assert code == 0
    secret = out.strip().splitlines()[-1]
    code, out = run(node, "user", "whoami", token=secret)
    assert code == 0 and out.strip() == "dave"
    code, out = run(node, "user", "token", "list", "--user", "dave", "--json", admin=True)
    tokens = json.loads(out)
    assert code == 0 and [t["label"] for t in tokens] == ["laptop"] and secret not in out
    code, out = run(node, "user", "token", "revoke", tokens[0]["token_id"], admin=True)
    assert code == 0 and "revoked" in out
    code, out = run(node, "user", "whoami", token=secret)
    assert code == error_spec("UNAUTHENTICATED").exit_code and "revoked" in out
    code, out = run(node, "user", "delete", "dave", "--yes", admin=True)
    assert code == 0 and "deleted user dave" in out


def test_node_status_command(node: Node) -> None:
    host = typer.Typer()
    host.command("status")(node_status_command)
    host.command("other")(lambda: None)  # a group, as the integrator's `node` sub-app is
    result = RUNNER.invoke(host, ["status", "--url", node.url, "--token", node.user_token])
    assert result.exit_code == 0, result.output
    assert "party 9999" in result.output and "10000" in result.output
    result = RUNNER.invoke(host, ["status", "--url", node.url, "--token", "x", "--json"])
    assert result.exit_code == error_spec("UNAUTHENTICATED").exit_code


FATE = Path(__file__).parents[1] / "flow" / "fate"


@pytest.mark.parametrize(
    "inputs",
    [
        ("--fate-dsl", "v2_hetero_lr_dsl.json", "--fate-conf", "v2_hetero_lr_conf.json"),
        ("--fate-dsl", "v1_hetero_lr_dsl.json", "--fate-conf", "v1_hetero_lr_conf.json"),
        ("--kubefate", "kubefate_fatejob.yaml"),
    ],
)
def test_fate_inputs_are_translated_on_the_client(node: Node, inputs: tuple[str, ...]) -> None:
    args = [str(FATE / item) if item.endswith((".json", ".yaml")) else item for item in inputs]
    code, out = run(node, "job", "submit", *args, "--json")
    assert code == 0, out
    job = json.loads(out[out.index("{") :])  # any "not translated" notes come first
    assert node.twin.jobs[job["job_id"]].name == job["name"]
    assert set(job["parties"]) >= {"guest", "host"}


def test_fate_inputs_go_together(node: Node) -> None:
    only_dsl = ("--fate-dsl", str(FATE / "v2_hetero_lr_dsl.json"))
    code, out = run(node, "job", "submit", *only_dsl)
    assert code == 2 and "--fate-conf" in out
    both = ("--kubefate", str(FATE / "kubefate_fatejob.yaml"), str(FATE / "seed_dsl.json"))
    code, out = run(node, "job", "submit", *both)
    assert code == 2 and "give one of" in out
