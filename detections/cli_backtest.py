"""``backtest``: how noisy would the detections in use have been? Every core locally, or Athena."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

from detections.backtest import backtest_local, default_workers
from detections.cli_selection import add_selection_options, selected_detections
from detections.naming import ATHENA_DATABASE, ATHENA_TABLE, ATHENA_WORKGROUP
from detections.replay import LOG_SUFFIXES
from detections.rule import Detection
from detections.summary import ReplaySummary, format_summary, summary_to_dict

EXIT_OK = 0
EXIT_FILE_ERRORS = 1
EXIT_USAGE = 2
EXIT_QUERY_FAILED = 3


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "backtest",
        help="Per-detection summary over many logs: local files on every core, or Athena.",
        description=(
            "--engine local (default): the replay of `match --summary` over PATHs (files or folders, "
            f"{', '.join(LOG_SUFFIXES)}), one process per core, same summary. --engine athena: the same "
            "summary computed by Athena over the CloudTrail table (baseline.athena), restricted to the "
            "partitions of --since/--until (and --account/--region); prints rows, bytes scanned and cost."
        ),
        epilog="Exit status: 0 ok; 1 a file could not be read; 2 usage error; 3 the Athena query failed.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="CloudTrail log files or folders (local).")
    parser.add_argument("--engine", choices=("local", "athena"), default="local")
    parser.add_argument("--format", choices=("json", "text"), default="text")
    parser.add_argument("--workers", type=int, default=None, help="Processes (default: every core).")
    athena = parser.add_argument_group("athena")
    athena.add_argument("--since", type=date.fromisoformat, help="First day, YYYY-MM-DD (inclusive).")
    athena.add_argument("--until", type=date.fromisoformat, help="Last day, YYYY-MM-DD (inclusive).")
    athena.add_argument("--account", action="append", default=[], help="Account id partition (repeatable).")
    athena.add_argument("--region", action="append", default=[], help="Region partition (repeatable).")
    # The defaults are the names the stack gives them (-c baseline.athena.enabled=true).
    athena.add_argument("--database", default=ATHENA_DATABASE, help="Glue database (default: %(default)s).")
    athena.add_argument("--table", default=ATHENA_TABLE, help="Glue table (default: %(default)s).")
    athena.add_argument(
        "--workgroup", default=ATHENA_WORKGROUP, help="Athena workgroup (default: %(default)s)."
    )
    add_selection_options(parser)
    parser.set_defaults(run=run_backtest)


def _write_summary(summary: ReplaySummary, output_format: str, out: TextIO, extra: dict[str, Any]) -> None:
    if output_format == "json":
        out.write(json.dumps({**summary_to_dict(summary), **extra}, indent=2) + "\n")
    else:
        out.write(format_summary(summary) + "\n")
        for key, value in extra.items():
            out.write(f"{key}: {value}\n")


class _Bar:
    """Files done / total on stderr, only on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} files ")
        if done == total:
            self.stream.write("\r\033[K")
        self.stream.flush()


def run_backtest(args: argparse.Namespace) -> int:
    if args.engine == "local" and not args.paths:
        sys.stderr.write("error: backtest --engine local needs at least one PATH\n")
        return EXIT_USAGE
    detections = selected_detections(args, sys.stderr)
    if detections is None:
        return EXIT_USAGE
    if args.engine == "athena":
        return run_athena(args, out=sys.stdout, err=sys.stderr, detections=detections)
    return run_local(
        args.paths, args.format, args.workers, out=sys.stdout, err=sys.stderr, detections=detections
    )


def run_local(
    paths: list[str],
    output_format: str,
    workers: int | None,
    *,
    out: TextIO,
    err: TextIO,
    detections: Sequence[Detection] | None = None,
) -> int:
    result = backtest_local(
        paths, workers or default_workers(), on_file_done=_Bar(err), detections=detections
    )
    for message in result.errors:
        err.write(f"error: {message}\n")
    _write_summary(result.summary, output_format, out, {})
    if result.errors:
        err.write(f"{len(result.errors)} file(s) could not be read completely; see the errors above.\n")
        return EXIT_FILE_ERRORS
    return EXIT_OK


def run_athena(
    args: argparse.Namespace,
    *,
    out: TextIO,
    err: TextIO,
    client: Any = None,
    detections: Sequence[Detection] | None = None,
) -> int:
    from detections.athena import AthenaQueryError, backtest_athena, partition_filter
    from detections.catalogue import CATALOGUE

    if args.since is None or args.until is None:
        err.write(
            "error: --engine athena needs --since and --until (YYYY-MM-DD): they bound the partitions read\n"
        )
        return EXIT_USAGE
    try:
        where = partition_filter(args.since, args.until, args.account, args.region)
    except ValueError as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    if client is None:
        import boto3

        client = boto3.client("athena")
    try:
        result = backtest_athena(
            client,
            CATALOGUE if detections is None else detections,
            table=f'"{args.database}"."{args.table}"',
            database=args.database,
            workgroup=args.workgroup,
            where=where,
        )
    except AthenaQueryError as error:
        err.write(f"error: {error}\n")
        return EXIT_QUERY_FAILED
    except KeyboardInterrupt:
        err.write("interrupted: the Athena query was stopped (StopQueryExecution)\n")
        return 130
    for refusal in result.refused:
        err.write(f"not run on Athena: {refusal.detection_id}: {refusal.reason}\n")
    extra = {
        "queryExecutionId": result.outcome.execution_id,
        "resultRows": len(result.outcome.rows),
        "bytesScanned": result.outcome.bytes_scanned,
        "costUSD": round(result.outcome.cost_usd, 6),
    }
    _write_summary(result.summary, args.format, out, extra)
    return EXIT_OK
