"""`node.yaml`: one party's node — addresses, peers and their trust, store, folders, policy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chaihuo.components import ComputingPlan
from chaihuo.core import ConfigError, parse_party_id

__all__ = ["NodeFileConfig", "PeerConfig", "load_node_config", "starter_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListenConfig(_Strict):
    """Where the node listens."""

    grpc: str = Field("0.0.0.0:9370", description="Federation + control (mutual TLS).")
    http: str = Field("127.0.0.1:9380", description="REST API (and later board, serving).")


class TlsFiles(_Strict):
    """This node's certificate and the roots it trusts."""

    ca: Path = Field(description="PEM of the CA(s) this node trusts; several may be concatenated.")
    cert: Path = Field(description="This party's certificate (CN = party id).")
    key: Path = Field(description="This party's private key (mode 0600).")
    denylist: Path | None = Field(None, description="Revoked serials, hex, one per line.")


class PeerConfig(_Strict):
    """A partner's node: where it is, and whose signature its certificate must carry."""

    address: str = Field(description="host:port of the partner's gRPC port.")
    ca: Path | None = Field(
        None, description="The partner organisation's CA root (per-organisation CAs)."
    )


class ComputingConfig(_Strict):
    """The computing backend of this party's tasks."""

    backend: str = Field(
        "local", description="'local' (a process pool) or a Spark master: spark://host:7077, "
        "yarn, k8s://..., local[N] (Spark inside each task process)."
    )  # fmt: skip
    workers: int = Field(
        0, ge=0, le=4096, description="Local processes (0: one per core) or Spark partitions."
    )
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings.")

    @field_validator("backend")
    @classmethod
    def _known(cls, value: str) -> str:
        return ComputingPlan.check_backend(value)

    def plan(self) -> ComputingPlan:
        """What each task process of this node is told to compute on."""
        return ComputingPlan(backend=self.backend, workers=self.workers,
                             spark_conf=self.spark_conf)  # fmt: skip


class RestConfig(_Strict):
    """The REST API's access control."""

    auth: bool = Field(True, description="Require a token on every call (prod: always).")


class NodeFileConfig(_Strict):
    """Everything `chaihuo node start` needs; unknown keys are errors."""

    party_id: str
    profile: Literal["dev", "prod"] = "prod"
    listen: ListenConfig = ListenConfig()
    tls: TlsFiles | None = Field(None, description="Required unless insecure (dev only).")
    insecure: bool = Field(False, description="Plaintext gRPC: the dev profile only.")
    peers: dict[str, PeerConfig] = Field(default_factory=dict)
    data_dir: Path = Field(Path("chaihuo-node"), description="Tables, task outputs, models.")
    store: str | None = Field(None, description="SQLAlchemy URL (default: SQLite in data_dir).")
    computing: ComputingConfig = ComputingConfig()
    max_concurrent_tasks: int = Field(4, ge=1, le=1024)
    permissions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Partner party id → components it may start here (['*'] for all). "
        "A partner not listed may start nothing.",
    )
    rest: RestConfig = RestConfig()
    job_timeout_s: float = Field(86_400.0, gt=0, description="Default job-level timeout.")

    @field_validator("party_id")
    @classmethod
    def _party(cls, value: str) -> str:
        return str(parse_party_id(value))

    @field_validator("peers", "permissions", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        return {} if value is None else value  # a key left with only commented examples

    @field_validator("peers", "permissions")
    @classmethod
    def _party_keys(cls, value: dict[str, object]) -> dict[str, object]:
        for key in value:
            parse_party_id(key)
        return value

    @model_validator(mode="after")
    def _profile(self) -> NodeFileConfig:
        if self.profile == "prod":
            if self.insecure or self.tls is None:
                raise ValueError("the prod profile refuses to start without TLS (tls: ...)")
            if not self.rest.auth:
                raise ValueError("the prod profile refuses to start without REST auth")
        elif self.tls is None and not self.insecure:
            raise ValueError("give tls: ... or, in the dev profile, insecure: true")
        return self

    def resolved(self, base: Path) -> NodeFileConfig:
        """Relative paths taken relative to `base` (the config file's folder)."""

        def at(path: Path | None) -> Path | None:
            return None if path is None else (path if path.is_absolute() else base / path)

        tls = self.tls
        if tls is not None:
            tls = TlsFiles(ca=at(tls.ca), cert=at(tls.cert), key=at(tls.key),
                           denylist=at(tls.denylist))  # fmt: skip
        peers = {
            pid: peer.model_copy(update={"ca": at(peer.ca)}) for pid, peer in self.peers.items()
        }
        return self.model_copy(update={"tls": tls, "peers": peers, "data_dir": at(self.data_dir)})

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL."""
        return self.store or f"sqlite:///{(self.data_dir / 'node.db').resolve()}"

    def may_start(self, partner: str, component: str) -> bool:
        """Whether `partner` may start `component` on this node (the permission policy)."""
        allowed = self.permissions.get(partner, [])
        return "*" in allowed or component in allowed


def load_node_config(path: Path) -> NodeFileConfig:
    """Parse and check `node.yaml` (safe loader; relative paths against its folder)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read node configuration {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a node configuration is a YAML mapping")
    try:
        config = NodeFileConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(node)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
    return config.resolved(path.parent.resolve())


def starter_config(party_id: str) -> str:
    """A commented node.yaml to start from (`chaihuo node init`)."""
    return f"""\
# chaihuo node configuration for party {party_id}. Unknown keys are errors.
party_id: "{party_id}"
profile: prod                 # prod refuses plaintext gRPC and REST without tokens
listen:
  grpc: 0.0.0.0:9370          # federation + control, mutual TLS; partners connect here
  http: 127.0.0.1:9380        # REST API (chaihuo job/data/model ...); put HTTPS in front of it
tls:                          # `chaihuo cert issue --party {party_id}` writes these
  ca: pki/{party_id}/ca.pem         # the federation CA, or your organisation's (peers.*.ca)
  cert: pki/{party_id}/{party_id}.pem
  key: pki/{party_id}/{party_id}-key.pem
peers:                        # partner party id -> its node; `ca`: its organisation's root
  # "10000": {{address: partner.example.org:9370, ca: pki/partner-10000-ca.pem}}
data_dir: chaihuo-{party_id}          # uploaded tables, task outputs, models, node.db
# store: postgresql+psycopg://user@db/chaihuo   # default: SQLite (WAL) in data_dir
computing: {{backend: local, workers: 0}}       # 0: one process per core; or a Spark master
max_concurrent_tasks: 4
permissions:                  # which partner may start which components on this node
  # "10000": [reader, psi, hetero_lr, evaluation]   # or ["*"]; unlisted partners: nothing
rest: {{auth: true}}
"""
