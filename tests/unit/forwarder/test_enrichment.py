"""Mapping alarms to detections, deciding what a state change means, and summarising the evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from detections.catalogue import get_detection
from detections.suppressions import parse_suppressions
from lambdas.forwarder import enrichment, episodes
from lambdas.forwarder.models import parse_lambda_event
from testkit.alarms import cloudtrail_record, load_event, sns_event_with

PREFIX = "security-baseline-"
SINGLE_METRIC_TRIGGER = json.loads(
    load_event("sns_alarm_single_metric.json")["Records"][0]["Sns"]["Message"]
)["Trigger"]


def notification_of(event: dict):
    (notification,) = parse_lambda_event(event).notifications
    return notification


def test_maps_by_alarm_name_prefix() -> None:
    notification = notification_of(load_event("sns_alarm_single_metric.json"))
    detection = episodes.map_to_detection(notification, PREFIX, get_detection)
    assert detection is not None
    assert detection.id == "root-account-usage"


def test_falls_back_to_the_id_in_brackets_at_the_start_of_the_description() -> None:
    notification = notification_of(load_event("sns_alarm_metric_math.json"))  # AlarmName "team-math-alarm"
    detection = episodes.map_to_detection(notification, PREFIX, get_detection)
    assert detection is not None
    assert detection.id == "unauthorized-api-calls"


def test_unknown_alarm_maps_to_none() -> None:
    # The metric is what names the detection first, so an unknown alarm has an unknown metric too.
    trigger = {**SINGLE_METRIC_TRIGGER, "MetricName": "no-such-detection"}
    event = sns_event_with(
        {"AlarmName": "security-baseline-no-such-detection", "AlarmDescription": None, "Trigger": trigger}
    )
    assert episodes.map_to_detection(notification_of(event), PREFIX, get_detection) is None


def test_maps_by_the_metric_in_our_namespace_before_the_name() -> None:
    # A renamed alarm (no prefix, no description) on a detection's metric still maps by the metric
    event = sns_event_with({"AlarmName": "team-renamed", "AlarmDescription": None})
    detection = episodes.map_to_detection(notification_of(event), PREFIX, get_detection)
    assert detection is not None and detection.id == "root-account-usage"
    # ... and the metric outranks a name that says otherwise
    event = sns_event_with({"AlarmName": "security-baseline-iam-policy-changes"})
    detection = episodes.map_to_detection(notification_of(event), PREFIX, get_detection)
    assert detection is not None and detection.id == "root-account-usage"


def test_a_metric_of_the_same_name_in_another_namespace_is_not_ours() -> None:
    trigger = {**SINGLE_METRIC_TRIGGER, "Namespace": "SomeoneElse"}
    event = sns_event_with({"AlarmName": "team-renamed", "AlarmDescription": None, "Trigger": trigger})
    assert episodes.map_to_detection(notification_of(event), PREFIX, get_detection) is None
    # The deployment's namespace is a setting: with it, the same metric maps
    detection = episodes.map_to_detection(
        notification_of(event), PREFIX, get_detection, namespace="SomeoneElse"
    )
    assert detection is not None and detection.id == "root-account-usage"


@pytest.mark.parametrize(
    ("detection_id", "new", "old", "action"),
    [
        ("root-account-usage", "ALARM", "OK", "trigger"),
        ("root-account-usage", "ALARM", "INSUFFICIENT_DATA", "trigger"),
        ("root-account-usage", "OK", "ALARM", "ignore"),  # manual: a human resolves
        ("console-authentication-failures", "OK", "ALARM", "resolve"),
        # ALARM -> INSUFFICIENT_DATA (not notified) -> OK: the open alert must still be resolved
        ("console-authentication-failures", "OK", "INSUFFICIENT_DATA", "resolve"),
        ("console-authentication-failures", "INSUFFICIENT_DATA", "ALARM", "ignore"),
        (None, "ALARM", "OK", "trigger"),  # unknown alarm: degraded page
        (None, "OK", "ALARM", "dead-letter"),  # unknown alarm, no policy: never silently dropped
    ],
)
def test_decisions_per_state_and_resolve_policy(detection_id, new, old, action) -> None:
    notification = notification_of(sns_event_with({"NewStateValue": new, "OldStateValue": old}))
    detection = get_detection(detection_id) if detection_id else None
    assert episodes.decide(notification, detection).action == action


def test_window_covers_evaluated_periods_plus_delivery_delay() -> None:
    notification = notification_of(load_event("sns_alarm_single_metric.json"))  # 2 x 300 s
    window = enrichment.evaluation_window(notification)
    assert window.end == datetime(2026, 11, 24, 6, 23, 5, 123000, tzinfo=UTC)
    assert window.start == datetime(2026, 11, 24, 5, 56, 5, 123000, tzinfo=UTC)  # 10 min + 15 min before
    assert window.end_ms - window.start_ms == (600 + 15 * 60 + 2 * 60) * 1000


def test_summary_of_principals_sources_and_resources() -> None:
    records = [
        cloudtrail_record(eventID="a", eventTime="2026-11-24T06:20:10Z"),
        cloudtrail_record(
            eventID="b",
            eventTime="2026-11-24T06:18:00Z",
            sourceIPAddress="198.51.100.2",
            errorCode="AccessDenied",
            requestParameters={"bucketName": "payroll"},
        ),
        cloudtrail_record(
            eventID="c",
            eventTime="2026-11-24T06:19:00Z",
            userIdentity={
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/Admin/bob",
                "accessKeyId": "ASIAEXAMPLE",
                "sessionContext": {
                    "attributes": {"mfaAuthenticated": "true"},
                    "sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/Admin"},
                },
            },
        ),
    ]
    summary = enrichment.summarize(records)
    assert summary["count"] == 3
    assert (summary["first_seen"], summary["last_seen"]) == ("2026-11-24T06:18:00Z", "2026-11-24T06:20:10Z")
    assert summary["principals"][0]["arn"] == "arn:aws:iam::123456789012:user/alice"
    assert summary["principals"][0]["events"] == 2
    admin = summary["principals"][1]
    assert admin == {
        "arn": "arn:aws:sts::123456789012:assumed-role/Admin/bob",
        "type": "AssumedRole",
        "mfa_used": True,
        "session_issuer": "arn:aws:iam::123456789012:role/Admin",
        "access_key_id": "ASIAEXAMPLE",
        "user_name": None,
        "events": 1,
    }
    assert summary["source_ips"] == ["203.0.113.7", "198.51.100.2"]
    assert summary["error_codes"] == ["AccessDenied"]
    assert set(summary["resources"]) == {"userName=bob", "bucketName=payroll"}


@pytest.mark.parametrize(
    ("event_name", "request_parameters", "shown"),
    [
        ("DeleteTable", {"tableName": "orders"}, "tableName=orders"),
        ("DeleteDBCluster", {"dBClusterIdentifier": "billing"}, "dBClusterIdentifier=billing"),
        ("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "nightly"}, "dBSnapshotIdentifier=nightly"),
        ("ModifyImageAttribute", {"imageId": "ami-0abc"}, "imageId=ami-0abc"),
        ("DeleteSecret", {"secretId": "prod/db"}, "secretId=prod/db"),
        ("DeleteLogGroup", {"logGroupName": "/aws/cloudtrail"}, "logGroupName=/aws/cloudtrail"),
    ],
)
def test_the_page_names_the_resource_a_dangerous_call_acted_on(event_name, request_parameters, shown) -> None:
    # Without a resources array, as these calls are usually recorded
    record = cloudtrail_record(eventName=event_name, requestParameters=request_parameters)
    record.pop("resources", None)
    assert enrichment.affected_resources(record) == [shown]


def test_console_login_mfa_comes_from_additional_event_data() -> None:
    record = cloudtrail_record(
        userIdentity={"type": "Root", "arn": "arn:aws:iam::123456789012:root"},
        additionalEventData={"MFAUsed": "No"},
    )
    principal = enrichment.principal_of(record)
    assert principal["mfa_used"] is False
    assert enrichment.principal_display(principal) == "root user"


def test_summary_fields_name_the_top_value_and_how_many_others() -> None:
    records = [cloudtrail_record(), cloudtrail_record(sourceIPAddress="198.51.100.9"), cloudtrail_record()]
    fields = enrichment.summary_fields(
        title="T", records=records, account="prod (123456789012)", region="us-east-1", count=3
    )
    assert fields == {
        "title": "T",
        "principal": "user/alice",
        "source_ip": "203.0.113.7 (+1 more)",
        "account": "prod (123456789012)",
        "region": "us-east-1",
        "event_name": "CreateAccessKey",
        "count": "3",
    }


def test_summary_fields_say_unknown_without_evidence() -> None:
    fields = enrichment.summary_fields(title="T", records=[], account="1", region="r", count=0)
    assert fields["principal"] == fields["source_ip"] == fields["event_name"] == "unknown"


def test_suppressions_split_kept_and_suppressed() -> None:
    suppressions = parse_suppressions(
        [
            {
                "detection": "access-key-created-for-user-or-root",
                "principalArnPattern": "arn:aws:iam::*:user/alice",
                "expires": "2026-12-31",
                "reason": "key rotation tool",
            }
        ]
    )
    records = [
        cloudtrail_record(eventID="1"),
        cloudtrail_record(eventID="2", userIdentity={"arn": "arn:aws:iam::123456789012:user/eve"}),
    ]
    outcome = enrichment.apply_suppressions(
        records, suppressions, "access-key-created-for-user-or-root", datetime(2026, 11, 24, tzinfo=UTC)
    )
    assert [r["eventID"] for r in outcome.kept] == ["2"]
    assert [r["eventID"] for r, _ in outcome.suppressed] == ["1"]
    assert not outcome.all_suppressed
    only_alice = enrichment.apply_suppressions(
        records[:1], suppressions, "access-key-created-for-user-or-root", datetime(2026, 11, 24, tzinfo=UTC)
    )
    assert only_alice.all_suppressed


def test_deep_links_point_at_the_alarm_window_and_events() -> None:
    notification = notification_of(load_event("sns_alarm_single_metric.json"))
    window = enrichment.evaluation_window(notification)
    assert enrichment.alarm_link(notification) == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#alarmsV2:alarm/security-baseline-root-account-usage"
    )
    insights = enrichment.logs_insights_link(notification, "aws-cloudtrail-logs", window, ["ev-1", "ev-2"])
    decoded = unquote(insights.split("#logsV2:logs-insights", 1)[1].replace("$", "%").replace("*", "%"))
    assert decoded.startswith("?queryDetail=~(end~'2026-11-24T06:23:05.000Z~start~'2026-11-24T05:56:05.000Z")
    assert 'filter eventID in ["ev-1", "ev-2"]' in decoded
    assert "~source~(~'aws-cloudtrail-logs))" in decoded
    assert enrichment.cloudtrail_event_links(notification, ["ev-1"]) == [
        "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/ev-1"
    ]


def test_sample_events_cut_long_strings_and_long_lists() -> None:
    record = cloudtrail_record(requestParameters={"policy": "x" * 50_000, "items": list(range(80))})
    (sample,) = enrichment.sample_events([record])
    assert isinstance(sample, dict)
    assert len(sample["requestParameters"]["policy"]) < 33_000
    assert sample["requestParameters"]["policy"].endswith("chars cut]")
    assert sample["requestParameters"]["items"][-1] == "[30 more items cut]"
