"""The demo's fast path on moto's EventBridge: which (record, rule) pairs reach the forwarder, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from demo.cdk_out import FastPathRuleDefinition
from demo.eventbridge_delivery import parse_eventbridge_model
from demo.fast_path import ALL_MANAGEMENT_EVENTS_STATE, fast_path_events
from demo.simulation import to_log_events
from detections.catalogue import get_detection
from detections.targets.eventbridge import compile_patterns
from testkit.moto_harness import MotoHarness


def _root_call(event_id: str, name: str, *, read_only: bool, second: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventTime": (datetime(2026, 11, 30, 12, 0, tzinfo=UTC) + timedelta(seconds=second)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "eventType": "AwsApiCall",
        "readOnly": read_only,
        "awsRegion": "us-east-1",
        "eventID": event_id,
        "recipientAccountId": "111122223333",
        "sourceIPAddress": "203.0.113.9",
        "userIdentity": {
            "type": "Root",
            "accountId": "111122223333",
            "arn": "arn:aws:iam::111122223333:root",
        },
    }


def _rule(logical_id: str, state: str) -> FastPathRuleDefinition:
    pattern = compile_patterns(get_detection("root-account-usage").all_patterns).pattern
    return FastPathRuleDefinition(logical_id, logical_id, "root-account-usage", dict(pattern), state)


def test_moto_decides_the_match_and_read_only_calls_reach_only_rules_in_the_all_events_state(
    aws: MotoHarness,
) -> None:
    # Given a root write and a root read, and the same pattern in a rule of each state
    records = [
        _root_call("write", "CreateAccessKey", read_only=False, second=0),
        _root_call("read", "ListUsers", read_only=True, second=30),
        {**_root_call("other", "ListUsers", read_only=False, second=40), "userIdentity": {"type": "IAMUser"}},
    ]
    rules = [_rule("AllEvents", ALL_MANAGEMENT_EVENTS_STATE), _rule("WritesOnly", "ENABLED")]

    # When the demo plans the fast path with a fixed 4-second delivery
    found = fast_path_events(to_log_events(records), rules, parse_eventbridge_model("fixed:4"), 1, aws)

    # Then the root calls match (the IAM user's does not), the read only in the all-events rule
    assert sorted((f.rule.logical_id, f.event.record["eventID"]) for f in found) == [
        ("AllEvents", "read"),
        ("AllEvents", "write"),
        ("WritesOnly", "write"),
    ]
    # ... each delivered 4 s after its call, as the envelope CloudTrail publishes
    for fast in found:
        assert fast.arrival == fast.event.timestamp + timedelta(seconds=4)
        assert fast.envelope["detail"] == fast.event.record
        assert fast.envelope["detail-type"] == "AWS API Call via CloudTrail"
