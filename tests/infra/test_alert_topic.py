"""Specification of the alerts topic (and the health topic, built by the same construct).

An SNS topic on the AWS-managed key silently drops CloudWatch alarm notifications; these tests pin the
customer-managed key, the exact CloudWatch grant on it, and a topic policy that lets only this account's
alarms publish, over TLS.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from aws_cdk import App, Stack

from stacks.config import BaselineConfig
from stacks.constructs.alert_topic import AlertTopic
from tests.infra.alarms_harness import (
    CUSTOM_ALERT_EMAILS,
    SynthesizedAlerting,
    custom_alerting,
)

ACCOUNT = {"Ref": "AWS::AccountId"}
ALARM_ARN_PATTERN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":cloudwatch:",
            {"Ref": "AWS::Region"},
            ":",
            ACCOUNT,
            f":alarm:{BaselineConfig().alarms.name_prefix}*",
        ],
    ]
}
ACCOUNT_ROOT = {"AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", ACCOUNT, ":root"]]}}
ONLY_THIS_ACCOUNTS_ALARMS = {
    "StringEquals": {"aws:SourceAccount": ACCOUNT},
    "ArnLike": {"aws:SourceArn": ALARM_ARN_PATTERN},
}


def topic_resource(synth: SynthesizedAlerting, topic: Any) -> dict[str, Any]:
    return synth.resources("AWS::SNS::Topic")[synth.logical_id(topic)]["Properties"]


def key_id_of_topic(synth: SynthesizedAlerting, topic: Any) -> str:
    key_ref = topic_resource(synth, topic)["KmsMasterKeyId"]
    assert set(key_ref) == {"Fn::GetAtt"}, f"topic must use a key of this stack, not {key_ref}"
    return key_ref["Fn::GetAtt"][0]


def key_statements(synth: SynthesizedAlerting, key_logical_id: str) -> list[dict[str, Any]]:
    return synth.resources("AWS::KMS::Key")[key_logical_id]["Properties"]["KeyPolicy"]["Statement"]


def topic_policy_statements(synth: SynthesizedAlerting, topic: Any) -> list[dict[str, Any]]:
    topic_ref = synth.stack.resolve(topic.topic_arn)
    (policy,) = [p for _, p in synth.properties("AWS::SNS::TopicPolicy") if p["Topics"] == [topic_ref]]
    return policy["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("topic_attribute", ["alerts_topic", "health_topic"])
def test_topic_is_encrypted_with_a_rotating_customer_managed_key(synthesized, topic_attribute):
    key_logical_id = key_id_of_topic(synthesized, getattr(synthesized.stack, topic_attribute))

    key = synthesized.resources("AWS::KMS::Key")[key_logical_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


def test_alerts_and_health_topics_do_not_share_a_key(synthesized):
    stack = synthesized.stack

    assert key_id_of_topic(synthesized, stack.alerts_topic) != key_id_of_topic(
        synthesized, stack.health_topic
    )


@pytest.mark.parametrize("topic_attribute", ["alerts_topic", "health_topic"])
def test_key_policy_grants_cloudwatch_exactly_what_publishing_needs_and_nothing_else(
    synthesized, topic_attribute
):
    statements = key_statements(
        synthesized, key_id_of_topic(synthesized, getattr(synthesized.stack, topic_attribute))
    )

    assert statements == [
        # CDK's default statement: IAM of this account administers the key (without it the key is
        # unmanageable); no other principal is named.
        {"Action": "kms:*", "Effect": "Allow", "Principal": ACCOUNT_ROOT, "Resource": "*"},
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": ONLY_THIS_ACCOUNTS_ALARMS,
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Resource": "*",
            "Sid": "AllowCloudWatchAlarmsOfThisAccountToUseTheKey",
        },
    ]


@pytest.mark.parametrize("topic_attribute", ["alerts_topic", "health_topic"])
def test_only_this_accounts_cloudwatch_alarms_may_publish_and_only_over_tls(synthesized, topic_attribute):
    topic = getattr(synthesized.stack, topic_attribute)
    topic_ref = synthesized.stack.resolve(topic.topic_arn)

    statements = topic_policy_statements(synthesized, topic)

    assert sorted(statements, key=lambda s: s["Effect"]) == [
        {
            "Action": "sns:Publish",
            "Condition": ONLY_THIS_ACCOUNTS_ALARMS,
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Resource": topic_ref,
            "Sid": "AllowCloudWatchAlarmsOfThisAccountToPublish",
        },
        {
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": "*",
            "Resource": topic_ref,
            "Sid": "AllowPublishThroughSSLOnly",
        },
    ]


def test_default_configuration_has_no_email_subscribers(synthesized):
    protocols = [props["Protocol"] for _, props in synthesized.properties("AWS::SNS::Subscription")]

    assert protocols == ["lambda"]  # only the forwarder


def test_configured_alert_emails_subscribe_to_the_alerts_topic_only():
    synth = custom_alerting()
    alerts_ref = synth.stack.resolve(synth.stack.alerts_topic.topic_arn)

    emails = {
        props["Endpoint"]: props["TopicArn"]
        for _, props in synth.properties("AWS::SNS::Subscription")
        if props["Endpoint"] in CUSTOM_ALERT_EMAILS
    }
    assert emails == dict.fromkeys(CUSTOM_ALERT_EMAILS, alerts_ref)
    for _, props in synth.properties("AWS::SNS::Subscription"):
        if props["Endpoint"] in CUSTOM_ALERT_EMAILS:
            assert props["Protocol"] == "email"


def test_an_https_subscriber_must_use_https():
    stack = Stack(App(), "TopicOnly")

    with pytest.raises(ValueError, match=r"must start with https://"):
        AlertTopic(
            stack,
            "Topic",
            purpose="pipeline health",
            alarm_name_prefix="security-baseline-",
            https_subscribers=("http://example.com/hook",),
        )


def test_every_alarm_of_the_stack_is_allowed_by_the_topic_it_notifies(synthesized):
    # The grants match alarms by name prefix: an alarm outside it would deploy fine and never notify.
    topics = {
        synthesized.stack.resolve(topic.topic_arn)["Ref"]: topic
        for topic in (synthesized.stack.alerts_topic, synthesized.stack.health_topic)
    }
    alarms = [props for _, props in synthesized.properties("AWS::CloudWatch::Alarm")]
    assert len(alarms) > 40

    for props in alarms:
        for action in props["AlarmActions"] + props.get("OKActions", []):
            statements = topic_policy_statements(synthesized, topics[action["Ref"]])
            (allow,) = [s for s in statements if s["Effect"] == "Allow"]
            pattern = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1][-1]
            assert pattern.startswith(":alarm:")
            assert fnmatch.fnmatchcase(props["AlarmName"], pattern.removeprefix(":alarm:")), props[
                "AlarmName"
            ]
