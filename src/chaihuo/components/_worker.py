"""One party's worker process: starts its node, runs every role's component DAG, reports JSON."""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chaihuo.components._audit import UnpickleAudit
from chaihuo.components._outputs import save_outputs
from chaihuo.components._spec import Registry, validate_params
from chaihuo.components._task import PartyResult, PartyTask, RoleOutcome
from chaihuo.computing import LocalComputing
from chaihuo.core import ChaihuoError, ConfigError, PartyId, Role
from chaihuo.federation import (
    FederationSettings,
    GrpcNode,
    NodeConfig,
    Party,
    SerdeCodec,
    TlsConfig,
)
from chaihuo.runtime import CipherSuite, Context, MetricsSink, Roster, SecurityPolicy

__all__ = ["check_security", "main", "run_party"]


class _Events:
    """Progress events (JSON lines) the launcher tails to show what each party is doing."""

    def __init__(self, path: Path) -> None:
        self._path, self._lock = path, threading.Lock()

    def emit(self, **event: Any) -> None:
        with self._lock, self._path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"time": time.time(), **event}) + "\n")


def _node(task: PartyTask, settings: FederationSettings) -> GrpcNode:
    plan = task.federation
    tls = None
    if not plan.insecure:
        if plan.ca_cert is None or plan.cert is None or plan.key is None:
            raise ChaihuoError("mutual TLS needs ca_cert, cert and key for this party")
        tls = TlsConfig(ca_cert=plan.ca_cert, cert=plan.cert, key=plan.key)
    config = NodeConfig(
        party_id=task.party_id,
        listen=plan.listen,
        tls=tls,
        insecure=plan.insecure,
        profile=task.profile,
        settings=settings,
    )
    return GrpcNode(config).start()


def _run_role(
    task: PartyTask,
    ctx: Context,
    registry: Registry,
    events: _Events,
    outcomes: dict[str, RoleOutcome],
) -> None:
    produced: dict[str, Any] = {}
    role = ctx.role
    for component in task.components:
        if role not in component.params:
            continue
        spec = registry.get(component.component)
        started = time.perf_counter()
        events.emit(component=component.id, role=role.value, event="start")
        try:
            params = validate_params(spec, component.params[role], f"{component.id} on {role}")
            inputs = {
                name: produced[ref] for name, ref in component.inputs.items() if ref in produced
            }
            sub = ctx.sub(component.id)
            outputs = dict(spec.runners[role](sub, params, inputs))
        except BaseException as exc:
            seconds = time.perf_counter() - started
            message = f"{type(exc).__name__}: {exc}"
            outcomes[component.id] = RoleOutcome(status="failed", error=message, seconds=seconds)
            events.emit(component=component.id, role=role.value, event="failed", error=message)
            raise
        for name, value in outputs.items():
            produced[f"{component.id}.{name}"] = value
        directory = task.work_dir / task.party_id / role.value / component.id
        outcomes[component.id] = RoleOutcome(
            status="success",
            seconds=time.perf_counter() - started,
            metrics=ctx.metrics_sink.latest(component.id),
            outputs=save_outputs(outputs, directory),
        )
        events.emit(component=component.id, role=role.value, event="success")


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


def run_party(task: PartyTask, registry: Registry) -> PartyResult:
    """Run every role this party plays, each in a thread sharing one node; never raises."""
    events = _Events(task.work_dir / task.party_id / "events.jsonl")
    result = PartyResult(party_id=task.party_id, status="success")
    try:
        policy = check_security(task.security, task.profile)
        roster = Roster.from_mapping(task.roster)
        settings = FederationSettings(
            receive_timeout_s=task.timeout_s, send_timeout_s=task.timeout_s
        )
        node = _node(task, settings)
    except BaseException as exc:
        return PartyResult(party_id=task.party_id, status="failed", error=_describe(exc))
    metrics = MetricsSink(task.work_dir / task.party_id / "metrics.jsonl")
    computing = LocalComputing(task.work_dir / task.party_id / "data")
    errors: list[BaseException] = []
    try:
        contexts = []
        for role in roster.roles_of(PartyId(task.party_id)):
            cipher = CipherSuite(policy)
            local = Party(role, PartyId(task.party_id))
            federation = node.federation(
                task.job_id,
                local,
                list(roster),
                task.federation.addresses,
                codec=SerdeCodec(keyring=cipher.keyring),
                settings=settings,
            )
            contexts.append(
                Context(
                    local=local,
                    roster=roster,
                    federation=federation,
                    computing=computing,
                    cipher=cipher,
                    metrics=metrics,
                    base_dir=task.base_dir,
                )
            )
        outcomes: dict[Role, dict[str, RoleOutcome]] = {}

        def work(ctx: Context) -> None:
            try:
                _run_role(task, ctx, registry, events, outcomes.setdefault(ctx.role, {}))
            except BaseException as exc:
                errors.append(exc)
                reason = f"{ctx.local} failed: {_describe(exc)}"
                _tell_peers(ctx, reason)
                node.cancel_job(task.job_id, reason)

        _watch_peers(contexts[0], lambda reason: node.cancel_job(task.job_id, reason))

        threads = [threading.Thread(target=work, args=(c,), name=str(c.local)) for c in contexts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for ctx in contexts:
            ctx.cipher.close()
            ctx.federation.close()
        result.components = _by_component(outcomes)
    finally:
        computing.stop()
        node.stop(grace=1.0)
    if errors:
        result.status, result.error = "failed", _describe(errors[0])
    return result


_ABORT_TAG = "chaihuo-control.abort"
_ABORT_SEND_S = 5.0


def _remote_parties(ctx: Context) -> list[Party]:
    return [p for p in ctx.roster if p.party_id != ctx.local.party_id]


def _tell_peers(ctx: Context, reason: str) -> None:
    """Best effort: tell every other party why this one stopped, so they fail with the cause
    instead of waiting for their receive deadline (bounded: a dead peer must not hold us)."""
    targets = {p.party_id: p for p in reversed(_remote_parties(ctx))}
    if not targets:
        return
    sender = threading.Thread(
        target=lambda: ctx.federation.remote(reason, _ABORT_TAG, list(targets.values())),
        name="abort-notice",
        daemon=True,
    )
    sender.start()
    sender.join(_ABORT_SEND_S)


def _watch_peers(ctx: Context, cancel: Any) -> None:
    """One daemon thread per remote party: an abort notice cancels this node's job."""
    firsts: dict[str, Party] = {}
    for party in ctx.roster:
        firsts.setdefault(party.party_id, party)
    if firsts.get(ctx.local.party_id) != ctx.local:
        return

    def watch(peer: Party) -> None:
        try:
            reason = ctx.federation.get(_ABORT_TAG, [peer])[0]
        except BaseException:  # the job ended (federation closed) or was cancelled
            return
        cancel(f"cancelled because {reason}")

    for peer in _remote_parties(ctx):
        threading.Thread(target=watch, args=(peer,), name=f"watch-{peer}", daemon=True).start()


def _by_component(
    outcomes: dict[Role, dict[str, RoleOutcome]],
) -> dict[str, dict[Role, RoleOutcome]]:
    merged: dict[str, dict[Role, RoleOutcome]] = {}
    for role, per_component in outcomes.items():
        for component_id, outcome in per_component.items():
            merged.setdefault(component_id, {})[role] = outcome
    return merged


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    prefix = f"[{code}] " if isinstance(code, str) else ""
    return f"{prefix}{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    """`python -m chaihuo.components.worker TASK.json`: run, write result.json, exit 0 or 1."""
    from chaihuo.components.builtin import default_registry  # noqa: PLC0415 - entry point only

    args = sys.argv[1:] if argv is None else argv
    task = PartyTask.model_validate_json(Path(args[0]).read_text(encoding="utf-8"))
    audit = UnpickleAudit().install()
    try:
        result = run_party(task, default_registry())
    except BaseException:  # run_party reports its own failures; this is a last resort
        traceback.print_exc()
        return 2
    finally:
        audit.write(task.work_dir / task.party_id / "audit.json")
    out = task.work_dir / task.party_id / "result.json"
    out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return 0 if result.status == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
