#!/usr/bin/env bash
# Regenerate chaihuo.federation's protobuf modules (+ mypy-protobuf stubs) from protos/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=src/chaihuo/federation/_proto
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" -m grpc_tools.protoc -Iprotos \
    --python_out="$TMP" --mypy_out="$TMP" \
    --plugin=protoc-gen-mypy="$(dirname "$PY")/protoc-gen-mypy" \
    protos/chaihuo/federation/v1/federation.proto
# Flatten into the package and make the generated import path package-relative.
cp "$TMP/chaihuo/federation/v1/federation_pb2.py" "$OUT/federation_pb2.py"
cp "$TMP/chaihuo/federation/v1/federation_pb2.pyi" "$OUT/federation_pb2.pyi"
echo "generated $OUT/federation_pb2.py{,i}"
