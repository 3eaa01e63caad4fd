"""A node's data and model registries: uploaded tables, and the model parts its jobs trained."""

# Tables: an upload streams to `<data_dir>/tables/<namespace>/<name>.<csv|parquet>` (a
# temporary file, renamed when complete, so a failed upload leaves nothing registered); the
# schema is detected (CSV header and rows, Parquet metadata), the id and label columns
# checked, the SHA-256 taken on the way in.
# Models: when a task succeeds, each model part it saved (chaihuo.ml ModelArtifact: JSON +
# .npz, content-hashed) is registered under JOB_ID/COMPONENT and its role. Export is a zip of
# those files plus a manifest; import checks every file (JSON headers, .npz without object
# arrays — no pickle — and each part's content hash) before registering anything.

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from chaihuo.core import ChaihuoError, InvalidInputError
from chaihuo.flow.api._schemas import ArtifactFile, ColumnView, ModelView, TableFormat, TableView
from chaihuo.flow.store import ConflictError, ModelRecord, NotFoundError, Store, TableRecord

__all__ = ["ModelRegistry", "TableRegistry"]

_CHUNK = 1 << 20
_MANIFEST = "manifest.json"


class DataInvalidError(ChaihuoError):
    """An uploaded file that cannot be a table."""

    code = "DATA_INVALID"


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _csv_schema(path: Path) -> tuple[list[ColumnView], int]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise DataInvalidError("the file is empty: no header row")
        sample: list[list[str]] = []
        rows = 0
        for row in reader:
            rows += 1
            if len(sample) < 1000:
                sample.append(row)
    columns = []
    for j, name in enumerate(header):
        cells = [row[j] for row in sample if j < len(row) and row[j] != ""]
        columns.append(ColumnView(name=name, dtype=_dtype(cells)))
    return columns, rows


def _dtype(cells: list[str]) -> str:
    for kind, parse in (("int64", int), ("float64", float)):
        try:
            for cell in cells:
                parse(cell)
        except ValueError:
            continue
        return kind
    return "string"


class TableRegistry:
    """Uploaded tables of this party."""

    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store, self.folder = store, data_dir / "tables"

    def upload(
        self,
        namespace: str,
        name: str,
        source: BinaryIO,
        *,
        filename: str,
        format: TableFormat | None,
        id_column: str | None,
        label_column: str | None,
        replace: bool,
    ) -> TableView:
        """Stream `source` to the table's file, detect its schema, register it."""
        if not replace:
            try:
                self.store.get_table(namespace, name)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"table {namespace}/{name} exists (replace it explicitly)")
        kind: TableFormat = format or (
            "parquet" if filename.endswith((".parquet", ".pq")) else "csv"
        )
        folder = self.folder / namespace
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = folder / f"{name}.{kind}"
        staging = folder / f".{name}.{os.getpid()}.upload"
        digest = hashlib.sha256()
        try:
            with staging.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            columns, rows = self._schema(staging, kind)
            names = [c.name for c in columns]
            id_column = id_column or names[0]
            for role, wanted in (("id", id_column), ("label", label_column)):
                if wanted is not None and wanted not in names:
                    raise DataInvalidError(f"{filename} has no {role} column {wanted!r}")
            if rows == 0:
                raise DataInvalidError(f"{filename} has a header but no data rows")
            os.replace(staging, final)
        finally:
            staging.unlink(missing_ok=True)
        record = TableRecord(
            namespace=namespace, name=name, path=str(final), format=kind, id_column=id_column,
            label_column=label_column, rows=rows, sha256=digest.hexdigest(),
            schema_json=json.dumps([{"name": c.name, "dtype": c.dtype} for c in columns]),
        )  # fmt: skip
        return self.view(self.store.register_table(record, replace=replace))

    @staticmethod
    def _schema(path: Path, kind: TableFormat) -> tuple[list[ColumnView], int]:
        if kind == "csv":
            return _csv_schema(path)
        try:
            meta = pq.read_metadata(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DataInvalidError(f"not a Parquet file: {type(exc).__name__}") from exc
        fields = meta.schema.to_arrow_schema()
        return [ColumnView(name=f.name, dtype=str(f.type)) for f in fields], meta.num_rows

    @staticmethod
    def view(record: TableRecord) -> TableView:
        """The REST view of a table record."""
        path = Path(record.path)
        columns = [ColumnView(**c) for c in json.loads(record.schema_json or "[]")]
        fmt: TableFormat = "parquet" if record.format == "parquet" else "csv"
        return TableView(
            namespace=record.namespace, name=record.name, format=fmt, columns=columns,
            id_column=record.id_column, label_column=record.label_column, rows=record.rows or 0,
            size_bytes=path.stat().st_size if path.exists() else 0, sha256=record.sha256,
            created_at=_when(record.created_at),
        )  # fmt: skip

    def delete(self, namespace: str, name: str) -> TableView:
        """Unregister a table and remove its file."""
        view = self.view(self.store.get_table(namespace, name))
        record = self.store.delete_table(namespace, name)
        Path(record.path).unlink(missing_ok=True)
        return view


class ModelRegistry:
    """The model parts this party holds."""

    def __init__(self, store: Store, party_id: str, data_dir: Path) -> None:
        self.store, self.party_id, self.folder = store, party_id, data_dir / "models"

    def register_outputs(self, job_id: str, component: str, kind: str, version: str,
                         folders: dict[str, Path]) -> None:  # fmt: skip
        """Register every model a task saved (role → its output folder), all or none: each is
        read back and its content hash checked first, so a model that was not written whole
        (disk full) is an error here, and nothing of the task is registered."""
        from chaihuo.ml import ModelArtifact  # noqa: PLC0415 - numpy-heavy, only when needed

        records = []
        for role, folder in folders.items():
            index_file = folder / "outputs.json"
            if not index_file.exists():
                continue
            for name, entry in json.loads(index_file.read_text()).items():
                if entry.get("kind") != "model":
                    continue
                path = folder / entry["file"]
                model = ModelArtifact.load(path)  # InvalidInputError if missing or torn
                named = component if name == "model" else f"{component}.{name}"
                records.append(ModelRecord(
                    job_id=job_id, component=named, role=role, kind=kind, version=version,
                    sha256=model.digest, path=str(path),
                ))  # fmt: skip
        for record in records:
            self.store.register_model(record, replace=True)

    def view(self, model_id: str) -> ModelView:
        """The REST view of one model (all parts this party holds)."""
        parts = self._parts(model_id)
        files = [file for part in parts for file in _files(Path(part.path))]
        whole = hashlib.sha256("".join(sorted(p.sha256 for p in parts)).encode())
        return ModelView(
            model_id=model_id, job_id=parts[0].job_id, component=parts[0].component,
            type=parts[0].kind, party_id=self.party_id, roles=sorted(p.role for p in parts),
            created_at=_when(min(p.created_at for p in parts)), sha256=whole.hexdigest(),
            files=files,
        )  # fmt: skip

    def _parts(self, model_id: str) -> list[ModelRecord]:
        if "/" not in model_id:
            raise InvalidInputError(f"a model id is JOB_ID/COMPONENT, not {model_id!r}")
        job_id, component = model_id.split("/", 1)
        parts = self.store.list_models(job_id=job_id, component=component)
        if not parts:
            raise NotFoundError(f"no model {model_id} on party {self.party_id}")
        return parts

    def list(self) -> list[ModelView]:
        """Every model of this party."""
        ids = dict.fromkeys(record.model_id for record in self.store.list_models())
        return [self.view(model_id) for model_id in ids]

    def export(self, model_id: str) -> bytes:
        """A zip of every part's JSON and .npz, with a manifest (no pickle anywhere)."""
        parts = self._parts(model_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            manifest = []
            for part in parts:
                json_path = Path(part.path)
                stem = f"{part.role}/{json_path.stem}"
                archive.write(json_path, f"{stem}.json")
                archive.write(json_path.with_suffix(".npz"), f"{stem}.npz")
                manifest.append({"role": part.role, "file": f"{stem}.json", "kind": part.kind,
                                 "version": part.version, "sha256": part.sha256})  # fmt: skip
            archive.writestr(_MANIFEST, json.dumps({
                "format": "chaihuo-model-archive/1", "job_id": parts[0].job_id,
                "component": parts[0].component, "parts": manifest,
            }))  # fmt: skip
        return buffer.getvalue()

    def import_archive(self, archive: bytes) -> ModelView:
        """Check an exported archive completely, then register its parts."""
        from chaihuo.ml import ModelArtifact  # noqa: PLC0415 - numpy-heavy, only on import

        try:
            zipped = zipfile.ZipFile(io.BytesIO(archive))
            manifest = json.loads(zipped.read(_MANIFEST))
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise InvalidInputError(f"not a chaihuo model archive: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != "chaihuo-model-archive/1":
            raise InvalidInputError("not a chaihuo model archive (manifest)")
        job_id, component = str(manifest["job_id"]), str(manifest["component"])
        if self.store.list_models(job_id=job_id, component=component):
            raise ConflictError(f"model {job_id}/{component} exists on this party")
        folder = self.folder / job_id / component
        records = []
        for part in manifest["parts"]:
            role, name = str(part["role"]), str(part["file"])
            if role not in ("guest", "host", "arbiter") or ".." in name or name.startswith("/"):
                raise InvalidInputError(f"archive entry {name!r} is not a model part")
            target = folder / role / Path(name).name
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            target.write_bytes(zipped.read(name))
            target.with_suffix(".npz").write_bytes(zipped.read(name[:-5] + ".npz"))
            model = ModelArtifact.load(target)  # checks format, no pickle, content hash
            records.append(ModelRecord(job_id=job_id, component=component, role=role,
                                       kind=str(part["kind"]), version=str(part["version"]),
                                       sha256=model.digest, path=str(target)))  # fmt: skip
        for record in records:
            self.store.register_model(record)
        return self.view(f"{job_id}/{component}")


def _files(json_path: Path) -> list[ArtifactFile]:
    files = []
    for path in (json_path, json_path.with_suffix(".npz")):
        if path.exists():
            data = path.read_bytes()
            files.append(ArtifactFile(name=path.name, size_bytes=len(data),
                                      sha256=hashlib.sha256(data).hexdigest()))  # fmt: skip
    return files
