"""Open a party's computing session from one backend string: embedded local, or Spark (lazily)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from chaihuo.computing._local import LocalComputing
from chaihuo.computing._session import ComputingSession
from chaihuo.core import ConfigError

__all__ = ["check_backend", "open_computing"]

_SPARK_SCHEMES = ("spark://", "k8s://", "mesos://", "local[", "spark:local")


def check_backend(backend: str) -> str:
    """`backend` if it names a backend this factory can open (without opening it), else a
    ConfigError listing the accepted forms."""
    if backend in {"local", "embedded"} or backend == "yarn" or backend.startswith(_SPARK_SCHEMES):
        return backend
    raise ConfigError(
        "computing backend must be 'local' or a Spark master "
        "(spark://host:port, yarn, k8s://..., local[N])",
        backend=backend,
    )


def open_computing(
    backend: str = "local",
    *,
    data_dir: str | Path,
    workers: int = 0,
    session_id: str | None = None,
    storable: Iterable[object] = (),
    spark_conf: Mapping[str, str] | None = None,
    warehouse: str | None = None,
) -> ComputingSession:
    """The computing session a party's runtime exposes as ``ctx.computing``.

    ``backend`` is ``"local"`` (the embedded default: a process pool of ``workers``
    processes, 0 meaning one per core) or a Spark master: ``spark://host:7077``, ``yarn``,
    ``k8s://...`` or ``local[N]`` (Spark in this process, for tests); ``spark:local[N]`` is
    accepted too. ``data_dir`` is the party's data directory (tables live under it);
    ``warehouse`` overrides where Spark saves tables (e.g. ``hdfs://...``).
    """
    if check_backend(backend) in {"local", "embedded"}:
        return LocalComputing(data_dir, workers=workers, session_id=session_id, storable=storable)
    from chaihuo.computing._spark import SparkComputing  # noqa: PLC0415 - only when asked for

    master = backend.removeprefix("spark:") if backend.startswith("spark:local") else backend
    return SparkComputing(
        master,
        data_dir=data_dir,
        warehouse=warehouse,
        conf=spark_conf,
        default_partitions=workers or None,
        session_id=session_id,
        storable=storable,
    )
