"""One party's worker: starts its node, runs every role's component DAG, keeps its report."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chaihuo.components._abort import AbortNotice, tell_peers, watch_peers
from chaihuo.components._audit import UnpickleAudit
from chaihuo.components._lifecycle import Lifecycle
from chaihuo.components._links import Link, open_link
from chaihuo.components._outputs import load_outputs, save_outputs
from chaihuo.components._report import PartyReport, error_code
from chaihuo.components._spec import ComponentError, ComponentSpec, Registry, validate_params
from chaihuo.components._task import ComponentTask, PartyResult, PartyTask, RoleOutcome
from chaihuo.computing import ComputingSession, open_computing
from chaihuo.core import ConfigError, PartyId, Role
from chaihuo.federation import FederationSettings, Party, SerdeCodec
from chaihuo.runtime import (
    CipherSuite,
    Context,
    MetricsSink,
    ProgressRecord,
    Roster,
    SecurityPolicy,
)

__all__ = ["check_security", "main", "run_party"]

_LOG = logging.getLogger("chaihuo.components")


def _gather_inputs(
    spec: ComponentSpec, component: ComponentTask, produced: Mapping[str, Any], role: Role
) -> dict[str, Any]:
    """The inputs this role gets; a typed error naming what is missing, never a KeyError.

    An input whose producer ran on this role but did not hand it this output, or a required
    input that is absent, is refused here; the launcher refuses both at plan time already."""
    inputs: dict[str, Any] = {}
    for name, ref in component.inputs.items():
        source = ref.split(".")[0]
        if ref in produced:
            inputs[name] = produced[ref]
        elif source in produced or name in spec.inputs:
            raise ComponentError(
                f"{component.id} ({spec.name}) on the {role.value} needs input {name!r} from "
                f"{ref}, which this party's {source!r} did not produce for the {role.value}"
            )
    for name in spec.inputs:
        if name not in inputs:
            raise ComponentError(f"{component.id} ({spec.name}) needs input {name!r}")
    return inputs


def _upstream(task: PartyTask, role: Role, computing: ComputingSession) -> dict[str, Any]:
    """Inputs saved by earlier tasks (a node runs each component in its own process) and
    inputs from outside the job (a stored model), keyed as `_run_role` keys what it produced."""
    produced: dict[str, Any] = {}
    own = {component.id for component in task.components}
    if task.upstream_on_disk:
        for component in task.components:
            for ref in component.inputs.values():
                source = ref.split(".")[0]
                folder = task.work_dir / task.party_id / role.value / source
                if source not in own and source not in produced and folder.is_dir():
                    produced[source] = True
                    for name, value in load_outputs(folder, computing).items():
                        produced[f"{source}.{name}"] = value
    for name, file in task.external_inputs.get(role, {}).items():
        produced[f"external.{name}"] = load_outputs(file.directory, computing)[file.output]
    return produced


def _run_role(
    task: PartyTask,
    ctx: Context,
    registry: Registry,
    report: PartyReport,
    produced: dict[str, Any],
) -> None:
    role = ctx.role
    for component in task.components:
        if role not in component.params:
            continue
        spec = registry.get(component.component)
        started = time.perf_counter()
        report.started(component.id, role)
        try:
            params = validate_params(spec, component.params[role], f"{component.id} on {role}")
            inputs = _gather_inputs(spec, component, produced, role)
            inputs.update(
                {n: produced[f"external.{n}"] for n in task.external_inputs.get(role, {})}
            )
            outputs = dict(spec.runners[role](ctx.sub(component.id), params, inputs))
            directory = task.work_dir / task.party_id / role.value / component.id
            outcome = RoleOutcome(
                status="success",
                seconds=time.perf_counter() - started,
                metrics=ctx.metrics_sink.latest(component.id),
                outputs=save_outputs(outputs, directory),
            )
        except BaseException as exc:
            # The task log carries this party's own error in full (it never crosses); a stop
            # or a peer's failure is one line: nothing went wrong here.
            if error_code(exc) == "FEDERATION_CANCELLED" or not isinstance(exc, Exception):
                _LOG.warning("%s stopped on %s: %s", component.id, role.value, exc)
            else:
                _LOG.error("%s failed on %s: %s", component.id, role.value, exc, exc_info=exc)
            report.failed(component.id, role, exc)
            raise
        produced[component.id] = True
        for name, value in outputs.items():
            produced[f"{component.id}.{name}"] = value
        report.succeeded(component.id, role, outcome)


def check_security(security: Mapping[str, Any], profile: str) -> SecurityPolicy:
    """A job's `security:` block as a policy; ConfigError if it is malformed or refused by
    `profile` (e.g. Paillier keys under 2048 bits). The launcher calls this before starting
    any party, and every worker again before it opens its node."""
    try:
        policy = SecurityPolicy.model_validate(dict(security))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(security)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"security: {problems}") from exc
    policy.check_profile(profile)
    return policy


class _PartyRun:
    """One party's run: its link to the peers, one thread per role, and how it stops."""

    def __init__(self, task: PartyTask, registry: Registry) -> None:
        self.task, self.registry = task, registry
        self.directory = task.report_dir or task.work_dir / task.party_id
        self.directory.mkdir(parents=True, exist_ok=True)
        self.report = PartyReport(self.directory, task.party_id)
        self.metrics: MetricsSink | None = None
        self.link: Link | None = None
        self._stop_reason: str | None = None

    def cancel(self, reason: str) -> None:
        """Cancel the job here: every pending receive and send raises at once."""
        if self.link is not None:
            self.link.cancel(reason)

    def stop(self, reason: str) -> None:
        """Told to stop (a signal, or the launcher vanished): record it, then cancel."""
        self._stop_reason = reason
        self.report.stopped(reason)
        self.cancel("a party was stopped")

    def run(self) -> PartyResult:
        """Run every role this party plays, each in a thread sharing one link; never raises."""
        task = self.task
        try:
            policy = check_security(task.security, task.profile)
            roster = Roster.from_mapping(task.roster)
            settings = FederationSettings(
                receive_timeout_s=task.timeout_s, send_timeout_s=task.timeout_s
            )
            # Computing first: Spark forks its JVM, which must happen before gRPC has threads
            computing = open_computing(
                task.computing.backend,
                data_dir=task.work_dir / task.party_id / "data",
                workers=task.computing.workers,
                spark_conf=task.computing.spark_conf,
            )
        except BaseException as exc:
            self.report.failed(None, None, exc)
            return self.report.finish()
        try:
            self.link = link = open_link(task, settings)
        except BaseException as exc:
            computing.stop()
            self.report.failed(None, None, exc)
            return self.report.finish()
        self.metrics = metrics = MetricsSink(self.directory / "metrics.jsonl")
        metrics.on_progress(self._forward_progress)
        try:
            contexts = [
                self._context(
                    link, role, roster, policy=policy, computing=computing, metrics=metrics
                )
                for role in roster.roles_of(PartyId(task.party_id))
            ]
            if self._stop_reason is None:
                if link.announces_failures:
                    watch_peers(contexts[0], self.cancel)
                threads = [
                    threading.Thread(target=self._work, args=(c,), name=str(c.local))
                    for c in contexts
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            for ctx in contexts:
                ctx.cipher.close()
                ctx.federation.close()
        finally:
            computing.stop()
            link.close()
        return self.report.finish()

    def _forward_progress(self, record: ProgressRecord) -> None:
        """Progress of long components to the launcher's console (the job's metrics file has
        them already), with the component's latest training loss when it logs one."""
        component = record.namespace.split(".")[0]
        latest = self.metrics.latest(component) if self.metrics is not None else {}
        extra = {"loss": latest["loss"]} if "loss" in latest else {}
        self.report.emit(
            event="progress",
            component=component,
            stage=record.stage,
            done=record.done,
            total=record.total,
            rate=record.rate,
            eta=record.eta,
            **extra,
        )

    def _context(
        self,
        link: Link,
        role: Role,
        roster: Roster,
        *,
        policy: SecurityPolicy,
        computing: ComputingSession,
        metrics: MetricsSink,
    ) -> Context:
        cipher = CipherSuite(policy)
        local = Party(role, PartyId(self.task.party_id))
        return Context(
            local=local,
            roster=roster,
            federation=link.federation(local, roster, SerdeCodec(keyring=cipher.keyring)),
            computing=computing,
            cipher=cipher,
            metrics=metrics,
            base_dir=self.task.base_dir,
        )

    def _work(self, ctx: Context) -> None:
        try:
            produced = _upstream(self.task, ctx.role, ctx.computing)
            _run_role(self.task, ctx, self.registry, self.report, produced)
        except BaseException as exc:  # recorded by _run_role; peers get the code only
            if error_code(exc) == "FEDERATION_CANCELLED" or self._stop_reason is not None:
                return  # a peer's failure or a stop: whoever caused it tells the others
            if self.link is None or not self.link.announces_failures:
                return  # a node's task: the node tells the partners
            if getattr(exc, "common_verdict", False):
                return  # every party stops on the same verdict it received or decided
            notice = AbortNotice(error_code(exc), self.report.result.component)
            tell_peers(ctx, notice)
            self.cancel(notice.reason(ctx.local))


def run_party(task: PartyTask, registry: Registry) -> PartyResult:
    """Run one party's share of a job in this process; never raises (see `_PartyRun`)."""
    return _PartyRun(task, registry).run()


def main(argv: list[str] | None = None) -> int:
    """`python -m chaihuo.components TASK.json [--parent-pid PID]`: run, keep result.json
    current, exit 0 (success), 1 (failed or canceled by a peer), 128 + N (stopped by signal N)
    or 2 (a crash outside run_party)."""
    from chaihuo.components.builtin import default_registry  # noqa: PLC0415 - entry point only

    args = sys.argv[1:] if argv is None else argv
    os.umask(0o077)  # everything a party writes is private to its user
    task = PartyTask.model_validate_json(Path(args[0]).read_text(encoding="utf-8"))
    parent = int(args[2]) if len(args) == 3 and args[1] == "--parent-pid" else None
    run = _PartyRun(task, default_registry())
    lifecycle = Lifecycle(run.stop, run.report.finish, parent_pid=parent).install()
    audit = UnpickleAudit().install()
    try:
        result = run.run()
    except BaseException:  # run_party reports its own failures; this is a last resort
        traceback.print_exc()
        return 2
    finally:
        audit.write(run.directory / "audit.json")
    if lifecycle.exit_code is not None:
        return lifecycle.exit_code
    return 0 if result.status == "success" else 1
