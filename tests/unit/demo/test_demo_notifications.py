"""The alarm notification as CloudWatch publishes it and as SNS hands it to a Lambda function."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from demo.alarm_evaluator import AlarmDefinition, Datapoint, Transition
from demo.notifications import alarm_message, cloudwatch_timestamp, sns_lambda_event, sns_subject

TOPIC = "arn:aws:sns:eu-west-1:111122223333:security-alerts"
ALARM = AlarmDefinition(
    name="security-baseline-root-console-login",
    metric_name="root-console-login",
    namespace="SecurityBaseline",
    statistic="Sum",
    period_seconds=60,
    evaluation_periods=1,
    threshold=1.0,
    comparison_operator="GreaterThanOrEqualToThreshold",
    treat_missing_data="notBreaching",
    datapoints_to_alarm=1,
    description="[root-console-login] Root user console sign-in. Severity: critical.",
    alarm_actions=(TOPIC,),
)
AT = datetime(2026, 3, 14, 9, 8, tzinfo=UTC)
TRANSITION = Transition(ALARM, AT, "OK", "ALARM", "Threshold Crossed: ...", (Datapoint(AT, 1.0),))


def test_alarm_message_has_cloudwatchs_keys_in_cloudwatchs_order() -> None:
    message = alarm_message(
        TRANSITION, account_id="111122223333", region="eu-west-1", configuration_updated_at=AT
    )
    assert list(message) == [
        "AlarmName",
        "AlarmDescription",
        "AWSAccountId",
        "AlarmConfigurationUpdatedTimestamp",
        "NewStateValue",
        "NewStateReason",
        "StateChangeTime",
        "Region",
        "AlarmArn",
        "OldStateValue",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "Trigger",
    ]
    assert message["Region"] == "EU (Ireland)"  # a display name, not the region code
    assert (
        message["AlarmArn"]
        == "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:security-baseline-root-console-login"
    )
    assert message["StateChangeTime"] == "2026-03-14T09:08:00.000+0000"
    assert message["AlarmActions"] == [TOPIC] and message["OKActions"] == []
    assert message["Trigger"] == {
        "MetricName": "root-console-login",
        "Namespace": "SecurityBaseline",
        "StatisticType": "Statistic",
        "Statistic": "SUM",
        "Unit": None,
        "Dimensions": [],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }


def test_sns_lambda_event_wraps_the_message_as_a_json_string() -> None:
    message = alarm_message(
        TRANSITION, account_id="111122223333", region="eu-west-1", configuration_updated_at=AT
    )
    event = sns_lambda_event(
        message, topic_arn=TOPIC, subject=sns_subject(TRANSITION, "eu-west-1"), published_at=AT
    )
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"].startswith(TOPIC + ":")
    sns = record["Sns"]
    assert sns["Type"] == "Notification"
    assert sns["TopicArn"] == TOPIC
    assert sns["Subject"] == 'ALARM: "security-baseline-root-console-login" in EU (Ireland)'
    assert json.loads(sns["Message"]) == message
    assert sns["Timestamp"] == "2026-03-14T09:08:00.000Z"
    assert {"SigningCertUrl", "UnsubscribeUrl", "Signature", "MessageId", "MessageAttributes"} <= set(sns)


def test_the_same_notification_gets_the_same_message_id() -> None:
    # SNS redelivers with the same MessageId; the forwarder's dedup key relies on it.
    message = alarm_message(
        TRANSITION, account_id="111122223333", region="eu-west-1", configuration_updated_at=AT
    )
    first = sns_lambda_event(message, topic_arn=TOPIC, subject="s", published_at=AT)
    again = sns_lambda_event(message, topic_arn=TOPIC, subject="s", published_at=AT)
    assert first["Records"][0]["Sns"]["MessageId"] == again["Records"][0]["Sns"]["MessageId"]


def test_subject_is_cut_to_snss_100_characters() -> None:
    long_alarm = Transition(
        AlarmDefinition(**{**ALARM.__dict__, "name": "x" * 200}), AT, "OK", "ALARM", "r", ()
    )
    assert len(sns_subject(long_alarm, "us-east-1")) == 100


def test_cloudwatch_timestamp_keeps_milliseconds() -> None:
    assert (
        cloudwatch_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678_900, tzinfo=UTC))
        == "2026-01-02T03:04:05.678+0000"
    )
