"""Rebuild FATE's missing epsilon_5k_hetero_host.csv (x21..x100 of the three homo files)."""

# The shared data's README: the three epsilon_5k_homo files hold the same 5000 rows as
# epsilon_5k_hetero_guest.csv with all 100 features, so the hetero host part is x21..x100 of
# their union keyed by id. Written to .derived-data/ (ignored by git); idempotent.

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "data" / "fate-examples"
TARGET = ROOT / ".derived-data" / "epsilon_5k_hetero_host.csv"


def main() -> int:
    guest = SOURCE / "epsilon_5k_hetero_guest.csv"
    if TARGET.exists() and TARGET.stat().st_mtime >= guest.stat().st_mtime:
        return 0
    rows: dict[str, list[str]] = {}
    header: list[str] = []
    for part in ("guest", "host", "test"):
        with (SOURCE / f"epsilon_5k_homo_{part}.csv").open(newline="") as handle:
            reader = csv.reader(handle)
            names = next(reader)
            first = names.index("x21")
            header = ["id", *names[first:]]
            for record in reader:
                rows[record[names.index("id")]] = record[first:]
    with guest.open(newline="") as handle:
        reader = csv.reader(handle)
        id_column = next(reader).index("id")
        order = [record[id_column] for record in reader]
    missing = [key for key in order if key not in rows]
    if missing:
        print(f"epsilon_5k: {len(missing)} guest ids absent from the homo files", file=sys.stderr)
        return 1
    TARGET.parent.mkdir(exist_ok=True)
    partial = TARGET.with_suffix(".partial")
    with partial.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([key, *rows[key]] for key in order)
    partial.replace(TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
