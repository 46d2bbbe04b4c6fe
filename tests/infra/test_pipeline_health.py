"""Specification of self-monitoring: the pipeline's own failures reach a human without the forwarder."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from lambdas.forwarder.environment import (
    FORWARDER_METRICS_NAMESPACE,
    SERVICE_DIMENSION,
    SERVICE_NAME,
    ForwarderMetric,
)
from stacks.config import BaselineConfig
from stacks.constructs.pipeline_health import PipelineHealth
from tests.infra.alarms_harness import (
    CUSTOM_HEALTH_EMAILS,
    CUSTOM_HEALTH_HTTPS,
    CUSTOM_TRAIL_SILENCE_MINUTES,
    SynthesizedAlerting,
    custom_alerting,
)

PREFIX = BaselineConfig().alarms.name_prefix
HEALTH_ALARMS = {
    "forwarder-errors",
    "forwarder-throttles",
    "dead-letters",
    "alert-delivery-failed",
    "trail-silent",
    # The fast path is on by default:
    "fast-path-dead-letters",
    "episode-store-failures",
    "fast-path-mismatches",
}
FAST_PATH_HEALTH_ALARMS = {"fast-path-dead-letters", "episode-store-failures", "fast-path-mismatches"}


def health_alarms(synth: SynthesizedAlerting) -> dict[str, dict[str, Any]]:
    prefix = f"{PREFIX}health-"
    return {
        props["AlarmName"].removeprefix(prefix): props
        for _, props in synth.properties("AWS::CloudWatch::Alarm")
        if props["AlarmName"].startswith(prefix)
    }


def semantics(props: dict[str, Any]) -> tuple[Any, ...]:
    return (
        props["Namespace"],
        props["MetricName"],
        props["Statistic"],
        props["Period"],
        props["EvaluationPeriods"],
        props["ComparisonOperator"],
        props["Threshold"],
        props["TreatMissingData"],
    )


def test_there_are_exactly_the_eight_self_monitoring_alarms(synthesized):
    assert set(health_alarms(synthesized)) == HEALTH_ALARMS
    assert set(synthesized.stack.health_alarms) == HEALTH_ALARMS


def test_forwarder_errors_and_throttles_page_on_the_first_one(synthesized):
    alarms = health_alarms(synthesized)
    function_dimension = [
        {"Name": "FunctionName", "Value": {"Ref": synthesized.logical_id(synthesized.stack.forwarder)}}
    ]

    for name, metric in (("forwarder-errors", "Errors"), ("forwarder-throttles", "Throttles")):
        assert semantics(alarms[name]) == (
            "AWS/Lambda",
            metric,
            "Sum",
            60,
            1,
            "GreaterThanOrEqualToThreshold",
            1,
            "notBreaching",
        )
        assert alarms[name]["Dimensions"] == function_dimension


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("episode-store-failures", ForwarderMetric.EPISODE_STORE_FAILURES),
        ("fast-path-mismatches", ForwarderMetric.FAST_PATH_MISMATCHES),
    ],
)
def test_a_degraded_fast_path_pages_on_the_first_occurrence(synthesized, name, metric):
    # The forwarder's own metric, as its handler emits it (tests/integration/test_fast_path_forwarder.py
    # reads the same namespace, name and dimension from the handler's output)
    alarm = health_alarms(synthesized)[name]
    assert semantics(alarm) == (
        FORWARDER_METRICS_NAMESPACE,
        metric.value,
        "Sum",
        60,
        1,
        "GreaterThanOrEqualToThreshold",
        1,
        "notBreaching",
    )
    assert alarm["Dimensions"] == [{"Name": SERVICE_DIMENSION, "Value": SERVICE_NAME}]


def test_without_the_fast_path_its_health_alarms_are_not_built():
    stack = Stack(App(), "HealthOnly")
    health = PipelineHealth(stack, "Health", **_health_inputs(stack, BaselineConfig().health))
    assert set(health.alarms) == HEALTH_ALARMS - FAST_PATH_HEALTH_ALARMS


def test_any_message_in_the_dead_letter_queue_pages(synthesized):
    alarm = health_alarms(synthesized)["dead-letters"]
    queue_id = synthesized.logical_id(synthesized.stack.dead_letter_queue)

    assert semantics(alarm) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        60,
        1,
        "GreaterThanOrEqualToThreshold",
        1,
        "notBreaching",
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]


def test_sns_failing_to_deliver_an_alert_pages(synthesized):
    alarm = health_alarms(synthesized)["alert-delivery-failed"]
    alerts_topic_id = synthesized.logical_id(synthesized.stack.alerts_topic)

    assert semantics(alarm) == (
        "AWS/SNS",
        "NumberOfNotificationsFailed",
        "Sum",
        60,
        1,
        "GreaterThanOrEqualToThreshold",
        1,
        "notBreaching",
    )
    assert alarm["Dimensions"] == [
        {"Name": "TopicName", "Value": {"Fn::GetAtt": [alerts_topic_id, "TopicName"]}}
    ]


def test_a_silent_trail_pages_and_missing_data_counts_as_silence(synthesized):
    alarm = health_alarms(synthesized)["trail-silent"]
    minutes = BaselineConfig().health.trail_silence_minutes

    # No events -> no IncomingLogEvents data point at all, so "breaching" is what makes this fire.
    assert semantics(alarm) == (
        "AWS/Logs",
        "IncomingLogEvents",
        "Sum",
        minutes * 60,
        1,
        "LessThanThreshold",
        1,
        "breaching",
    )
    assert alarm["Dimensions"] == [
        {
            "Name": "LogGroupName",
            "Value": synthesized.stack.resolve(synthesized.trail_log_group.log_group_name),
        }
    ]


def test_the_silence_window_follows_the_configuration():
    alarm = health_alarms(custom_alerting())["trail-silent"]

    assert alarm["Period"] == CUSTOM_TRAIL_SILENCE_MINUTES * 60


def test_every_health_alarm_notifies_the_health_topic_on_alarm_and_recovery_never_the_alerts_topic(
    synthesized,
):
    stack = synthesized.stack
    health_topic = stack.resolve(stack.health_topic.topic_arn)
    alerts_topic = stack.resolve(stack.alerts_topic.topic_arn)

    assert health_topic != alerts_topic
    for name, props in health_alarms(synthesized).items():
        assert props["AlarmActions"] == [health_topic], name
        assert props["OKActions"] == [health_topic], name
        assert "InsufficientDataActions" not in props, name


def test_the_forwarder_is_not_subscribed_to_the_health_topic(synthesized):
    health_topic = synthesized.stack.resolve(synthesized.stack.health_topic.topic_arn)

    subscribed = [
        p for _, p in synthesized.properties("AWS::SNS::Subscription") if p["TopicArn"] == health_topic
    ]
    assert subscribed == []  # default config: no health subscribers configured, and never the Lambda


def test_configured_emails_and_pagerduty_https_endpoints_subscribe_to_the_health_topic():
    synth = custom_alerting()
    health_topic = synth.stack.resolve(synth.stack.health_topic.topic_arn)

    subscriptions = sorted(
        (p["Protocol"], p["Endpoint"])
        for _, p in synth.properties("AWS::SNS::Subscription")
        if p["TopicArn"] == health_topic
    )
    assert subscriptions == sorted(
        [("email", e) for e in CUSTOM_HEALTH_EMAILS] + [("https", u) for u in CUSTOM_HEALTH_HTTPS]
    )


@pytest.mark.parametrize("minutes", [0, 24 * 60 + 1])
def test_a_silence_window_cloudwatch_cannot_evaluate_fails_synth(minutes):
    stack = Stack(App(), "HealthOnly")
    settings = BaselineConfig().health.__class__(emails=(), https_endpoints=(), trail_silence_minutes=minutes)

    with pytest.raises(ValueError, match=r"trailSilenceMinutes is .* between 1 and 1440"):
        PipelineHealth(stack, "Health", **_health_inputs(stack, settings))


def _health_inputs(stack: Stack, settings: Any) -> dict[str, Any]:
    """PipelineHealth's inputs as imported stand-ins, without the fast path."""
    return {
        "settings": settings,
        "name_prefix": PREFIX,
        "forwarder": lambda_.Function.from_function_name(stack, "Fn", "forwarder"),
        "dead_letter_queue": sqs.Queue.from_queue_arn(stack, "Q", "arn:aws:sqs:us-east-1:111122223333:q"),
        "trail_log_group": logs.LogGroup.from_log_group_name(stack, "L", "trail"),
        "alerts_topic": sns.Topic.from_topic_arn(stack, "T", "arn:aws:sns:us-east-1:111122223333:t"),
    }
