"""``investigate``: who did what, when, from where, over trail files, S3, the log group or Event History."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from detections.catalogue import get_detection
from detections.deployment import SelectionError, deployment_detections, project_config
from detections.filter_pattern import compile_pattern
from detections.investigate import (
    COLUMNS,
    Filters,
    Query,
    UsageError,
    compile_filters,
    parse_pattern_option,
    row_of,
    time_range,
)
from detections.investigate_athena import athena_records, filter_sql
from detections.investigate_sources import (
    Coverage,
    SourceStopped,
    check_event_history_range,
    check_log_group,
    event_history_records,
    file_records,
    log_group_records,
    now_utc,
    s3_records,
)
from detections.naming import ATHENA_DATABASE, ATHENA_TABLE, ATHENA_WORKGROUP
from detections.rule import Detection
from detections.rule_files import RuleFileError
from lambdas.forwarder.enrichment import EvidenceSummary, summarize

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
DEFAULT_MAX_EVENTS = 10_000
SOURCES = ("auto", "files", "s3", "logs", "events", "athena")
FORMATS = ("table", "json", "jsonl", "csv")
_TABLE_WIDTH_LIMIT = 60  # per cell in the table only; json/jsonl/csv carry whole values

DESCRIPTION = """\
Who did what, when, from where: list the CloudTrail events that match every filter given (filters AND
together; repeating an option ORs its values), one row per event, then a summary made by the same
summarizer as the PagerDuty page's evidence block.

All filters compile to ONE CloudWatch Logs filter pattern (printed with --show-pattern); the same pattern
is sent to FilterLogEvents and matched locally on files, S3 objects and Event History results.
"""

EPILOG = """\
sources (--source, default auto):
  files   PATHs: trail files or folders (*.json.gz as delivered, .json, .jsonl), read by the streaming reader
  s3      PATHs like s3://bucket/AWSLogs/ (or deeper): lists only the YYYY/MM/DD/ folders of the range
  logs    the trail's CloudWatch Logs group (FilterLogEvents); the range must be within its retention
  events  CloudTrail Event History (LookupEvents): management events of the last 90 days, one lookup
          attribute per request, 2 requests/s, 50 events a page; in each --region (else --aws-region)
  auto    PATHs given: files or s3; otherwise the log group when it exists and keeps the range, else
          Event History when the range is within 90 days
  athena  the CloudTrail table of the opt-in Athena stack (baseline.athena.enabled; --database, --table,
          --workgroup): one SQL query, reading only the day partitions of the range; bytes scanned and
          cost on stderr. Filters the table cannot answer exactly (--resource, raw-text patterns) are
          refused with the reason. Never chosen by auto (it costs money).

times: --since/--until take ISO 8601 (2026-11-24, 2026-11-24T10:00:00Z) or a time before now (30m, 36h,
  7d, 2w). Default: the 24 hours before --until (default now).

exit status: 0 every source was read completely; 1 results printed but a source stopped early (throttled,
  failed, --max-events) or a file could not be read - stderr says what was covered; 2 bad input.
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "investigate",
        help="Who did what, when, from where: search CloudTrail by principal, event, resource, IP, time.",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(run=run_investigate)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="Trail files/folders, or s3://bucket/prefix."
    )
    what = parser.add_argument_group("filters (AND together; a repeated option ORs its values)")
    what.add_argument("--event-name", action="append", default=[], help="e.g. DeleteTable")
    what.add_argument(
        "--resource",
        action="append",
        default=[],
        help="A name or ARN, matched in resources[].ARN and in the top-level request parameters.",
    )
    what.add_argument(
        "--principal",
        action="append",
        default=[],
        help="An ARN (the caller or the role/user that issued its session), a user or role name, or an "
        "access key id.",
    )
    what.add_argument(
        "--source-ip", action="append", default=[], help="sourceIPAddress (trailing * allowed)."
    )
    what.add_argument("--account", action="append", default=[], help="recipientAccountId.")
    what.add_argument("--region", action="append", default=[], help="awsRegion of the event.")
    what.add_argument(
        "--detection",
        action="append",
        default=[],
        help="A detection id (built-in, a rule of cdk.json's rulesDir, or of --rules-dir): its patterns.",
    )
    what.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="Also look --detection up among the <id>.toml rules of DIR; repeatable.",
    )
    what.add_argument("--pattern", help="Any CloudWatch Logs filter pattern (JSON to combine with others).")
    what.add_argument(
        "--since", help="Start of the range (ISO 8601 or 7d, 36h, ...). Default: 24h before --until."
    )
    what.add_argument("--until", help="End of the range (ISO 8601 or relative). Default: now.")
    where = parser.add_argument_group("sources and output")
    where.add_argument("--source", choices=SOURCES, default="auto", help="Where to read (default: auto).")
    where.add_argument(
        "--log-group", help="The trail's log group (default: /aws/cloudtrail/<trailName> of cdk.json)."
    )
    where.add_argument(
        "--aws-region", help="Region to call AWS in (default: AWS_REGION / the profile's region)."
    )
    where.add_argument(
        "--max-events",
        type=int,
        default=DEFAULT_MAX_EVENTS,
        help="Stop reading the log group, Event History or Athena after this many events "
        f"(default {DEFAULT_MAX_EVENTS:,}).",
    )
    athena = parser.add_argument_group("athena (--source athena)")
    athena.add_argument("--database", default=ATHENA_DATABASE, help="Glue database (default: %(default)s).")
    athena.add_argument("--table", default=ATHENA_TABLE, help="Glue table (default: %(default)s).")
    athena.add_argument(
        "--workgroup", default=ATHENA_WORKGROUP, help="Athena workgroup (default: %(default)s)."
    )
    where.add_argument("--format", choices=FORMATS, default="table", help="Output format (default: table).")
    where.add_argument(
        "--show-pattern", action="store_true", help="Print the compiled filter pattern on stderr."
    )


def run_investigate(args: argparse.Namespace) -> int:
    return investigate(args, out=sys.stdout, err=sys.stderr)


def _detection(detection_id: str, rules_dirs: list[str]) -> Detection:
    """A built-in (disabled ones included: a past event may still need explaining), else a user rule of
    cdk.json's rulesDir or of ``rules_dirs``. cdk.json and the rule files are read only when needed."""
    try:
        return get_detection(detection_id)
    except KeyError:
        pass
    try:
        selection = deployment_detections(extra_rules_dirs=rules_dirs)
    except (RuleFileError, SelectionError) as error:
        raise UsageError("--rules-dir", str(error)) from None
    except ValueError as error:  # stacks/config.py's ConfigError (loaded by file path, so not importable)
        raise UsageError("--detection", f"cdk.json: {error}") from None
    for detection in selection:
        if detection.id == detection_id:
            return detection
    raise UsageError(
        "--detection",
        f"no detection {detection_id!r} among the built-ins, cdk.json's rulesDir"
        + (f" or {', '.join(rules_dirs)}" if rules_dirs else "")
        + "; run `python -m detections list` (add --rules-dir DIR for a folder of your rules)",
    )


def build_query(args: argparse.Namespace, now: datetime) -> Query:
    detection_patterns = []
    for detection_id in args.detection:
        detection = _detection(detection_id, args.rules_dir)
        detection_patterns += [compile_pattern(text) for text in detection.all_patterns]
    filters = Filters(
        event_names=tuple(args.event_name),
        resources=tuple(args.resource),
        principals=tuple(args.principal),
        source_ips=tuple(args.source_ip),
        accounts=tuple(args.account),
        regions=tuple(args.region),
        detection_patterns=tuple(detection_patterns),
        pattern=parse_pattern_option(args.pattern) if args.pattern is not None else None,
    )
    for option, values in (("--event-name", filters.event_names), ("--principal", filters.principals)):
        if any(not v.strip() for v in values):
            raise UsageError(option, "an empty value matches nothing; give a value or drop the option")
    if args.max_events < 1:
        raise UsageError("--max-events", f"{args.max_events} is not a positive number of events")
    return Query(filters, compile_filters(filters), time_range(args.since, args.until, now))


def default_log_group() -> str:
    """/aws/cloudtrail/<trailName> from cdk.json's baseline settings (this directory's, else the repo's)."""
    return str(project_config().log_group_name)


def _aws_client(service: str, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    # Our own backoff handles throttling and reports coverage; botocore's would retry silently.
    return boto3.client(service, region_name=region, config=Config(retries={"total_max_attempts": 1}))


def _aws_region(args: argparse.Namespace) -> str:
    import boto3

    session = boto3.session.Session()
    region = args.aws_region or session.region_name or os.environ.get("AWS_REGION")
    if not region:
        raise UsageError(
            "--aws-region",
            "no AWS region configured; pass --aws-region (the trail's home region for the log group) or set "
            "AWS_REGION",
        )
    if session.get_credentials() is None:
        raise UsageError(
            "credentials",
            "no AWS credentials found; set AWS_PROFILE (aws sso login) or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or read trail files with PATHs",
        )
    return str(region)


def choose_source(args: argparse.Namespace) -> str:
    s3_paths = [p for p in args.paths if p.startswith("s3://")]
    if args.source == "auto" and args.paths:
        if s3_paths and len(s3_paths) != len(args.paths):
            raise UsageError("PATH", "mix of s3:// and local paths; run once for each")
        return "s3" if s3_paths else "files"
    if args.source in ("logs", "events", "athena") and args.paths:
        raise UsageError(
            "PATH", f"--source {args.source} reads no files; drop the PATHs or use --source files/s3"
        )
    if args.source in ("files", "s3") and not args.paths:
        raise UsageError(
            "PATH", f"--source {args.source} needs PATHs (folders, files or s3://bucket/AWSLogs/)"
        )
    if args.source == "s3" and len(s3_paths) != len(args.paths):
        raise UsageError("PATH", "--source s3 takes s3://bucket/prefix PATHs only")
    return str(args.source)


def investigate(
    args: argparse.Namespace,
    *,
    out: TextIO,
    err: TextIO,
    now: datetime | None = None,
    clients: Mapping[str, Any] | None = None,
) -> int:
    """Run the command; ``clients`` (service -> boto3 client) replace the ones built from the environment."""
    now = now or now_utc()
    try:
        query = build_query(args, now)
        source = choose_source(args)
        if args.show_pattern:
            for pattern in query.patterns:
                err.write(f"filter pattern: {pattern.source or '(all events)'}\n")
        records, coverages = _read(source, args, query, now, err, dict(clients or {}))
    except UsageError as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    try:
        _write(args.format, records, out, err)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the reader went away (| head): not an error
        return EXIT_OK
    for coverage in coverages:
        for note in coverage.notes:
            err.write(f"note: {note}\n")
        err.write(coverage.describe() + "\n")
    return EXIT_OK if all(c.complete for c in coverages) else EXIT_INCOMPLETE


def _read(
    source: str,
    args: argparse.Namespace,
    query: Query,
    now: datetime,
    err: TextIO,
    clients: dict[str, Any],
) -> tuple[list[dict[str, object]], list[Coverage]]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    def client(service: str, region: str | None = None) -> Any:
        key = service if region is None else f"{service}:{region}"
        if key not in clients:
            clients[key] = clients.get(service) or _aws_client(service, region or _aws_region(args))
        return clients[key]

    matched: list[dict[str, object]] = []
    coverages: list[Coverage] = []

    def collect(records: Iterator[dict[str, object]], coverage: Coverage, *, filtered: bool = False) -> None:
        """``filtered``: the source applied the query itself (Athena returns partial records, which the
        pattern must not be matched against again)."""
        coverages.append(coverage)
        matches = (lambda _: True) if filtered else query.matches
        append = matched.append
        try:
            for record in records:
                if matches(record):
                    append(record)
        except SourceStopped:
            pass  # the coverage says what was read; the results so far are still printed

    try:
        if source == "files":
            collect(file_records(args.paths, query.time, coverage := Coverage("files"), err), coverage)
        elif source == "s3":
            for url in args.paths:
                collect(s3_records(client("s3"), url, query, coverage := Coverage(url), err), coverage)
        elif source == "athena":
            if clients.get("athena") is None:
                _aws_region(args)
            filter_sql(query)  # a filter the table cannot answer is bad input, reported before any call
            coverage = Coverage(f"Athena {args.database}.{args.table}")
            records = athena_records(
                client("athena"),
                query,
                coverage,
                args.max_events,
                err,
                database=args.database,
                table=args.table,
                workgroup=args.workgroup,
            )
            collect(records, coverage, filtered=True)
        else:
            if clients.get("logs") is None and clients.get("cloudtrail") is None:
                _aws_region(args)  # a missing region or credentials is bad input, reported before any call
            log_group = args.log_group or default_log_group()
            if source == "auto":
                source = _auto_source(client("logs"), log_group, query, now)
            if source == "logs":
                check_log_group(client("logs"), log_group, query.time, now)
                coverage = Coverage(f"log group {log_group}")
                collect(
                    log_group_records(client("logs"), log_group, query, coverage, args.max_events), coverage
                )
            else:
                check_event_history_range(query.time, now)
                for region in args.region or [None]:
                    cloudtrail = client("cloudtrail", region)
                    coverage = Coverage(f"Event History {cloudtrail.meta.region_name}")
                    collect(
                        event_history_records(cloudtrail, query, coverage, args.max_events, err), coverage
                    )
    except NoRegionError:
        raise UsageError(
            "--aws-region", "no AWS region configured; pass --aws-region or set AWS_REGION"
        ) from None
    except NoCredentialsError:
        raise UsageError(
            "credentials",
            "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        ) from None
    except (ClientError, BotoCoreError) as error:
        # Only the checks before reading get here (a source that fails while reading reports its coverage):
        # the log group's description, say. Usually permissions or the endpoint.
        raise UsageError(
            "--source",
            f"{source} could not be read: {error}; check the credentials' permissions and --aws-region",
        ) from None
    matched.sort(key=lambda r: str(r.get("eventTime", "")))
    return matched, coverages


def _auto_source(logs: Any, log_group: str, query: Query, now: datetime) -> str:
    try:
        check_log_group(logs, log_group, query.time, now)
        return "logs"
    except UsageError as log_group_problem:
        try:
            check_event_history_range(query.time, now)
            return "events"
        except UsageError:
            raise log_group_problem from None


# ---------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------


def _write(output_format: str, records: Sequence[Mapping[str, object]], out: TextIO, err: TextIO) -> None:
    rows = [row_of(r) for r in records]
    summary = summarize(records)
    if output_format == "json":
        out.write(json.dumps({"events": rows, "summary": summary}, indent=2) + "\n")
    elif output_format == "jsonl":
        out.writelines(json.dumps(row) + "\n" for row in rows)
        err.write(format_summary(summary) + "\n")
    elif output_format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        err.write(format_summary(summary) + "\n")
    else:
        out.write(format_table(rows) + "\n\n" + format_summary(summary) + "\n")
    out.flush()


def format_table(rows: Sequence[Mapping[str, str]]) -> str:
    if not rows:
        return "No matching events."
    cells = [list(COLUMNS)] + [[_cell(row[c]) for c in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def _cell(value: str) -> str:
    return value if len(value) <= _TABLE_WIDTH_LIMIT else value[: _TABLE_WIDTH_LIMIT - 3] + "..."


def format_summary(summary: EvidenceSummary) -> str:
    """The page's evidence block (lambdas.forwarder.enrichment.summarize) as text."""
    lines = [
        f"Summary: {summary['count']:,} event(s), "
        f"{summary['first_seen'] or '-'} .. {summary['last_seen'] or '-'}"
    ]
    for entry in summary["principals"]:
        mfa = entry.get("mfa_used")
        mfa_text = "MFA unknown" if mfa is None else ("MFA" if mfa else "no MFA")
        issuer = f", session issued by {entry['session_issuer']}" if entry.get("session_issuer") else ""
        who = entry.get("arn") or entry.get("user_name") or entry.get("type") or "unknown"
        lines.append(
            f"  principal: {who} ({entry.get('type') or '-'}, {mfa_text}{issuer}): {entry['events']} event(s)"
        )
    for label, key in (
        ("event names", "event_names"),
        ("error codes", "error_codes"),
        ("source IPs", "source_ips"),
        ("user agents", "user_agents"),
        ("accounts", "accounts"),
        ("regions", "regions"),
        ("resources", "resources"),
    ):
        values = summary[key]  # type: ignore[literal-required]
        if values:
            lines.append(f"  {label}: {', '.join(values)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Console script ``baseline-investigate``: the same command as ``python -m detections investigate``."""
    parser = argparse.ArgumentParser(
        prog="baseline-investigate",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run_investigate(parser.parse_args(argv))
