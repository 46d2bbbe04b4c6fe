"""The pivot every page will carry: the exact command for "what else did this principal do around then?"."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from detections.pivot import pivot_command
from tests.investigate.conftest import REPO, run_command
from tests.investigate.trail_data import ACCOUNT, CULPRIT_ARN, CULPRIT_IP, Scenario, dynamodb_event

WHEN = datetime(2026, 11, 24, 14, 7, 31, tzinfo=UTC)


def test_the_command_for_a_record() -> None:
    record = dynamodb_event("DeleteTable", WHEN, CULPRIT_ARN, CULPRIT_IP)
    assert pivot_command(record) == (
        "python -m detections investigate --principal "
        f"{CULPRIT_ARN} --since 2026-11-24T02:07:31Z --until 2026-11-25T02:07:31Z --account {ACCOUNT}"
    )


def test_values_are_shell_quoted_and_fall_back_to_the_access_key() -> None:
    record = {"eventTime": "2026-11-24T14:07:31Z", "userIdentity": {"accessKeyId": "AKIA'; rm -rf /"}}
    command = pivot_command(record)
    assert command is not None
    assert shlex.split(command)[4:6] == ["--principal", "AKIA'; rm -rf /"]


def test_no_principal_or_time_no_command() -> None:
    assert pivot_command({"eventTime": "2026-11-24T14:07:31Z", "userIdentity": {"invokedBy": "x"}}) is None
    assert pivot_command({"userIdentity": {"arn": CULPRIT_ARN}}) is None
    assert pivot_command({"eventTime": "yesterday", "userIdentity": {"arn": CULPRIT_ARN}}) is None


def test_running_the_command_lists_the_principals_day(trail_folder: Path, scenario: Scenario) -> None:
    command = pivot_command(scenario.culprit)
    assert command is not None
    argv = shlex.split(command)
    assert argv[:4] == ["python", "-m", "detections", "investigate"]
    result = run_command([*argv[4:], "--format", "jsonl", str(trail_folder)])
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    culprit_time = datetime.fromisoformat(scenario.culprit["eventTime"].replace("Z", "+00:00"))
    expected = sorted(
        r["eventTime"]
        for r in scenario.records
        if r["userIdentity"].get("arn") == CULPRIT_ARN
        and abs(datetime.fromisoformat(r["eventTime"].replace("Z", "+00:00")) - culprit_time)
        <= timedelta(hours=12)
    )
    assert [row["time"] for row in rows] == expected
    assert {row["event"] for row in rows} == {"DescribeTable", "DeleteTable"}


def test_importing_the_pivot_is_light() -> None:
    """It runs in the forwarder Lambda: the standard library only, nothing else of ours."""
    code = "import sys, detections.pivot; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    code += "('boto3', 'botocore', 'lambdas', 'detections', 'moto', 'stacks')))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['detections', 'detections.pivot']"
