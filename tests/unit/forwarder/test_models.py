"""Parsing every shape an alarm reaches the forwarder in, and refusing the rest with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lambdas.forwarder.models import MalformedNotificationError, parse_alarm_action, parse_lambda_event
from testkit.alarms import load_event, sns_event_with


def only(event: object):
    parsed = parse_lambda_event(event)
    assert parsed.failures == (), [f.reason for f in parsed.failures]
    (notification,) = parsed.notifications
    return notification


def test_sns_alarm_takes_the_region_from_the_arn_not_the_display_name() -> None:
    # Given an SNS-delivered alarm whose Region is "EU (Ireland)"
    notification = only(load_event("sns_alarm_single_metric.json"))
    # Then the region is the code from AlarmArn, and the episode fields are typed
    assert notification.region == "eu-west-1"
    assert notification.account_id == "123456789012"
    assert notification.new_state == "ALARM" and notification.old_state == "OK"
    assert notification.state_change_time == datetime(2026, 11, 24, 6, 21, 5, 123000, tzinfo=UTC)
    assert notification.state_change_time_iso == "2026-11-24T06:21:05.123Z"
    assert (notification.period_seconds, notification.evaluation_periods) == (300, 2)
    assert notification.evaluation_window_seconds == 600
    assert notification.metrics[0].name == "root-account-usage"
    assert notification.delivery == "sns"
    assert notification.message_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"


def test_null_alarm_description_is_none() -> None:
    notification = only(load_event("sns_alarm_ok_null_description.json"))
    assert notification.description is None
    assert (notification.new_state, notification.old_state) == ("OK", "ALARM")


def test_metric_math_alarm_reads_trigger_metrics_instead_of_metric_name() -> None:
    notification = only(load_event("sns_alarm_metric_math.json"))
    assert notification.new_state == "INSUFFICIENT_DATA"
    assert [m.expression for m in notification.metrics] == ["m1+m2", None, None]
    assert [m.name for m in notification.metrics] == [
        None,
        "unauthorized-api-calls",
        "console-authentication-failures",
    ]
    assert (notification.period_seconds, notification.evaluation_periods) == (60, 3)


def test_metric_math_without_trigger_period_takes_the_metric_stat_period() -> None:
    event = load_event("sns_alarm_metric_math.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    del message["Trigger"]["Period"]
    message["Trigger"]["Metrics"][1]["MetricStat"]["Period"] = 300
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    assert only(event).period_seconds == 300


def test_direct_lambda_alarm_action_shape() -> None:
    notification = only(load_event("lambda_alarm_action.json"))
    assert notification.delivery == "alarm-action"
    assert notification.region == "us-west-2"
    assert notification.description is None
    assert notification.period_seconds == 300
    assert notification.evaluation_periods == 2  # from reasonData.evaluatedDatapoints
    assert notification.state_change_time_iso == "2026-11-24T06:21:05.123Z"
    assert notification.message_id is None


def test_the_same_state_change_by_sns_and_by_alarm_action_has_the_same_episode_time() -> None:
    by_sns = only(load_event("sns_alarm_single_metric.json"))
    by_action = only(load_event("lambda_alarm_action.json"))
    assert by_sns.state_change_time == by_action.state_change_time


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"Records": [{"Sns": {"Message": "not json"}}]}, "Records[0]: SNS Message is not JSON"),
        ({"Records": [{"Sns": {"Message": "[1, 2]"}}]}, "Records[0]: SNS Message JSON is not an object"),
        ({"Records": [{"EventSource": "aws:sqs", "body": "{}"}]}, "Records[0]: not an SNS record"),
        ({"Records": []}, "SNS event has an empty Records list"),
        (sns_event_with({"NewStateValue": "BROKEN"}), "NewStateValue is 'BROKEN', expected one of"),
        (
            sns_event_with({"AlarmArn": "arn:aws:sns:us-east-1:123456789012:x"}),
            "is not a CloudWatch alarm ARN",
        ),
        (sns_event_with({"StateChangeTime": "yesterday"}), "StateChangeTime 'yesterday' is not an ISO 8601"),
        (
            sns_event_with({"Trigger": {"Period": 60}}),
            "Trigger has neither MetricName nor a non-empty Metrics",
        ),
        (sns_event_with({"Trigger": None}), "alarm message has no 'Trigger' object"),
        ({"hello": "world"}, "unrecognised event: neither SNS Records nor a CloudWatch alarm action"),
        ("a string", "event is a str, not an object"),
    ],
)
def test_malformed_input_becomes_a_failure_with_the_reason_and_the_raw_input(
    event: object, reason: str
) -> None:
    parsed = parse_lambda_event(event)
    assert parsed.notifications == ()
    (failure,) = parsed.failures
    assert reason in failure.reason
    assert failure.raw is not None


def test_one_bad_record_does_not_hide_the_good_one() -> None:
    good = load_event("sns_alarm_single_metric.json")["Records"][0]
    parsed = parse_lambda_event({"Records": [good, {"Sns": {"Message": "{"}}]})
    assert len(parsed.notifications) == 1
    assert parsed.failures[0].reason.startswith("Records[1]:")


def test_alarm_action_without_metrics_is_malformed() -> None:
    event = load_event("lambda_alarm_action.json")
    event["alarmData"]["configuration"]["metrics"] = []
    with pytest.raises(MalformedNotificationError, match=r"configuration\.metrics is missing or empty"):
        parse_alarm_action(event)
