"""The seed's question end to end: who deleted the `orders` table last Tuesday?

A DeleteTable among 3,000 other events of that Tuesday (plus an older DeleteTable outside the range), asked
with ``python -m detections investigate --event-name DeleteTable --since 8d`` in a fresh interpreter, over
trail files on disk, trail files in S3, CloudWatch Logs (FilterLogEvents) and Event History (LookupEvents),
the AWS ones on moto's server over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit.lookup_events import EventHistory
from testkit.moto_harness import MotoHarness
from tests.investigate.conftest import run_command
from tests.investigate.trail_data import (
    ACCOUNT,
    CULPRIT_ARN,
    CULPRIT_IP,
    CULPRIT_ROLE,
    REGION,
    Scenario,
    trail_files,
)

QUESTION = ["--event-name", "DeleteTable", "--since", "8d"]


def assert_answers(stdout: str, scenario: Scenario) -> None:
    """The table names the culprit, its IP and time, and nothing else."""
    rows = [line for line in stdout.splitlines() if "DeleteTable" in line and line[:4].isdigit()]
    assert len(rows) == 1, stdout
    row = rows[0]
    assert row.startswith(scenario.culprit["eventTime"])
    for expected in (CULPRIT_ARN, "AssumedRole", CULPRIT_ROLE, CULPRIT_IP, ACCOUNT, REGION, "Success"):
        assert expected in row
    assert scenario.old_delete["eventTime"] not in stdout
    assert "Summary: 1 event(s)" in stdout
    assert (
        f"principal: {CULPRIT_ARN} (AssumedRole, MFA, session issued by {CULPRIT_ROLE}): 1 event(s)" in stdout
    )


def test_over_trail_files(trail_folder: Path, scenario: Scenario) -> None:
    result = run_command([*QUESTION, str(trail_folder)])
    assert result.returncode == 0, result.stderr
    assert_answers(result.stdout, scenario)
    # The older DeleteTable's day folder is outside the range: its file is not even opened
    assert f"files: {len(scenario.records) - 1:,} events read; 1 file(s) not read" in result.stderr


def test_over_trail_files_as_json(trail_folder: Path, scenario: Scenario) -> None:
    result = run_command([*QUESTION, "--format", "json", str(trail_folder)])
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [(e["time"], e["principal"], e["source_ip"]) for e in answer["events"]] == [
        (scenario.culprit["eventTime"], CULPRIT_ARN, CULPRIT_IP)
    ]
    assert answer["summary"]["principals"][0]["arn"] == CULPRIT_ARN


def test_over_s3(aws: MotoHarness, scenario: Scenario) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="trail-bucket")
    for key, body in trail_files(scenario.records).items():
        s3.put_object(Bucket="trail-bucket", Key=key, Body=body)
    result = run_command([*QUESTION, "s3://trail-bucket/AWSLogs/"], aws.base_environment())
    assert result.returncode == 0, result.stderr
    assert_answers(result.stdout, scenario)


def test_over_the_log_group(aws: MotoHarness, scenario: Scenario) -> None:
    aws.create_log_group("/aws/cloudtrail/security-baseline")  # cdk.json's trailName
    aws.put_cloudtrail_records("/aws/cloudtrail/security-baseline", scenario.records)
    result = run_command([*QUESTION, "--source", "logs", "--show-pattern"], aws.base_environment())
    assert result.returncode == 0, result.stderr
    assert_answers(result.stdout, scenario)
    assert 'filter pattern: { ($.eventName = "DeleteTable") }' in result.stderr
    # FilterLogEvents did the filtering: only the DeleteTable in the range came back.
    assert "log group /aws/cloudtrail/security-baseline: 1 events read in 1 requests" in result.stderr


@pytest.mark.usefixtures("history")
def test_over_event_history(aws: MotoHarness, history: EventHistory, scenario: Scenario) -> None:
    history.put(scenario.records)
    requests_before = history.requests
    result = run_command([*QUESTION, "--source", "events"], aws.base_environment())
    assert result.returncode == 0, result.stderr
    assert_answers(result.stdout, scenario)
    # One lookup attribute (EventName=DeleteTable), one page, one request; the older DeleteTable is before
    # StartTime, so Event History does not return it.
    assert history.requests - requests_before == 1
    assert "Event History EventName=DeleteTable: page 1, 1 events read" in result.stderr
