"""Each source against moto's server over HTTP: Event History (our LookupEvents), S3, FilterLogEvents."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from detections import investigate_sources
from detections.catalogue import get_detection
from detections.filter_pattern import compile_pattern
from detections.investigate import Filters, Query, compile_filters, time_range
from detections.investigate_sources import (
    Coverage,
    Pacer,
    SourceStopped,
    event_history_records,
    lookup_attributes,
    s3_day_prefixes,
)
from testkit.lookup_events import EventHistory
from testkit.moto_harness import MotoHarness
from tests.investigate.conftest import run_command
from tests.investigate.trail_data import (
    ACCOUNT,
    CULPRIT_ARN,
    CULPRIT_IP,
    dynamodb_event,
    stamp,
    trail_files,
    write_trail_files,
)

NOW = datetime.now(UTC)


def no_retry_client(aws: MotoHarness, service: str) -> Any:
    return boto3.client(
        service,
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def query(since: str = "8d", **filters: Any) -> Query:
    values: dict[str, Any] = {k: tuple(v) for k, v in filters.items()}
    chosen = Filters(**values)
    return Query(chosen, compile_filters(chosen), time_range(since, None, NOW))


def events(count: int, name: str = "DeleteTable", start: datetime | None = None) -> list[dict[str, Any]]:
    start = start or NOW - timedelta(days=1)
    return [dynamodb_event(name, start + timedelta(seconds=n), CULPRIT_ARN, CULPRIT_IP) for n in range(count)]


@pytest.fixture
def fresh_history(aws: MotoHarness, history: EventHistory) -> EventHistory:
    aws.reset()
    history.clear()
    time.sleep(1.0)  # a full token bucket for every test
    return history


# --- the emulation follows the documented API ------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "A"},
                    {"AttributeKey": "Username", "AttributeValue": "b"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "UserName", "AttributeValue": "b"}]},
            "InvalidLookupAttributesException",
        ),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"StartTime": NOW, "EndTime": NOW - timedelta(hours=1)}, "InvalidTimeRangeException"),
        ({"NextToken": "bm90LWEtdG9rZW4="}, "InvalidNextTokenException"),
        ({"EventCategory": "management"}, "InvalidEventCategoryException"),
    ],
)
def test_emulated_lookup_events_rejects_what_the_api_rejects(aws, fresh_history, params, code) -> None:
    with pytest.raises(ClientError) as raised:
        no_retry_client(aws, "cloudtrail").lookup_events(**params)
    assert raised.value.response["Error"]["Code"] == code


def test_emulated_lookup_events_pages_newest_first_within_90_days(aws, fresh_history) -> None:
    fresh_history.put(events(120) + events(3, start=NOW - timedelta(days=91)))
    client = no_retry_client(aws, "cloudtrail")
    seen: list[float] = []
    token = None
    pages = 0
    while True:
        time.sleep(0.5)
        page = client.lookup_events(**({"NextToken": token} if token else {}))
        pages += 1
        seen += [e["EventTime"].timestamp() for e in page["Events"]]
        assert len(page["Events"]) <= 50
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(seen) == 120  # the 91-day-old events are gone
    assert seen == sorted(seen, reverse=True)


def test_emulated_lookup_events_throttles_above_two_requests_a_second(aws, fresh_history) -> None:
    client = no_retry_client(aws, "cloudtrail")
    client.lookup_events()
    client.lookup_events()
    with pytest.raises(ClientError) as raised:
        client.lookup_events()
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"


# --- our Event History client ----------------------------------------------------------------------------


def test_the_most_selective_exact_attribute_is_looked_up() -> None:
    def attributes(**filters: Any) -> tuple[list[tuple[str, str]], str | None]:
        found, caveat = lookup_attributes(query(**filters))
        return [(a["AttributeKey"], a["AttributeValue"]) for a in found], caveat

    key = "AKIAIOSFODNN7EXAMPLE"
    assert attributes(principals=[key], event_names=["DeleteTable"]) == ([("AccessKeyId", key)], None)
    assert attributes(event_names=["UpdateTable", "DeleteTable"], resources=["t"]) == (
        [("EventName", "DeleteTable"), ("EventName", "UpdateTable")],
        None,
    )
    # A wildcard is not an exact value: Event History cannot look it up.
    assert attributes(event_names=["Delete*"])[0] == []
    found, caveat = attributes(resources=["orders"], source_ips=["1.2.3.4"])
    assert found == [("ResourceName", "orders")]
    assert caveat and "request parameters" in caveat
    assert attributes(source_ips=["1.2.3.4"]) == ([], None)


def test_local_trail_folders_outside_the_range_are_not_read(tmp_path) -> None:
    # Given a downloaded trail: one hourly file a day for three days, and a file laid out otherwise
    day = datetime(2026, 11, 24, tzinfo=UTC)
    records = [
        dynamodb_event("DeleteTable", day + timedelta(days=n, hours=23, minutes=58), CULPRIT_ARN, CULPRIT_IP)
        for n in (-1, 0, 1)
    ]
    write_trail_files(tmp_path, records)
    loose = tmp_path / "exported.jsonl"
    loose.write_text(json.dumps(dynamodb_event("DeleteTable", day, CULPRIT_ARN, CULPRIT_IP)) + "\n")
    # When the range is that one day (the next day's folder can still hold its last minutes' events)
    coverage = Coverage("files")
    window = time_range("2026-11-24T00:00:00Z", "2026-11-24T23:59:59Z", NOW)
    found = list(investigate_sources.file_records([str(tmp_path)], window, coverage, io.StringIO()))
    # Then the day before is not opened; the day, the next day and the loose file are read in full
    assert coverage.skipped_files == 1 and coverage.read == 3
    assert sorted(str(record["eventTime"]) for record in found) == [
        "2026-11-24T00:00:00Z",
        "2026-11-24T23:58:00Z",
        "2026-11-25T23:58:00Z",
    ]
    assert "1 file(s) not read: their day folders are outside the range" in coverage.describe()


def test_a_folder_that_only_looks_like_a_day_is_read() -> None:
    assert (
        investigate_sources.delivery_day(Path("AWSLogs/1/CloudTrail/eu-west-1/2026/13/45/f.json.gz")) is None
    )
    assert investigate_sources.delivery_day(Path("exports/2026/11/24/f.json.gz")) is None
    assert (
        str(investigate_sources.delivery_day(Path("a/CloudTrail/eu-west-1/2026/11/24/f.json.gz")))
        == "2026-11-24"
    )


def test_a_detection_is_looked_up_by_its_event_names() -> None:
    detection = get_detection("organizations-changes")
    patterns = tuple(compile_pattern(p) for p in detection.all_patterns)
    chosen = Filters(detection_patterns=patterns)
    found, _ = lookup_attributes(Query(chosen, compile_filters(chosen), time_range("1d", None, NOW)))
    names = {a["AttributeValue"] for a in found}
    assert {a["AttributeKey"] for a in found} == {"EventName"}
    # Every event name any of its patterns accepts, and nothing else.
    quoted = {n for p in detection.all_patterns for n in re.findall(r'eventName = "?([A-Za-z]+)"?', p)}
    assert names == quoted


def test_paced_client_reads_every_page_without_being_throttled(aws, fresh_history) -> None:
    fresh_history.put(events(120) + events(40, name="UpdateTable"))
    coverage = Coverage("Event History")
    progress = io.StringIO()
    started = time.monotonic()
    found = list(
        event_history_records(
            no_retry_client(aws, "cloudtrail"), query(event_names=["DeleteTable"]), coverage, 10_000, progress
        )
    )
    elapsed = time.monotonic() - started
    assert len(found) == 120 and {r["eventName"] for r in found} == {"DeleteTable"}
    assert coverage.requests == 3 and coverage.complete
    assert fresh_history.throttled == 0
    assert elapsed >= 1.0  # three requests at two a second
    assert progress.getvalue().count("Event History EventName=DeleteTable: page") == 3


def test_unpaced_client_is_throttled_and_backs_off(aws, fresh_history, monkeypatch) -> None:
    monkeypatch.setattr(investigate_sources, "BACKOFF_START_SECONDS", 0.3)
    fresh_history.put(events(200))
    coverage = Coverage("Event History")
    found = list(
        event_history_records(
            no_retry_client(aws, "cloudtrail"),
            query(),
            coverage,
            10_000,
            io.StringIO(),
            pacer=Pacer(rate=1000.0),
        )
    )
    assert len(found) == 200 and coverage.complete
    assert fresh_history.throttled >= 1  # the emulation throttled the burst; backoff recovered


def test_stays_throttled_reports_what_it_covered(aws, fresh_history, monkeypatch) -> None:
    from moto.cloudtrail.responses import CloudTrailResponse

    monkeypatch.setattr(investigate_sources, "BACKOFF_START_SECONDS", 0.01)
    fresh_history.put(events(120))
    client = no_retry_client(aws, "cloudtrail")
    coverage = Coverage("Event History")
    found: list[dict[str, object]] = []
    records = event_history_records(
        client, query(), coverage, 10_000, io.StringIO(), pacer=Pacer(rate=1000.0)
    )
    try:
        with pytest.raises(SourceStopped):
            for record in records:
                found.append(record)
                if len(found) == 50:  # after the first page, Event History stays throttled
                    aws.faults.fail(
                        CloudTrailResponse, "lookup_events", code="ThrottlingException", times=100
                    )
    finally:
        aws.faults.clear()  # before the emulation is uninstalled: the injector restores what it wrapped
    assert len(found) == 50
    text = coverage.describe()
    assert "INCOMPLETE: LookupEvents all events throttled (ThrottlingException" in text
    assert f"covered events {found[-1]['eventTime']} .. {found[0]['eventTime']}" in text


def test_max_events_bounds_event_history(aws, fresh_history) -> None:
    fresh_history.put(events(120))
    coverage = Coverage("Event History")
    found = list(
        event_history_records(no_retry_client(aws, "cloudtrail"), query(), coverage, 60, io.StringIO())
    )
    assert len(found) == 60 and coverage.requests == 2
    assert coverage.stopped == "stopped at --max-events 60"


def test_range_beyond_90_days_is_bad_input(aws, history) -> None:
    result = run_command(["--source", "events", "--since", "91d"], aws.base_environment())
    assert result.returncode == 2
    assert result.stderr.startswith("error: --since: ")
    assert "keeps the last 90 days" in result.stderr and "--source logs" in result.stderr


# --- S3 ---------------------------------------------------------------------------------------------------


def test_s3_lists_only_the_date_folders_of_the_range(aws) -> None:
    aws.reset()
    s3 = no_retry_client(aws, "s3")
    s3.create_bucket(Bucket="trail")
    recent = events(2, start=NOW - timedelta(days=2))
    old = events(1, start=NOW - timedelta(days=30))
    for key, body in trail_files(recent + old).items():
        s3.put_object(Bucket="trail", Key=key, Body=body)
    # A file in a folder outside the range that holds an in-range event: listing by date never opens it.
    stray = trail_files(events(1, start=NOW - timedelta(days=1)))
    ((_, body),) = stray.items()
    s3.put_object(
        Bucket="trail", Key=f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2001/01/01/stray.json.gz", Body=body
    )
    for org_key in ("AWSLogs/o-abc123/222233334444/CloudTrail/eu-west-1/2001/01/01/x.json.gz",):
        s3.put_object(Bucket="trail", Key=org_key, Body=body)

    window = time_range("3d", None, NOW)
    coverage = Coverage("s3")
    prefixes = s3_day_prefixes(s3, "trail", "AWSLogs/", window, Filters(), coverage)
    days = [
        f"{d:%Y/%m/%d}/"
        for d in investigate_sources.TimeRange(window.start, window.end + timedelta(minutes=15)).days()
    ]
    assert prefixes == (
        [f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{d}" for d in days]
        + [f"AWSLogs/o-abc123/222233334444/CloudTrail/eu-west-1/{d}" for d in days]
    )
    assert s3_day_prefixes(
        s3, "trail", "", window, Filters(accounts=("999988887777",), regions=("ap-south-1",)), coverage
    ) == [f"AWSLogs/999988887777/CloudTrail/ap-south-1/{d}" for d in days]

    result = run_command(
        ["--since", "3d", "--event-name", "DeleteTable", "--format", "jsonl", "s3://trail/"],
        aws.base_environment(),
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["time"] for line in result.stdout.splitlines()] == [
        r["eventTime"] for r in recent
    ]
    assert "s3://trail/: 2 events read" in result.stderr


def test_s3_corrupt_object_is_reported_and_the_rest_read(aws) -> None:
    aws.reset()
    s3 = no_retry_client(aws, "s3")
    s3.create_bucket(Bucket="trail")
    good = events(1, start=NOW - timedelta(hours=3))
    for key, body in trail_files(good).items():
        s3.put_object(Bucket="trail", Key=key, Body=body)
        s3.put_object(Bucket="trail", Key=key.replace(".json.gz", "-cut.json.gz"), Body=body[:40])
    result = run_command(["--since", "1d", "--format", "csv", "s3://trail/AWSLogs/"], aws.base_environment())
    assert result.returncode == 1
    assert "corrupt or truncated gzip data" in result.stderr
    assert "1 file(s) could not be read completely" in result.stderr
    assert result.stdout.splitlines()[1].startswith(good[0]["eventTime"] + "," + CULPRIT_ARN)


# --- CloudWatch Logs ----------------------------------------------------------------------------------------


def test_log_group_retention_and_existence_are_checked(aws) -> None:
    aws.reset()
    env = aws.base_environment()
    result = run_command(["--source", "logs", "--log-group", "/aws/cloudtrail/missing"], env)
    assert result.returncode == 2 and result.stderr.startswith("error: --log-group: ")
    aws.create_log_group("/aws/cloudtrail/short")
    aws.client("logs").put_retention_policy(logGroupName="/aws/cloudtrail/short", retentionInDays=3)
    result = run_command(["--source", "logs", "--log-group", "/aws/cloudtrail/short", "--since", "8d"], env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: --since: ") and "retention (3 days" in result.stderr


def test_log_group_uses_the_compiled_pattern_and_reports_a_throttled_stop(aws) -> None:
    aws.reset()
    group = "/aws/cloudtrail/security-baseline"
    aws.create_log_group(group)
    mine = events(3, start=NOW - timedelta(hours=5))
    others = [
        dynamodb_event(
            "DeleteTable", NOW - timedelta(hours=4), f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/x", "192.0.2.9"
        )
    ]
    aws.put_cloudtrail_records(group, mine + others)
    env = aws.base_environment()
    result = run_command(["--since", "1d", "--principal", "mallory", "--format", "jsonl"], env)  # auto: logs
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["time"] for line in result.stdout.splitlines()] == [r["eventTime"] for r in mine]
    assert f"log group {group}: 3 events read in 1 requests" in result.stderr

    aws.faults.fail_filter_log_events(times=10)
    result = run_command(["--since", "1d", "--principal", "mallory"], env)
    assert result.returncode == 1
    assert "INCOMPLETE: FilterLogEvents throttled (ThrottlingException" in result.stderr
    assert "covered events nothing" in result.stderr


def test_missing_region_or_credentials_is_bad_input(tmp_path) -> None:
    isolated = {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    result = run_command(["--event-name", "DeleteTable"], isolated)
    assert result.returncode == 2 and result.stderr.startswith("error: --aws-region: ")
    result = run_command(["--event-name", "DeleteTable", "--aws-region", "us-east-1"], isolated)
    assert result.returncode == 2 and result.stderr.startswith("error: credentials: ")
    assert stamp(NOW)  # the scenario's time format is the one the command prints


def test_auto_falls_back_to_event_history_without_a_log_group(aws, fresh_history) -> None:
    fresh_history.put(events(2, start=NOW - timedelta(hours=2)))
    result = run_command(
        ["--since", "1d", "--event-name", "DeleteTable", "--format", "jsonl"], aws.base_environment()
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert "Event History EventName=DeleteTable: page 1, 2 events read" in result.stderr
    assert "Event History us-east-1: 2 events read in 1 requests" in result.stderr
