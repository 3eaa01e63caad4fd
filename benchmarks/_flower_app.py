"""Flower side of horizontal.py: homo_lr's logistic regression as a Flower app (Flower's Python)."""

# Run by a Python that has Flower (flwr 1.42, `flwr[simulation]` for Ray), not by the project's
# environment, whose protobuf 7 Flower does not accept: `python _flower_app.py sim|deploy`. The
# model, data and steps are homo_lr's: weights (1, 23 + 1) on features standardised by the
# union's mean and deviation, one full-batch step of the mean log-loss per round followed by the
# L2 proximal shrink α/s² (intercept unpenalised), FedAvg weighted by rows. Settings come from
# HFL_* environment variables, which Flower's SuperLink and SuperNodes pass on to the app
# processes they start; every record (start, round ends, bytes a client sent, final weights)
# is a JSON line appended to $HFL_LOG.

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import LegacyContext, ServerApp, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.simulation import run_simulation

FILES = (
    "default_credit_homo_guest.csv", "default_credit_homo_host_1.csv",
    "default_credit_homo_host_2.csv",
)  # fmt: skip


def _setting(name: str, default: str) -> str:
    return os.environ.get(f"HFL_{name}", default)


def _record(**fields: Any) -> None:
    with open(_setting("LOG", "flower-log.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"time": time.time(), "pid": os.getpid(), **fields}) + "\n")


@functools.cache
def _part(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of one CSV (columns id, y, x0, ...)."""
    data = np.loadtxt(Path(_setting("DATA", ".")) / name, delimiter=",", skiprows=1, ndmin=2)
    return data[:, 2:], data[:, 1]


@functools.cache
def _scaling() -> tuple[np.ndarray, np.ndarray]:
    """The union's mean and deviation (homo_lr sums them securely at set-up)."""
    union = np.vstack([_part(name)[0] for name in FILES])
    variance = union.var(axis=0)
    return union.mean(axis=0), np.where(variance > 2.0**-14, np.sqrt(variance), 1.0)


def _probabilities(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * (x @ weights[0, :-1] + weights[0, -1])))


def local_step(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """(weights after one full-batch epoch, mean log-loss of the incoming weights)."""
    lr, alpha = float(_setting("LR", "0.5")), float(_setting("ALPHA", "0.001"))
    p = _probabilities(weights, x)
    q = np.clip(p, 1e-15, 1 - 1e-15)
    loss = float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q)))
    residual = p - y
    gradient = np.empty_like(weights)
    gradient[0, :-1] = residual @ x / len(y)
    gradient[0, -1] = residual.mean()
    out = weights - lr * gradient
    out[0, :-1] *= 1.0 / (1.0 + lr * alpha / _scaling()[1] ** 2)
    return out, loss


def to_original(weights: np.ndarray) -> list[float]:
    """Weights on z = (x − μ)/s → weights and intercept on x."""
    mean, scale = _scaling()
    coef = weights[0, :-1] / scale
    return [*coef.tolist(), float(weights[0, -1] - coef @ mean)]


def client_app() -> Any:
    class LrClient(NumPyClient):  # type: ignore[misc]
        def __init__(self, partition: int) -> None:
            mean, scale = _scaling()
            x, self.y = _part(FILES[partition])
            self.x = (x - mean) / scale

        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> Any:
            weights, loss = local_step(np.asarray(parameters[0], dtype=np.float64), self.x, self.y)
            return [weights], len(self.y), {"loss": loss}

    def client_fn(context: Any) -> Any:
        return LrClient(int(context.node_config["partition-id"])).to_client()

    def sizes(msg: Any, ctxt: Any, call_next: Any) -> Any:
        reply = call_next(msg, ctxt)
        sent = sum(record.count_bytes() for record in reply.content.values())
        _record(event="sent", bytes=sent, node=int(ctxt.node_config["partition-id"]))
        return reply

    secure = _setting("SECAGG", "0") == "1"
    return ClientApp(client_fn=client_fn, mods=[sizes, secaggplus_mod] if secure else [sizes])


def server_app() -> Any:
    clients, rounds = int(_setting("CLIENTS", "3")), int(_setting("ROUNDS", "20"))

    class TimedFedAvg(FedAvg):  # type: ignore[misc]
        def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> Any:
            parameters, metrics = super().aggregate_fit(server_round, results, failures)
            _record(event="round", round=server_round, clients=len(results))
            if server_round == rounds and parameters is not None:
                final = np.asarray(parameters_to_ndarrays(parameters)[0], dtype=np.float64)
                _record(event="final", weights=to_original(final.reshape(1, -1)))
            return parameters, metrics

    app = ServerApp()

    @app.main()  # type: ignore[misc]
    def main(grid: Any, context: Any) -> None:
        _record(event="server_start")
        start = np.zeros((1, len(_scaling()[0]) + 1))
        strategy = TimedFedAvg(
            fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=clients,
            min_evaluate_clients=0, min_available_clients=clients,
            initial_parameters=ndarrays_to_parameters([start]),
        )  # fmt: skip
        legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=rounds),
                               strategy=strategy)  # fmt: skip
        fit = None
        if _setting("SECAGG", "0") == "1":
            # Every client holds a share; two of three reconstruct (homo_lr's dropout 0.3 of
            # 3 clients also needs 3 − ⌊0.9⌋ = 3 ≥ 2). Rows up to 10⁵ weigh in unclipped.
            fit = SecAggPlusWorkflow(num_shares=clients, reconstruction_threshold=2,
                                     max_weight=100_000.0)  # fmt: skip
        DefaultWorkflow(fit_workflow=fit)(grid, legacy)

    return app


# The module-level objects Flower's deployment loads (`lrapp:server`, `lrapp:client`).
if os.environ.get("HFL_APP") == "1":
    server = server_app()
    client = client_app()


def simulate() -> None:
    """Flower's Simulation Runtime (Ray backend), all in this process and its Ray workers."""
    _record(event="launch")
    run_simulation(
        server_app=server_app(), client_app=client_app(),
        num_supernodes=int(_setting("CLIENTS", "3")),
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                        "init_args": {"logging_level": "error", "log_to_driver": False}},
    )  # fmt: skip
    _record(event="done")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _await_port(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the SuperLink did not listen on {port} within {timeout_s:.0f} s")


PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "lrapp"
version = "1.0.0"
dependencies = ["flwr==1.42.0", "numpy"]

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "chaihuo-bench"

[tool.flwr.app.components]
serverapp = "lrapp:server"
clientapp = "lrapp:client"

[tool.flwr.app.config]
"""


def deploy(work: Path, timeout_s: float) -> None:
    """SuperLink + one SuperNode per client as processes on loopback (--insecure), `flwr run`."""
    bin_dir = Path(sys.executable).parent
    work.mkdir(parents=True, exist_ok=True)
    app = work / "lrapp"
    app.mkdir()
    shutil.copy(__file__, app / "lrapp.py")
    (app / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    home = work / "flwr-home"
    home.mkdir()
    link = _port()  # since Flower 1.42 one HTTP API: Fleet, Control and ServerAppIo
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "bench"\n\n[superlink.bench]\n'
        f'address = "127.0.0.1:{link}"\ninsecure = true\n',
        encoding="utf-8",
    )
    env = {**os.environ, "FLWR_HOME": str(home), "HFL_APP": "1", "PYTHONUNBUFFERED": "1",
           "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}  # fmt: skip
    log = (work / "processes.log").open("ab")
    procs: list[subprocess.Popen[bytes]] = []

    def start(*argv: str) -> None:
        procs.append(subprocess.Popen([str(bin_dir / argv[0]), *argv[1:]], env=env, cwd=work,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))  # fmt: skip

    _record(event="launch")
    try:
        start("flower-superlink", "--insecure", "--host", "127.0.0.1", "--port", str(link))
        for partition in range(int(_setting("CLIENTS", "3"))):
            start("flower-supernode", "--insecure", "--superlink", f"127.0.0.1:{link}",
                  "--host", "127.0.0.1", "--port", str(_port()), "--node-config",
                  f"partition-id={partition}")  # fmt: skip
        _await_port(link, procs[0], timeout_s=60.0)
        submitted = subprocess.run(
            [str(bin_dir / "flwr"), "run", str(app), "bench", "--stream"], env=env, cwd=work,
            stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False,
        )  # fmt: skip
        _record(event="done", rc=submitted.returncode)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("sim", "deploy"))
    parser.add_argument("--work", type=Path, help="deploy: a fresh folder for its files")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    if args.mode == "sim":
        simulate()
    else:
        deploy(args.work, args.timeout)
    return 0


if __name__ == "__main__":
    # Ray pickles the apps' functions by module: load them as `_flower_app`, not `__main__`.
    here = str(Path(__file__).resolve().parent)
    sys.path.insert(0, here)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    import _flower_app

    sys.exit(_flower_app.main())
