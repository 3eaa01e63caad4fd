"""SSHE LR's set-up and per-epoch messages as frozen typed records, checked on arrival."""

# Each record crosses as a plain dict of codec types and is rebuilt by `from_wire` from the
# shared checks of chaihuo.ml.vertical.wire, which refuse anything else with a
# ProtocolViolationError naming the message and the field. The set-up messages travel inside
# the shared status envelope (chaihuo.ml.vertical.send_status / receive_status); the per-batch
# values (ciphertexts, masked shares) are single codec values checked where they arrive.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.vertical import wire

__all__ = ["Decision", "HostHello", "Plan"]


@dataclass(frozen=True)
class HostHello:
    """Host → guest: its row digests per data set, its feature count and precision and, with a
    saved model part, that part's number of models and whether its weights are encrypted."""

    digests: dict[str, bytes]
    width: int
    bits: int
    models: int | None = None
    encrypted: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digests": self.digests, "width": self.width, "bits": self.bits}
        if self.models is not None:
            out.update(models=self.models, encrypted=self.encrypted)
        return out

    @classmethod
    def from_wire(cls, obj: object) -> HostHello:
        what = "sshe hello"
        fields = wire.fields(obj, what, ("digests", "width", "bits"), ("models", "encrypted"))
        if (fields["models"] is None) != (fields["encrypted"] is None):
            raise ProtocolViolationError(f"{what}: a model part needs its models and encryption")
        hello = cls(
            wire.digests(fields["digests"], f"{what}.digests"),
            wire.integer(fields["width"], f"{what}.width"),
            wire.integer(fields["bits"], f"{what}.bits"),
        )
        if fields["models"] is None:
            return hello
        models = wire.integer(fields["models"], f"{what}.models", 1)
        encrypted = wire.flag(fields["encrypted"], f"{what}.encrypted")
        return cls(hello.digests, hello.width, hello.bits, models, encrypted)


@dataclass(frozen=True)
class Plan:
    """Guest → host: fit or predict, the number of models (one per OvR class), the batch
    seed, the agreed parameters, the data sets, the data set to score, the guest's width
    (its intercept included) and precision, and whether training continues a saved model."""

    mode: str
    models: int
    seed: int
    protocol: dict[str, Any]
    usages: tuple[str, ...]
    score: str
    width: int
    bits: int
    warm: bool

    def to_wire(self) -> dict[str, Any]:
        return wire.plain(self)

    @classmethod
    def from_wire(cls, obj: object) -> Plan:
        what = "sshe plan"
        fields = wire.fields(obj, what, tuple(cls.__dataclass_fields__))
        return cls(
            wire.text(fields["mode"], f"{what}.mode", ("fit", "predict")),
            wire.integer(fields["models"], f"{what}.models", 1),
            wire.integer(fields["seed"], f"{what}.seed"),
            wire.mapping(fields["protocol"], f"{what}.protocol"),
            wire.usages(fields["usages"], f"{what}.usages"),
            wire.text(fields["score"], f"{what}.score", ("train", "test")),
            wire.integer(fields["width"], f"{what}.width"),
            wire.integer(fields["bits"], f"{what}.bits"),
            wire.flag(fields["warm"], f"{what}.warm"),
        )


@dataclass(frozen=True)
class Decision:
    """Guest → host after each epoch: keep this epoch's weights (best), stop, or the data-free
    reason the guest stopped training (a diverged loss; never the loss value)."""

    best: bool
    stop: bool
    error: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return wire.plain(self)

    @classmethod
    def from_wire(cls, obj: object) -> Decision:
        what = "sshe epoch decision"
        fields = wire.fields(obj, what, ("best", "stop", "error"))
        error = fields["error"]
        return cls(
            wire.flag(fields["best"], f"{what}.best"),
            wire.flag(fields["stop"], f"{what}.stop"),
            None if error is None else wire.text(error, f"{what}.error"),
        )
