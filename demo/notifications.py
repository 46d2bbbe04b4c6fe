"""What CloudWatch publishes to SNS when an alarm changes state, and what SNS hands to a subscribed Lambda.

Shapes follow real deliveries: the alarm JSON (key order, ``+0000`` timestamps, upper-case statistic,
region *display name*, ``Dimensions`` as ``{"value", "name"}``, ``DatapointsToAlarm``, ``TreatMissingData``
and an empty ``EvaluateLowSampleCountPercentile``), serialised compactly into ``Sns.Message`` of the SNS
Lambda event (``Records[0].EventSource == "aws:sns"``, ``SigningCertUrl``/``UnsubscribeUrl`` spelled as
Lambda spells them). Signatures are placeholders: nothing in the pipeline verifies them for Lambda
subscriptions (SNS has already authenticated the delivery).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from demo.alarm_evaluator import AlarmDefinition, Transition

# Console display names CloudWatch writes into "Region" (not the region code: consumers must use AlarmArn).
REGION_DISPLAY_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ca-central-1": "Canada (Central)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-central-2": "EU (Zurich)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-north-1": "EU (Stockholm)",
    "eu-south-1": "EU (Milan)",
    "me-south-1": "Middle East (Bahrain)",
    "sa-east-1": "South America (Sao Paulo)",
}
SNS_SUBJECT_LIMIT = 100


def region_display_name(region: str) -> str:
    return REGION_DISPLAY_NAMES.get(region, region)


def cloudwatch_timestamp(moment: datetime) -> str:
    """CloudWatch's ``2026-03-14T09:06:00.123+0000`` form (milliseconds, numeric offset without a colon)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def sns_timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def alarm_arn(alarm: AlarmDefinition, *, account_id: str, region: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{alarm.name}"


def alarm_message(
    transition: Transition,
    *,
    account_id: str,
    region: str,
    configuration_updated_at: datetime,
) -> dict[str, Any]:
    """The alarm state-change JSON CloudWatch publishes to the alarm's SNS actions."""
    alarm = transition.alarm
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": cloudwatch_timestamp(configuration_updated_at),
        "NewStateValue": transition.new_state,
        "NewStateReason": transition.reason,
        "StateChangeTime": cloudwatch_timestamp(transition.at),
        "Region": region_display_name(region),
        "AlarmArn": alarm_arn(alarm, account_id=account_id, region=region),
        "OldStateValue": transition.old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": alarm.statistic.upper(),
            "Unit": alarm.unit,
            "Dimensions": [{"value": value, "name": name} for name, value in alarm.dimensions],
            "Period": alarm.period_seconds,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.required_breaches,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": float(alarm.threshold),
            "TreatMissingData": alarm.treat_missing_data,
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def sns_subject(transition: Transition, region: str) -> str:
    subject = f'{transition.new_state}: "{transition.alarm.name}" in {region_display_name(region)}'
    return subject[:SNS_SUBJECT_LIMIT]


def _stable_uuid(*parts: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("\x1f".join(parts).encode()).digest()[:16], version=4))


def sns_lambda_event(
    message: dict[str, Any],
    *,
    topic_arn: str,
    subject: str,
    published_at: datetime,
) -> dict[str, Any]:
    """The event a Lambda subscribed to ``topic_arn`` receives for one published message."""
    body = json.dumps(message, separators=(",", ":"))
    message_id = _stable_uuid(topic_arn, body)
    region = topic_arn.split(":")[3]
    subscription_arn = f"{topic_arn}:{_stable_uuid(topic_arn, 'lambda-subscription')}"
    signature = base64.b64encode(hashlib.sha256(("signature" + message_id).encode()).digest() * 8).decode()
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": body,
                    "Timestamp": sns_timestamp(published_at),
                    "SignatureVersion": "1",
                    "Signature": signature,
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-"
                    "9c6465fa7f48f5cacd23014631ec1136.pem",
                    "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                    f"&SubscriptionArn={subscription_arn}",
                    "MessageAttributes": {},
                },
            }
        ]
    }
