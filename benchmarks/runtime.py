"""Runtime benchmark: gRPC transport, MPC over gRPC, PSI and table pipelines; table + JSON line."""

from __future__ import annotations

import argparse
import os
import sys

# gRPC's C core logs fork and shutdown notices at INFO; keep the table readable.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from _harness import Report
from runtime_grpc import grpc_section
from runtime_mpc import mpc_sections
from runtime_table import table_section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (about a minute)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    args = parser.parse_args(argv)
    report = Report("runtime")
    report.header()
    grpc_section(report, args.quick)
    mpc_sections(report, args.quick)
    table_section(report, args.quick)
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
