"""``python -m compliance --cdk-out cdk.out --output compliance-report``: write the report (MD + JSON)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from compliance.report import write_report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance", description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--output", type=Path, default=Path("compliance-report"))
    parser.add_argument("--no-scanners", action="store_true", help="judge the templates only (fast)")
    args = parser.parse_args(argv)
    report = write_report(args.cdk_out, args.output, scanners=not args.no_scanners)
    summary = ", ".join(f"{count} {status}" for status, count in report["summary"].items())
    print(f"compliance report: {summary} -> {args.output}/compliance-report.md, .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
