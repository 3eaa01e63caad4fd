"""Store operations on the registries of this party's data tables and model parts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaihuo.flow.store._errors import ConflictError, NotFoundError
from chaihuo.flow.store._records import ModelRecord, TableRecord, check_json_text
from chaihuo.flow.store._schema import ModelRow, TableRow
from chaihuo.flow.store._sql import check_key

__all__ = [
    "delete_model",
    "delete_table",
    "get_model",
    "get_table",
    "list_models",
    "list_tables",
    "register_model",
    "register_table",
]

_TABLE_FIELDS = (
    "path",
    "format",
    "id_column",
    "label_column",
    "schema_json",
    "rows",
    "sha256",
    "created_at",
)
_MODEL_FIELDS = ("kind", "version", "sha256", "path", "created_at")


def _table(row: TableRow) -> TableRecord:
    return TableRecord(
        namespace=row.namespace,
        name=row.name,
        path=row.path,
        format=row.format,
        id_column=row.id_column,
        label_column=row.label_column,
        schema_json=row.schema_json,
        rows=row.rows,
        sha256=row.sha256,
        created_at=row.created_at,
    )


def _model(row: ModelRow) -> ModelRecord:
    return ModelRecord(
        job_id=row.job_id,
        component=row.component,
        role=row.role,
        kind=row.kind,
        version=row.version,
        sha256=row.sha256,
        path=row.path,
        created_at=row.created_at,
    )


def _table_row(session: Session, namespace: str, name: str) -> TableRow:
    row = session.get(TableRow, (namespace, name))
    if row is None:
        raise NotFoundError(f"no table {namespace}/{name}", namespace=namespace, name=name)
    return row


def register_table(session: Session, table: TableRecord, replace: bool) -> TableRecord:
    """Register a table; ConflictError if `namespace/name` exists, unless `replace`."""
    check_key(table.namespace, "namespace")
    check_key(table.name, "name")
    check_json_text(table.schema_json, "schema_json")
    row = session.get(TableRow, (table.namespace, table.name))
    if row is not None and not replace:
        raise ConflictError(
            f"table {table.namespace}/{table.name} already exists",
            namespace=table.namespace,
            name=table.name,
        )
    if row is None:
        row = TableRow(namespace=table.namespace, name=table.name)
        session.add(row)
    for field in _TABLE_FIELDS:
        setattr(row, field, getattr(table, field))
    session.flush()
    return _table(row)


def get_table(session: Session, namespace: str, name: str) -> TableRecord:
    """One table, or NotFoundError."""
    return _table(_table_row(session, namespace, name))


def list_tables(session: Session, namespace: str | None) -> list[TableRecord]:
    """Tables by namespace then name, optionally of one namespace."""
    query = select(TableRow)
    if namespace is not None:
        query = query.where(TableRow.namespace == namespace)
    query = query.order_by(TableRow.namespace, TableRow.name)
    return [_table(row) for row in session.scalars(query)]


def delete_table(session: Session, namespace: str, name: str) -> TableRecord:
    """Unregister a table and return what it was (its file is the caller's to remove)."""
    row = _table_row(session, namespace, name)
    record = _table(row)
    session.delete(row)
    return record


def register_model(session: Session, model: ModelRecord, replace: bool) -> ModelRecord:
    """Register one model part; ConflictError if (job, component, role) exists, unless `replace`."""
    for field in ("job_id", "component", "role"):
        check_key(getattr(model, field), field)
    key = (model.job_id, model.component, model.role)
    row = session.get(ModelRow, key)
    if row is not None and not replace:
        raise ConflictError(
            f"model {model.model_id} already has a {model.role} part",
            model_id=model.model_id,
            role=model.role,
        )
    if row is None:
        row = ModelRow(job_id=model.job_id, component=model.component, role=model.role)
        session.add(row)
    for field in _MODEL_FIELDS:
        setattr(row, field, getattr(model, field))
    session.flush()
    return _model(row)


def get_model(session: Session, job_id: str, component: str, role: str) -> ModelRecord:
    """One model part, or NotFoundError."""
    row = session.get(ModelRow, (job_id, component, role))
    if row is None:
        raise NotFoundError(
            f"no {role} part of model {job_id}/{component}", model_id=f"{job_id}/{component}"
        )
    return _model(row)


def list_models(
    session: Session, job_id: str | None, component: str | None, role: str | None
) -> list[ModelRecord]:
    """Model parts, by job, component and role, optionally filtered on each."""
    query = select(ModelRow)
    if job_id is not None:
        query = query.where(ModelRow.job_id == job_id)
    if component is not None:
        query = query.where(ModelRow.component == component)
    if role is not None:
        query = query.where(ModelRow.role == role)
    query = query.order_by(ModelRow.job_id, ModelRow.component, ModelRow.role)
    return [_model(row) for row in session.scalars(query)]


def delete_model(
    session: Session, job_id: str, component: str, role: str | None
) -> list[ModelRecord]:
    """Unregister one part (or, with role None, every part) of a model; NotFoundError if none."""
    rows = list(
        session.scalars(
            select(ModelRow).where(
                ModelRow.job_id == job_id,
                ModelRow.component == component,
                *([] if role is None else [ModelRow.role == role]),
            )
        )
    )
    if not rows:
        raise NotFoundError(
            f"no model {job_id}/{component}" + ("" if role is None else f" part for {role}"),
            model_id=f"{job_id}/{component}",
        )
    records = [_model(row) for row in rows]
    for row in rows:
        session.delete(row)
    return records
