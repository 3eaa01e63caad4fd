"""The GLM protocol's messages as frozen typed records, checked field by field on arrival."""

# Each record crosses as a plain dict of codec types and is rebuilt by `from_wire` from the
# shared checks of chaihuo.ml.vertical.wire, which refuse anything else with a
# ProtocolViolationError naming the message and the field. Start-up messages (plan, hello)
# travel as {"ok": true, **fields}, or as a refusal {"ok": false, "error": reason}, which is
# also the shape of the guest's verdict ("go").

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaihuo.crypto.paillier import EncryptedVector, PaillierPublicKey
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.vertical import expect_ciphertexts, wire

__all__ = [
    "Decision",
    "EpochReport",
    "EpochTerms",
    "HostForward",
    "HostHello",
    "Plan",
    "Verdict",
    "opened",
]

_MODES = ("fit", "predict")
_SCORED = ("train", "test")


@dataclass(frozen=True)
class Verdict:
    """A start-up status: ok, or the refusing party's data-free reason (chaihuo.core's
    `shared_reason`). The guest's "go"; a plan or hello that refuses."""

    ok: bool
    error: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return wire.plain(self)

    @classmethod
    def from_wire(cls, obj: object, what: str) -> Verdict:
        fields = wire.fields(obj, what, ("ok", "error"))
        ok = wire.flag(fields["ok"], f"{what}.ok")
        if ok and fields["error"] is not None:
            raise ProtocolViolationError(f"{what}: an error on an accepting verdict")
        return cls(ok, None if ok else wire.text(fields["error"], f"{what}.error"))


def opened(obj: object, what: str) -> Verdict | dict[str, Any]:
    """A start-up message: the sender's refusal, or, when it is ok, its other fields."""
    if not isinstance(obj, dict) or "ok" not in obj:
        raise ProtocolViolationError(f"{what}: expected a start-up message")
    if wire.flag(obj["ok"], f"{what}.ok"):
        return {name: value for name, value in obj.items() if name != "ok"}
    return Verdict.from_wire(obj, what)


@dataclass(frozen=True)
class Plan:
    """Guest → hosts and arbiter: what this run does (fit or predict), the family, the number
    of models (one per OvR class), the batch seed, the agreed parameters, the data sets and
    training rows, the data set to score, a warm start and its epochs done per model."""

    mode: str
    family: str
    models: int
    seed: int
    protocol: dict[str, Any]
    datasets: tuple[str, ...]
    rows: int
    score: str
    warm: bool
    epoch_offsets: tuple[int, ...]

    def to_wire(self) -> dict[str, Any]:
        return wire.plain(self)

    @classmethod
    def from_wire(cls, obj: object) -> Plan:
        what = "glm plan"
        fields = wire.fields(obj, what, tuple(cls.__dataclass_fields__))
        models = wire.integer(fields["models"], f"{what}.models", 1)
        plan = cls(
            wire.text(fields["mode"], f"{what}.mode", _MODES),
            wire.text(fields["family"], f"{what}.family"),
            models,
            wire.integer(fields["seed"], f"{what}.seed"),
            wire.mapping(fields["protocol"], f"{what}.protocol"),
            wire.usages(fields["datasets"], f"{what}.datasets"),
            wire.integer(fields["rows"], f"{what}.rows"),
            wire.text(fields["score"], f"{what}.score", _SCORED),
            wire.flag(fields["warm"], f"{what}.warm"),
            wire.integers(fields["epoch_offsets"], f"{what}.epoch_offsets", models),
        )
        if plan.score not in plan.datasets:
            raise ProtocolViolationError(f"{what}: the data set to score is not in the run")
        return plan

    def differences(self, mine: Mapping[str, Any], role: str) -> list[str]:
        """`name role=… guest=…` for every agreed parameter `mine` sets otherwise."""
        return [
            f"{name} {role}={value!r} guest={self.protocol.get(name)!r}"
            for name, value in mine.items()
            if self.protocol.get(name) != value
        ]


@dataclass(frozen=True)
class HostHello:
    """Host → guest: its row digests per data set, its feature count and, with a saved model
    part, that part's number of models."""

    digests: dict[str, bytes]
    features: int
    models: int | None

    def to_wire(self) -> dict[str, Any]:
        return wire.plain(self)

    @classmethod
    def from_wire(cls, obj: object) -> HostHello:
        what = "glm hello"
        fields = wire.fields(obj, what, ("digests", "features", "models"))
        models = fields["models"]
        return cls(
            wire.digests(fields["digests"], f"{what}.digests"),
            wire.integer(fields["features"], f"{what}.features"),
            None if models is None else wire.integer(models, f"{what}.models", 1),
        )


@dataclass(frozen=True)
class HostForward:
    """Host → guest per batch chunk, under the arbiter's key: [[u_h]] and, for the loss,
    [[Σ u_h²]] (logistic, linear) or [[exp(u_h)]] (poisson)."""

    u: EncryptedVector
    u2: EncryptedVector | None = None
    exp_u: EncryptedVector | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.exp_u is not None:
            return {"u": self.u, "exp_u": self.exp_u}
        return {"u": self.u, "u2": self.u2}

    @classmethod
    def from_wire(
        cls, obj: object, poisson: bool, key: PaillierPublicKey, rows: int
    ) -> HostForward:
        what = "host forward"
        second, length = ("exp_u", rows) if poisson else ("u2", 1)
        fields = wire.fields(obj, what, ("u", second))
        u = expect_ciphertexts(fields["u"], key, f"{what} u", length=rows)
        other = expect_ciphertexts(fields[second], key, f"{what} {second}", length=length)
        return cls(u, exp_u=other) if poisson else cls(u, u2=other)


@dataclass(frozen=True)
class EpochTerms:
    """Host → guest at an epoch's end, under the arbiter's key: [[n · penalty_h]] and, with
    early_stop weight_diff, [[‖Δw_h‖²]]."""

    penalty: EncryptedVector
    change: EncryptedVector | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.change is None:
            return {"penalty": self.penalty}
        return {"penalty": self.penalty, "change": self.change}

    @classmethod
    def from_wire(cls, obj: object, key: PaillierPublicKey, change: bool) -> EpochTerms:
        fields = wire.fields(obj, "epoch terms", ("penalty", "change") if change else ("penalty",))
        penalty = expect_ciphertexts(fields["penalty"], key, "host penalty", length=1)
        if not change:
            return cls(penalty)
        return cls(penalty, expect_ciphertexts(fields["change"], key, "change", length=1))


@dataclass(frozen=True)
class EpochReport:
    """Guest → arbiter at an epoch's end: [[n · loss]] (penalties included), [[‖Δw‖²]] over
    all parties (early_stop weight_diff), and the guest's validation verdict."""

    loss: EncryptedVector
    weight_change: EncryptedVector | None
    improved: bool
    stop: bool

    def to_wire(self) -> dict[str, Any]:
        return wire.plain(self)

    @classmethod
    def from_wire(cls, obj: object, key: PaillierPublicKey) -> EpochReport:
        what = "epoch loss"
        fields = wire.fields(obj, what, ("loss", "weight_change", "improved", "stop"))
        change = fields["weight_change"]
        return cls(
            expect_ciphertexts(fields["loss"], key, f"{what}.loss", length=1),
            None if change is None else expect_ciphertexts(change, key, "weight change", length=1),
            wire.flag(fields["improved"], f"{what}.improved"),
            wire.flag(fields["stop"], f"{what}.stop"),
        )


@dataclass(frozen=True)
class Decision:
    """Arbiter → every party after each epoch: stop, keep this epoch's weights (best) and, to
    the guest only, the epoch loss; or that the loss diverged (everyone stops)."""

    stop: bool
    best: bool
    loss: float | None = None
    diverged: bool = False

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stop": self.stop, "best": self.best}
        if self.diverged:
            out["diverged"] = True
        if self.loss is not None:
            out["loss"] = self.loss
        return out

    @classmethod
    def from_wire(cls, obj: object, guest: bool) -> Decision:
        what = "arbiter decision"
        fields = wire.fields(obj, what, ("stop", "best"), ("diverged", "loss"))
        stop = wire.flag(fields["stop"], f"{what}.stop")
        best = wire.flag(fields["best"], f"{what}.best")
        if fields["diverged"] is not None:
            if fields["diverged"] is not True or fields["loss"] is not None or not stop:
                raise ProtocolViolationError(f"{what}: a malformed divergence")
            return cls(stop, best, diverged=True)
        if (fields["loss"] is not None) != guest:
            raise ProtocolViolationError(f"{what}: the loss goes to the guest alone")
        return cls(stop, best, None if not guest else wire.number(fields["loss"], f"{what}.loss"))
