#!/usr/bin/env bash
# Point data/ at the shared FATE example datasets (never copied into the repository).
# Looks in $CHAIHUO_SHARED_DATA, then in shared/data beside the checkout or beside any folder
# above it (../shared/data, ../../shared/data, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
candidates=("${CHAIHUO_SHARED_DATA:-}")
folder=$(pwd)
while [ "$folder" != "/" ]; do
  folder=$(dirname "$folder")
  candidates+=("$folder/shared/data")
done
for candidate in "${candidates[@]}"; do
  if [ -n "$candidate" ] && [ -d "$candidate/fate-examples" ]; then
    target=$(cd "$candidate" && pwd)
    if [ "$(readlink data 2>/dev/null || true)" != "$target" ]; then
      rm -f data
      ln -s "$target" data
    fi
    exit 0
  fi
done
echo "shared datasets not found: set CHAIHUO_SHARED_DATA to the folder holding fate-examples/" >&2
exit 1
