"""Where ``investigate`` reads CloudTrail records from. Each source takes its AWS client as an argument.

* Trail files on disk, and trail files in S3 listed by the date prefixes of the time range
  (``AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/``), both read by ``detections.replay``.
* The trail's CloudWatch Logs group: FilterLogEvents with the query's compiled filter pattern.
* CloudTrail Event History: LookupEvents, one lookup attribute per request (the most selective exact one),
  paced at 2 requests a second, 50 events a page, following NextToken; the pattern is applied to the results.

Every source fills a :class:`Coverage`: what it read, and when it stopped early (throttled, failed, bounded by
``--max-events``) which part of the time range it did cover.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from detections.filter_pattern import FilterPattern, necessary_literals
from detections.investigate import (
    EVENT_HISTORY_DAYS,
    Filters,
    Query,
    TimeRange,
    UsageError,
    is_access_key_id,
)
from detections.replay import ReplayError, discover_files, iter_records, iter_stream_records

#: LookupEvents: "The rate of lookup requests is limited to two per second, per account, per Region."
LOOKUP_EVENTS_PER_SECOND = 2.0
#: LookupEvents MaxResults: "The default is 50, with a maximum of 50 possible."
LOOKUP_EVENTS_PAGE = 50
#: Attempts per request when throttled (exponential backoff from BACKOFF_START_SECONDS) before giving up.
THROTTLE_ATTEMPTS = 4
BACKOFF_START_SECONDS = 1.0
#: CloudTrail delivers a log file "typically within 5 minutes" of the calls in it (up to ~15 under load), in
#: the folder of the delivery day: events of the range's last minutes may sit in the next day's folder.
DELIVERY_DELAY = timedelta(minutes=15)
#: A trail's own layout, locally as in the bucket: .../CloudTrail/<region>/YYYY/MM/DD/<file> (delivery day).
_TRAIL_DAY_FOLDER = re.compile(r"/CloudTrail/[^/]+/(\d{4})/(\d{2})/(\d{2})/[^/]+$")


class SourceStopped(Exception):
    """A source could not go on (throttled after retries, an AWS error); Coverage says what it covered."""


@dataclass
class Coverage:
    source: str
    requests: int = 0
    read: int = 0
    failed_files: int = 0
    oldest: str | None = None
    newest: str | None = None
    stopped: str | None = None  # why the source stopped before covering the whole range
    skipped_files: int = 0  # trail files in day folders outside the range, not read
    notes: list[str] = field(default_factory=list)

    def saw(self, record: Mapping[str, object]) -> None:
        self.read += 1
        event_time = record.get("eventTime")
        if isinstance(event_time, str):
            if self.oldest is None or event_time < self.oldest:
                self.oldest = event_time
            if self.newest is None or event_time > self.newest:
                self.newest = event_time

    @property
    def complete(self) -> bool:
        return self.stopped is None and not self.failed_files

    def describe(self) -> str:
        text = f"{self.source}: {self.read:,} events read"
        if self.requests:
            text += f" in {self.requests:,} requests"
        if self.skipped_files:
            text += f"; {self.skipped_files:,} file(s) not read: their day folders are outside the range"
        if self.failed_files:
            text += f"; {self.failed_files} file(s) could not be read completely (errors above)"
        if self.stopped:
            span = f"{self.oldest} .. {self.newest}" if self.oldest else "nothing"
            text += f"; INCOMPLETE: {self.stopped}; covered events {span}"
        return text


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str):
            return code
    return type(error).__name__


def _is_throttling(error: Exception) -> bool:
    return _error_code(error) in ("ThrottlingException", "Throttling", "TooManyRequestsException")


def _call_with_backoff(
    call: Callable[[], Any], coverage: Coverage, sleep: Callable[[float], None], what: str
) -> Any:
    """One AWS call, retried with exponential backoff while throttled; SourceStopped when it stays throttled
    or fails otherwise (the caller's Coverage then tells what was covered)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    delay = BACKOFF_START_SECONDS
    for attempt in range(1, THROTTLE_ATTEMPTS + 1):
        coverage.requests += 1
        try:
            return call()
        except (NoCredentialsError, NoRegionError):
            raise
        except ClientError as error:
            if _is_throttling(error) and attempt < THROTTLE_ATTEMPTS:
                sleep(delay)
                delay *= 2
                continue
            reason = "throttled" if _is_throttling(error) else "failed"
            coverage.stopped = f"{what} {reason} ({_error_code(error)}: {error})"
            raise SourceStopped(coverage.stopped) from error
        except BotoCoreError as error:
            coverage.stopped = f"{what} failed ({type(error).__name__}: {error})"
            raise SourceStopped(coverage.stopped) from error
    raise AssertionError("unreachable: the last attempt returns or raises")


# ---------------------------------------------------------------------------------------------------------
# Trail files: local folders and S3
# ---------------------------------------------------------------------------------------------------------


def delivery_days(time_range: TimeRange) -> list[datetime]:
    """The days whose trail folders can hold events of the range: a file lands in the folder of the day it is
    delivered, up to DELIVERY_DELAY after its last event."""
    return TimeRange(time_range.start, time_range.end + DELIVERY_DELAY).days()


def delivery_day(path: Path) -> date | None:
    """The day folder of a file in the trail's layout, None for a file laid out otherwise."""
    found = _TRAIL_DAY_FOLDER.search(path.as_posix())
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:  # "2026/13/45": not a day folder after all
        return None


def file_records(
    paths: Sequence[str], time_range: TimeRange, coverage: Coverage, err: TextIO
) -> Iterator[dict[str, object]]:
    """Every record of the files (folders walked), errors reported per file on ``err``. Files in the trail's
    day folders outside the range are not read; files laid out otherwise are read in full."""
    days = {day.date() for day in delivery_days(time_range)}
    files: list[Path] = []
    for entry in discover_files(paths):
        if isinstance(entry, ReplayError):
            coverage.failed_files += 1
            err.write(f"error: {entry.message}\n")
            continue
        day = delivery_day(entry)
        if day is not None and day not in days:
            coverage.skipped_files += 1
            continue
        files.append(entry)
    for item in iter_records(files):
        if isinstance(item, ReplayError):
            coverage.failed_files += 1
            err.write(f"error: {item.message}\n")
            continue
        coverage.read += 1
        yield item.record


def parse_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or len(url) <= 5:
        raise UsageError("PATH", f"{url!r} is not an S3 URL; write s3://bucket/AWSLogs/...")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix


def _children(s3: Any, bucket: str, prefix: str, coverage: Coverage) -> list[str]:
    """Sub-folders (common prefixes) right under ``prefix``."""
    found: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
        if token:
            params["ContinuationToken"] = token
        page = _call_with_backoff(
            functools.partial(s3.list_objects_v2, **params), coverage, time.sleep, "ListObjectsV2"
        )
        found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        token = page.get("NextContinuationToken")
        if not token:
            return found


def s3_day_prefixes(
    s3: Any, bucket: str, prefix: str, time_range: TimeRange, filters: Filters, coverage: Coverage
) -> list[str]:
    """``.../CloudTrail/<region>/YYYY/MM/DD/`` for every account, region and day of the range under prefix.

    Accounts and regions named in the filters are the only ones listed; others are discovered by listing.
    """
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    head, marker, rest = prefix.partition("AWSLogs/")
    if not marker:
        head, rest = prefix, ""
    base = head + "AWSLogs/"
    segments = [s for s in rest.split("/") if s]
    if len(segments) > 3 + (1 if segments and segments[0].startswith("o-") else 0):
        return [prefix]  # already a date folder (or deeper): read it as given
    if segments and segments[0].startswith("o-"):
        base += segments.pop(0) + "/"
    if segments:
        account_prefixes = [f"{base}{segments[0]}/"]
    elif filters.accounts:
        account_prefixes = [f"{base}{a}/" for a in filters.accounts]
    else:
        account_prefixes = []
        for child in _children(s3, bucket, base, coverage):
            name = child[len(base) :].rstrip("/")
            # An organization trail adds the organization id: AWSLogs/o-xxxx/<account>/CloudTrail/...
            account_prefixes += _children(s3, bucket, child, coverage) if name.startswith("o-") else [child]
    day_prefixes: list[str] = []
    days = delivery_days(time_range)
    for account_prefix in account_prefixes:
        trail = account_prefix + "CloudTrail/"
        if len(segments) >= 3:
            regions = [f"{trail}{segments[2]}/"]
        elif filters.regions:
            regions = [f"{trail}{r}/" for r in filters.regions]
        else:
            regions = _children(s3, bucket, trail, coverage)
        day_prefixes += [f"{region}{day:%Y/%m/%d}/" for region in regions for day in days]
    return day_prefixes


def s3_records(
    s3: Any, url: str, query: Query, coverage: Coverage, err: TextIO
) -> Iterator[dict[str, object]]:
    bucket, prefix = parse_s3_url(url)
    for day_prefix in s3_day_prefixes(s3, bucket, prefix, query.time, query.filters, coverage):
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": bucket, "Prefix": day_prefix}
            if token:
                params["ContinuationToken"] = token
            page = _call_with_backoff(
                functools.partial(s3.list_objects_v2, **params), coverage, time.sleep, "ListObjectsV2"
            )
            for entry in page.get("Contents", []):
                key = entry["Key"]
                if "CloudTrail-Digest" in key:
                    continue
                body = _call_with_backoff(
                    functools.partial(s3.get_object, Bucket=bucket, Key=key),
                    coverage,
                    time.sleep,
                    "GetObject",
                )["Body"]
                for item in iter_stream_records(body.read, f"s3://{bucket}/{key}"):
                    if isinstance(item, ReplayError):
                        coverage.failed_files += 1
                        err.write(f"error: {item.message}\n")
                        continue
                    coverage.saw(item.record)
                    yield item.record
            token = page.get("NextContinuationToken")
            if not token:
                break


# ---------------------------------------------------------------------------------------------------------
# CloudWatch Logs: FilterLogEvents
# ---------------------------------------------------------------------------------------------------------


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def check_log_group(logs: Any, log_group: str, time_range: TimeRange, now: datetime) -> None:
    """The log group exists and keeps events as old as the range's start (its retention); else UsageError."""
    groups = logs.describe_log_groups(logGroupNamePrefix=log_group).get("logGroups", [])
    group = next((g for g in groups if g.get("logGroupName") == log_group), None)
    if group is None:
        raise UsageError(
            "--log-group",
            f"log group {log_group!r} does not exist in this account and region; pass the trail's log group "
            "(default /aws/cloudtrail/<trailName> from cdk.json) or choose --source events/files/s3",
        )
    retention = group.get("retentionInDays")
    if isinstance(retention, int) and time_range.start < now - timedelta(days=retention):
        raise UsageError(
            "--since",
            f"{time_range.start_text} is older than the log group's retention ({retention} days, so nothing "
            f"before {(now - timedelta(days=retention)):%Y-%m-%dT%H:%M:%SZ}); use a later --since, or read "
            "the trail files (--source s3 with s3://bucket/AWSLogs/...)",
        )


def log_group_records(
    logs: Any,
    log_group: str,
    query: Query,
    coverage: Coverage,
    max_events: int,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, object]]:
    """FilterLogEvents with the query's pattern (one series per pattern when several, deduplicated)."""
    seen: set[object] = set()
    for pattern in query.patterns:
        params: dict[str, Any] = {
            "logGroupName": log_group,
            "startTime": _ms(query.time.start),
            "endTime": _ms(query.time.end) + 999,  # eventTime has whole seconds; endTime is inclusive
        }
        if pattern.kind != "all":
            params["filterPattern"] = pattern.source
        token: str | None = None
        while True:
            call = dict(params, nextToken=token) if token else params
            page = _call_with_backoff(
                functools.partial(logs.filter_log_events, **call), coverage, sleep, "FilterLogEvents"
            )
            for event in page.get("events", []):
                try:
                    record = json.loads(event["message"])
                except ValueError:
                    continue  # not a CloudTrail record (CloudTrail writes one JSON record per event)
                if not isinstance(record, dict):
                    continue
                if len(query.patterns) > 1:
                    if record.get("eventID") in seen:
                        continue
                    seen.add(record.get("eventID"))
                coverage.saw(record)
                yield record
                if coverage.read >= max_events:
                    coverage.stopped = f"stopped at --max-events {max_events:,}"
                    return
            token = page.get("nextToken")
            if not token:
                break


# ---------------------------------------------------------------------------------------------------------
# CloudTrail Event History: LookupEvents
# ---------------------------------------------------------------------------------------------------------


# Event History's exact lookup attributes, by the record path they select on, most selective first.
_EXACT_ATTRIBUTES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("userIdentity", "accessKeyId"), "AccessKeyId"),
    (("eventName",), "EventName"),
    (("eventSource",), "EventSource"),
)


def _required_literals(patterns: Sequence[FilterPattern]) -> dict[tuple[str, ...], frozenset[str]]:
    """Values every matching record must have at a path, over the union of ``patterns`` (from their ASTs)."""
    found: dict[tuple[str, ...], frozenset[str]] | None = None
    for pattern in patterns:
        if pattern.json_expression is None:
            return {}
        requirements = {
            tuple(str(step.key) for step in path): literals
            for path, literals in necessary_literals(pattern.json_expression).items()
            if all(step.kind == "key" for step in path)
        }
        if found is None:
            found = requirements
        else:
            found = {p: found[p] | requirements[p] for p in found.keys() & requirements.keys()}
    return found or {}


def lookup_attributes(query: Query) -> tuple[list[dict[str, str]], str | None]:
    """One lookup attribute per request series; the compiled pattern is applied to the results.

    Exact attributes first, taken from what the compiled pattern requires of every match
    (``necessary_literals`` of its parsed form): an access key id, then event names (one series per name; so
    ``--detection`` looks up its event names), then an event source. ResourceName and Username are narrower
    in Event History than our filters (only the event's ``resources`` list, only the user name), so they come
    last and the caller is told. With none, one series without an attribute reads every event of the range.
    """
    required = _required_literals(query.patterns)
    for path, key in _EXACT_ATTRIBUTES:
        if path in required:
            return [{"AttributeKey": key, "AttributeValue": v} for v in sorted(required[path])], None
    filters = query.filters
    if len(filters.resources) == 1:
        return [{"AttributeKey": "ResourceName", "AttributeValue": filters.resources[0]}], (
            "Event History matches --resource only against the resources it lists for an event, not request "
            "parameters; the log group and trail files match both"
        )
    names = [p for p in filters.principals if not p.startswith("arn:") and not is_access_key_id(p)]
    if names and len(names) == len(filters.principals):
        return [{"AttributeKey": "Username", "AttributeValue": n} for n in names], (
            "Event History matches --principal by user (or session) name only"
        )
    return [], None


class Pacer:
    """At most ``rate`` calls a second: each call starts no sooner than 1/rate after the previous one."""

    def __init__(
        self,
        rate: float = LOOKUP_EVENTS_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0

    def wait(self) -> None:
        now = self.clock()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def check_event_history_range(time_range: TimeRange, now: datetime) -> None:
    oldest = now - timedelta(days=EVENT_HISTORY_DAYS)
    if time_range.start < oldest:
        raise UsageError(
            "--since",
            f"{time_range.start_text} is outside CloudTrail Event History, which keeps the last "
            f"{EVENT_HISTORY_DAYS} days (since {oldest:%Y-%m-%dT%H:%M:%SZ}); use "
            f"--since {EVENT_HISTORY_DAYS}d or later, or read the log group (--source logs) or the trail "
            "files (--source s3/files)",
        )


def event_history_records(
    cloudtrail: Any,
    query: Query,
    coverage: Coverage,
    max_events: int,
    progress: TextIO,
    pacer: Pacer | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, object]]:
    pacer = pacer or Pacer()
    attributes, caveat = lookup_attributes(query)
    if caveat:
        coverage.notes.append(caveat)
    series: list[dict[str, str] | None] = list(attributes) or [None]
    for attribute in series:
        label = f"{attribute['AttributeKey']}={attribute['AttributeValue']}" if attribute else "all events"
        params: dict[str, Any] = {
            "StartTime": query.time.start,
            "EndTime": query.time.end,
            "MaxResults": LOOKUP_EVENTS_PAGE,
        }
        if attribute:
            params["LookupAttributes"] = [attribute]
        token: str | None = None
        pages = 0
        while True:
            pacer.wait()
            call = dict(params, NextToken=token) if token else params
            page = _call_with_backoff(
                functools.partial(cloudtrail.lookup_events, **call), coverage, sleep, f"LookupEvents {label}"
            )
            pages += 1
            for event in page.get("Events", []):
                try:
                    record = json.loads(event.get("CloudTrailEvent") or "")
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                coverage.saw(record)
                yield record
                if coverage.read >= max_events:
                    coverage.stopped = f"stopped at --max-events {max_events:,}"
                    return
            progress.write(
                f"Event History {label}: page {pages}, {coverage.read:,} events read"
                + (f", back to {coverage.oldest}" if coverage.oldest else "")
                + "\n"
            )
            progress.flush()
            token = page.get("NextToken")
            if not token:
                break


def now_utc() -> datetime:
    return datetime.now(UTC)
