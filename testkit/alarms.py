"""Builders for the forwarder's unit tests: real-shaped alarm events and CloudTrail records.

(A uniquely named module rather than conftest.py: test modules import from it, and several conftest.py
files exist in the suite.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).with_name("alarm_events")


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def sns_event_with(
    message_changes: dict[str, Any], base: str = "sns_alarm_single_metric.json"
) -> dict[str, Any]:
    """The base SNS event with fields of its alarm message replaced."""
    event = copy.deepcopy(load_event(base))
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(message_changes)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def cloudtrail_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/alice",
            "accountId": "123456789012",
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "alice",
        },
        "eventTime": "2026-11-24T06:20:10Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"userName": "bob"},
        "responseElements": None,
        "eventID": "11111111-1111-1111-1111-111111111111",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012",
    }
    record.update(overrides)
    return record
