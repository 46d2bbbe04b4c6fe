"""``list`` and ``match``: show the catalogue, and replay CloudTrail logs through it."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from detections.catalogue import Detection
from detections.cli_selection import EXIT_USAGE, add_selection_options, selected_detections
from detections.replay import LOG_SUFFIXES, CatalogueMatcher, ReplayError, iter_records
from detections.summary import ReplaySummary, format_summary, principal_of, summary_to_dict

EXIT_OK = 0
EXIT_FILE_ERRORS = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    list_parser = commands.add_parser(
        "list",
        help="Print the detections in use.",
        description="Print every detection the deployment runs (see the detections options) with its "
        "filter pattern(s), controls and runbook.",
    )
    list_parser.add_argument(
        "--format",
        choices=("json", "table"),
        default="table",
        help="json: a JSON array of detection objects (all fields); table: one line per detection (default).",
    )
    add_selection_options(list_parser)
    list_parser.set_defaults(run=run_list)

    match_parser = commands.add_parser(
        "match",
        help="Replay CloudTrail logs through the detections in use.",
        description=(
            "Evaluate every detection in use (see the detections options) against CloudTrail records read "
            "from PATHs: "
            "*.json.gz files as a trail delivers them to S3 (folders are searched recursively for "
            f"{', '.join(LOG_SUFFIXES)}), plain .json (a Records array, an array of records or one record) "
            "and JSON Lines (one record per line). Files are streamed, so memory stays flat."
        ),
        epilog=(
            'Output: with --format json, one JSON object per record, in input order: {"eventID": ..., '
            '"eventName": ..., "matches": [detection ids]}; with --format text, one line per matching '
            "record. --summary prints per-detection counts, first/last seen, top principals and source IPs "
            "instead (as one JSON object with --format json). Exit status: 0 when every file was read; 1 "
            "when at least one file was missing or malformed (each gets an error line on stderr and the run "
            "goes on with the next file); 2 on usage errors."
        ),
    )
    match_parser.add_argument("paths", nargs="+", metavar="PATH", help="CloudTrail log files or folders.")
    match_parser.add_argument(
        "--format", choices=("json", "text"), default="text", help="Output format (default: text)."
    )
    match_parser.add_argument(
        "--summary", action="store_true", help="Print per-detection totals instead of per-record results."
    )
    add_selection_options(match_parser)
    match_parser.set_defaults(run=run_match)


# ---------------------------------------------------------------------------------------------------------
# list
# ---------------------------------------------------------------------------------------------------------


def detection_to_dict(detection: Detection) -> dict[str, object]:
    data: dict[str, object] = asdict(detection)
    data["controls"] = list(detection.controls)
    data["mitre_attack"] = list(detection.mitre_attack)
    data["additional_patterns"] = list(detection.additional_patterns)
    data["metric_name"] = detection.metric_name
    return data


def format_table(detections: Sequence[Detection]) -> str:
    rows = [("ID", "SEVERITY", "CONTROLS", "TITLE")]
    rows += [(d.id, d.severity, ", ".join(d.controls) or "-", d.title) for d in detections]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


def run_list(args: argparse.Namespace) -> int:
    detections = selected_detections(args, sys.stderr)
    if detections is None:
        return EXIT_USAGE
    if args.format == "json":
        text = json.dumps([detection_to_dict(d) for d in detections], indent=2)
    else:
        text = format_table(detections)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    return EXIT_OK


def _silence_stdout() -> None:
    # The reader (e.g. `| head`) went away: not an error of ours. Avoid the interpreter's failing exit flush.
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115


# ---------------------------------------------------------------------------------------------------------
# match
# ---------------------------------------------------------------------------------------------------------


class _Progress:
    """A one-line progress report on stderr, only when stderr is a terminal (never in pipes or CI logs)."""

    def __init__(self, stream: TextIO) -> None:
        self.enabled = stream.isatty()
        self.stream = stream
        self.files = 0
        self.started = time.monotonic()
        self.last_draw = 0.0

    def on_file(self, path: Path) -> None:
        self.files += 1

    def tick(self, records: int) -> None:
        if not self.enabled or records % 2048:
            return
        now = time.monotonic()
        if now - self.last_draw < 0.2:
            return
        self.last_draw = now
        rate = records / max(now - self.started, 1e-9)
        self.stream.write(f"\r{self.files:,} file(s)  {records:,} records  {rate:,.0f} records/s ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.last_draw:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _text_line(record: dict[str, object], matches: Sequence[str]) -> str:
    return (
        f"{record.get('eventTime', '-')}  {record.get('eventName', '-')}  {principal_of(record)}  "
        f"{record.get('sourceIPAddress', '-')}  -> {', '.join(matches)}"
    )


def run_match(args: argparse.Namespace) -> int:
    detections = selected_detections(args, sys.stderr)
    if detections is None:
        return EXIT_USAGE
    return replay(
        args.paths,
        output_format=args.format,
        summary=args.summary,
        out=sys.stdout,
        err=sys.stderr,
        detections=detections,
    )


def replay(
    paths: Sequence[str],
    *,
    output_format: str,
    summary: bool,
    out: TextIO,
    err: TextIO,
    detections: Sequence[Detection] | None = None,
) -> int:
    """Replay ``paths`` through ``detections`` (default: the built-ins), writing results to ``out`` and file
    errors to ``err``."""
    matcher = CatalogueMatcher() if detections is None else CatalogueMatcher(detections)
    totals = ReplaySummary(matcher.detection_ids)
    progress = _Progress(err)
    failed = 0
    pending: list[str] = []
    records = 0
    dumps = json.dumps
    try:
        for item in iter_records(paths, on_file=progress.on_file):
            if isinstance(item, ReplayError):
                failed += 1
                progress.done()
                err.write(f"error: {item.message}\n")
                continue
            record = item.record
            records += 1
            matches = matcher.match(record)
            if summary:
                totals.add(record, matches)
            elif output_format == "json":
                pending.append(
                    dumps(
                        {
                            "eventID": record.get("eventID"),
                            "eventName": record.get("eventName"),
                            "matches": matches,
                        }
                    )
                )
            elif matches:
                pending.append(_text_line(record, matches))
            if len(pending) >= 1024:
                out.write("\n".join(pending) + "\n")
                pending.clear()
            progress.tick(records)
        if pending:
            out.write("\n".join(pending) + "\n")
        progress.done()
        if summary:
            totals.failed_files = failed
            if output_format == "json":
                out.write(dumps(summary_to_dict(totals), indent=2) + "\n")
            else:
                out.write(format_summary(totals) + "\n")
        out.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    if failed:
        err.write(f"{failed} file(s) could not be read completely; see the errors above.\n")
        return EXIT_FILE_ERRORS
    return EXIT_OK
