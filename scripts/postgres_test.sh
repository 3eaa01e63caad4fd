#!/usr/bin/env bash
# Run the store conformance suite against a throw-away PostgreSQL cluster (make test-postgres).
# Installs Debian's postgresql if initdb/pg_ctl are missing, starts a private cluster on a free
# 127.0.0.1 port (as a non-root user when run as root), exports PG_TEST_URL, runs the tests
# marked `postgres`, and stops and removes the cluster on exit. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return 0
  fi
  return 1
}

if ! BIN=$(pg_bindir); then
  echo "initdb/pg_ctl not found: installing the Debian postgresql package" >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  BIN=$(pg_bindir) || { echo "PostgreSQL server binaries still missing" >&2; exit 1; }
fi

# PostgreSQL refuses to run as root: the cluster then belongs to a system user of its own.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  id -u chaihuo-pg >/dev/null 2>&1 || useradd --system --no-create-home \
    --shell /usr/sbin/nologin chaihuo-pg
  as_pg=(runuser -u chaihuo-pg --)
fi

PY=.venv/bin/python
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chaihuo-pg.XXXXXX")
PASSWORD=$($PY -c 'import secrets; print(secrets.token_hex(16))')
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s\n' "$PASSWORD" > "$WORK/pwfile"
if [ ${#as_pg[@]} -gt 0 ]; then chown -R chaihuo-pg "$WORK"; fi
chmod 700 "$WORK"

cleanup() {
  "${as_pg[@]}" "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$BIN/initdb" -D "$WORK/data" -U chaihuo --pwfile="$WORK/pwfile" \
  --auth-local=scram-sha-256 --auth-host=scram-sha-256 --no-locale --encoding=UTF8 >/dev/null
rm -f "$WORK/pwfile"
"${as_pg[@]}" "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -t 60 start -o \
  "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$WORK -c fsync=off" \
  >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

export PG_TEST_URL="postgresql+psycopg://chaihuo:$PASSWORD@127.0.0.1:$PORT/chaihuo_test"
$PY - <<'PY'
import os
from sqlalchemy import create_engine, make_url, text
url = make_url(os.environ["PG_TEST_URL"]).set(database="postgres")
engine = create_engine(url, isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    print(conn.execute(text("SELECT version()")).scalar())
    conn.execute(text("CREATE DATABASE chaihuo_test"))
engine.dispose()
PY
echo "PostgreSQL on 127.0.0.1:$PORT (cluster in $WORK)"
.venv/bin/pytest -m postgres tests/conformance/test_store_conformance.py "$@"
