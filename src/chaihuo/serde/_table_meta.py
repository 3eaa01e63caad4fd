"""Table metadata that parties exchange: where a table lives, how it is split, its schema."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaihuo.serde._errors import SerdeError

__all__ = ["TableMeta"]


@dataclass(frozen=True, slots=True)
class TableMeta:
    """Namespace, name, partition count, row count and a column schema (name -> dtype)."""

    namespace: str
    name: str
    partitions: int
    count: int = -1
    schema: dict[str, str] = field(default_factory=dict)

    def to_wire(self) -> dict[str, object]:
        """Plain dict of primitives for encoding."""
        return {
            "namespace": self.namespace,
            "name": self.name,
            "partitions": self.partitions,
            "count": self.count,
            "schema": dict(self.schema),
        }

    @classmethod
    def from_wire(cls, raw: object) -> TableMeta:
        """Validate and rebuild from the decoded dict."""
        if not isinstance(raw, dict) or set(raw) != {
            "namespace",
            "name",
            "partitions",
            "count",
            "schema",
        }:
            raise SerdeError("table metadata must carry exactly its five fields")
        schema = raw["schema"]
        if not (
            isinstance(raw["namespace"], str)
            and isinstance(raw["name"], str)
            and isinstance(raw["partitions"], int)
            and isinstance(raw["count"], int)
            and isinstance(schema, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in schema.items())
        ):
            raise SerdeError("table metadata fields have the wrong types")
        if raw["partitions"] < 1:
            raise SerdeError("table metadata needs at least one partition")
        return cls(raw["namespace"], raw["name"], raw["partitions"], raw["count"], dict(schema))
