"""Builders for the integration tests and the benchmark: SNS alarm notifications and CloudTrail records in
AWS's shapes, in one account and region, the records inside the alarm's search window."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from detections import naming
from testkit.lambda_context import ACCOUNT_ID, REGION

ACCOUNT = ACCOUNT_ID  # moto's default account: where the harness creates its resources
ALARM_TIME = "2026-11-24T06:21:05.123+0000"
EVENT_TIME = "2026-11-24T06:20:10Z"


def alarm_message(
    detection_id: str,
    *,
    state: str = "ALARM",
    old: str = "OK",
    at: str = ALARM_TIME,
    name: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    name = name or naming.alarm_name(detection_id, naming.DEFAULT_ALARM_NAME_PREFIX)
    return {
        "AlarmName": name,
        "AlarmDescription": description
        if description is not None
        else f"[{detection_id}] from the catalogue.",
        "AWSAccountId": ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": "2026-11-20T10:02:11.345+0000",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (24/11/26 06:20:00)] "
        "was greater "
        "than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).",
        "StateChangeTime": at,
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "OldStateValue": old,
        "OKActions": [],
        "AlarmActions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:security-baseline-alerts"],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": naming.metric_name(detection_id),
            "Namespace": naming.DEFAULT_NAMESPACE,
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
        },
    }


def sns_event(message: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    body = message if isinstance(message, str) else json.dumps(message)
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:security-baseline-alerts"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": "ALARM",
                    "Message": body,
                    "Timestamp": "2026-11-24T06:21:05.200Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://example.invalid/c.pem",
                    "UnsubscribeUrl": "https://example.invalid/u",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def root_console_login(
    event_id: str = "root-login-1", ip: str = "203.0.113.7", **overrides: Any
) -> dict[str, Any]:
    record = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "Root",
            "principalId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:root",
            "accountId": ACCOUNT,
        },
        "eventTime": EVENT_TIME,
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": REGION,
        "sourceIPAddress": ip,
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/",
            "MobileVersion": "No",
            "MFAUsed": "No",
        },
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    record.update(overrides)
    return record


def iam_user_console_login(event_id: str = "user-login-1") -> dict[str, Any]:
    """A ConsoleLogin by an IAM user with MFA: NOT root usage, so never evidence for root-account-usage."""
    return root_console_login(
        event_id,
        ip="198.51.100.20",
        userIdentity={
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "accountId": ACCOUNT,
            "userName": "alice",
        },
        additionalEventData={"MFAUsed": "Yes"},
    )


def emitted_metrics(captured_stdout: str) -> dict[str, float]:
    """Sum of every EMF metric the handler printed (Powertools Metrics writes one JSON line per flush)."""
    totals: dict[str, float] = {}
    for blob, _, _, metric in _emf_metrics(captured_stdout):
        values = blob[metric]
        totals[metric] = totals.get(metric, 0) + sum(values if isinstance(values, list) else [values])
    return totals


MetricSeries = tuple[str, str, tuple[tuple[str, str], ...]]


def emitted_metric_series(captured_stdout: str) -> set[MetricSeries]:
    """(namespace, metric name, dimensions) of every EMF metric the handler printed: the series CloudWatch
    files it under, which is what an alarm on it must name."""
    return {
        (namespace, metric, tuple(sorted((name, str(blob[name])) for name in dimensions)))
        for blob, namespace, dimension_sets, metric in _emf_metrics(captured_stdout)
        for dimensions in dimension_sets
    }


def _emf_metrics(captured_stdout: str) -> Iterator[tuple[dict[str, Any], str, list[list[str]], str]]:
    """(the EMF blob, namespace, dimension sets, metric name) per metric of every EMF line printed."""
    for line in captured_stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                yield blob, directive["Namespace"], directive["Dimensions"], metric["Name"]
