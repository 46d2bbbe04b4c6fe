"""An alarm in, a schema-valid page with the evidence out: the handler as deployed, over HTTP on loopback."""

from __future__ import annotations

import json

import pytest
from moto.logs.utils import EventMessageFilter as MotosOwnFilter

from detections.catalogue import get_detection
from detections.fast_path import has_fast_path
from testkit.scenarios import (
    alarm_message,
    emitted_metrics,
    iam_user_console_login,
    root_console_login,
    sns_event,
)


def test_root_login_alarm_becomes_a_page_with_only_matching_evidence(forwarder, capsys) -> None:
    # Given the trail's log group holds a root console login AND a non-matching IAM-user login in the window
    forwarder.put_records([root_console_login("root-1"), iam_user_console_login("alice-1")])
    pattern = get_detection("root-account-usage").pattern
    # (moto's own filter would return the non-matching record for this JSON pattern: the patch matters)
    assert MotosOwnFilter(pattern).matches(json.dumps(iam_user_console_login()))

    # When the root-account-usage alarm notification arrives through SNS
    result = forwarder.invoke(sns_event(alarm_message("root-account-usage")))

    # Then exactly one schema-valid trigger reached PagerDuty, built from the matching record only
    assert result == {"outcomes": ["paged"]}
    (request,) = forwarder.pagerduty.requests
    assert request.valid, request.errors
    event = request.event
    assert event["routing_key"] == "0123456789abcdef0123456789abcdef"
    assert event["event_action"] == "trigger"
    payload = event["payload"]
    assert payload["severity"] == "critical"
    assert payload["summary"].startswith(
        "Root user activity (ConsoleLogin) by root user from 203.0.113.7 in account"
    )
    details = payload["custom_details"]
    assert details["enrichment"]["status"] == "complete"
    assert details["evidence"]["count"] == 1
    assert [s["eventID"] for s in details["sample_events"]] == ["root-1"]
    assert "198.51.100.20" not in json.dumps(event)  # the IAM user's IP appears nowhere in the page
    assert details["evidence"]["principals"][0]["mfa_used"] is False
    # And nothing was dead-lettered, and the metrics say what happened
    assert forwarder.drain_dead_letters() == []
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["PagesSent"] == 1 and metrics["EventsFound"] == 1


def test_routing_key_never_appears_in_logs(forwarder, capsys) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.invoke(sns_event(alarm_message("root-account-usage")))
    captured = capsys.readouterr()
    assert "0123456789abcdef0123456789abcdef" not in captured.out + captured.err
    assert len(forwarder.pagerduty.valid_events()) == 1


@pytest.mark.parametrize(
    ("detection_id", "second_episode_joins"),
    [
        # No fast path: each ALARM episode is its own alert
        ("iam-policy-changes", False),
        # A fast path: one incident is one episode across both paths (window + 10 min), so an ALARM
        # episode that starts while it is open lands on its alert (lambdas/forwarder/episodes.py)
        ("root-account-usage", True),
    ],
)
def test_sns_redelivery_sends_the_same_dedup_key_and_a_new_episode_a_new_one(
    forwarder, detection_id: str, second_episode_joins: bool
) -> None:
    assert has_fast_path(get_detection(detection_id)) is second_episode_joins
    forwarder.put_records([root_console_login()])
    notification = sns_event(alarm_message(detection_id), message_id="same-sns-message")
    forwarder.invoke(notification)
    forwarder.invoke(notification)  # SNS redelivers the same message
    forwarder.invoke(sns_event(alarm_message(detection_id, at="2026-11-24T06:25:05.000+0000")))
    keys = [e["dedup_key"] for e in forwarder.pagerduty.valid_events()]
    assert len(keys) == 3 and keys[0] == keys[1]
    assert (keys[2] == keys[0]) is second_episode_joins


def test_ok_for_a_resolve_on_ok_detection_resolves_the_alert_its_alarm_opened(forwarder) -> None:
    failures = [
        root_console_login(
            f"fail-{i}",
            responseElements={"ConsoleLogin": "Failure"},
            errorMessage="Failed authentication",
            userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/x"},
        )
        for i in range(3)
    ]
    forwarder.put_records(failures)
    detection = get_detection("console-authentication-failures")
    assert detection.resolve_policy == "resolve_on_ok"
    forwarder.invoke(sns_event(alarm_message(detection.id)))
    forwarder.invoke(
        sns_event(alarm_message(detection.id, state="OK", old="ALARM", at="2026-11-24T06:41:07.004+0000"))
    )
    trigger, resolve = forwarder.pagerduty.valid_events()
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert trigger["payload"]["custom_details"]["evidence"]["count"] == 3


def test_ok_for_a_manual_detection_sends_nothing_and_is_counted(forwarder, capsys) -> None:
    result = forwarder.invoke(sns_event(alarm_message("root-account-usage", state="OK", old="ALARM")))
    assert result == {"outcomes": ["ignored"]}
    assert forwarder.pagerduty.requests == [] and forwarder.drain_dead_letters() == []
    assert emitted_metrics(capsys.readouterr().out)["Ignored"] == 1


def test_direct_lambda_alarm_action_is_handled_like_sns(forwarder) -> None:
    forwarder.put_records([root_console_login()])
    event = {
        "source": "aws.cloudwatch",
        "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:security-baseline-root-account-usage",
        "accountId": "123456789012",
        "time": "2026-11-24T06:21:05.123+0000",
        "region": "us-east-1",
        "alarmData": {
            "alarmName": "security-baseline-root-account-usage",
            "state": {
                "value": "ALARM",
                "reason": "Threshold Crossed",
                "timestamp": "2026-11-24T06:21:05.123+0000",
            },
            "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-20T10:00:00.000+0000"},
            "configuration": {
                "description": None,
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": "SecurityBaseline",
                                "name": "root-account-usage",
                                "dimensions": {},
                            },
                            "period": 60,
                            "stat": "Sum",
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }
    assert forwarder.invoke(event) == {"outcomes": ["paged"]}
    (page,) = forwarder.pagerduty.valid_events()
    assert page["payload"]["custom_details"]["alarm"]["delivered_by"] == "alarm-action"
    assert page["payload"]["custom_details"]["evidence"]["count"] == 1


def test_every_event_suppressed_means_no_page_but_a_logged_and_counted_decision(
    make_forwarder, capsys
) -> None:
    suppressions = [
        {
            "detection": "root-account-usage",
            "sourceCidr": "203.0.113.0/24",
            "expires": "2099-12-31",
            "reason": "break-glass drill from the SOC network",
        }
    ]
    forwarder = make_forwarder(SUPPRESSIONS=json.dumps(suppressions))
    forwarder.put_records([root_console_login("drill-1"), root_console_login("drill-2", ip="203.0.113.8")])
    assert forwarder.invoke(sns_event(alarm_message("root-account-usage"))) == {"outcomes": ["suppressed"]}
    assert forwarder.pagerduty.requests == [] and forwarder.drain_dead_letters() == []
    out = capsys.readouterr().out
    assert emitted_metrics(out)["Suppressed"] == 1
    decision = next(json.loads(line) for line in out.splitlines() if "Every event behind the alarm" in line)
    assert decision["suppressed_events"] == 2
    assert decision["suppressions"] == ["break-glass drill from the SOC network"]


def test_partly_suppressed_pages_with_the_rest_and_says_how_many_were_suppressed(make_forwarder) -> None:
    suppressions = [
        {
            "detection": "root-account-usage",
            "sourceCidr": "203.0.113.0/24",
            "expires": "2099-12-31",
            "reason": "drill",
        }
    ]
    forwarder = make_forwarder(SUPPRESSIONS=json.dumps(suppressions))
    forwarder.put_records([root_console_login("drill-1"), root_console_login("attack-1", ip="192.0.2.66")])
    forwarder.invoke(sns_event(alarm_message("root-account-usage")))
    (page,) = forwarder.pagerduty.valid_events()
    details = page["payload"]["custom_details"]
    assert details["suppressed"]["count"] == 1
    assert details["evidence"]["count"] == 1 and details["evidence"]["source_ips"] == ["192.0.2.66"]
    assert "192.0.2.66" in page["payload"]["summary"]


def test_the_handler_runs_from_the_synthesized_asset_not_the_source_tree(forwarder, deployment) -> None:
    assert forwarder.module.__file__.startswith(str(deployment["deployed"].asset_dir))


def test_the_account_alias_names_the_account_in_the_summary_and_group(forwarder) -> None:
    forwarder.aws.client("iam").create_account_alias(AccountAlias="prod-payments")
    forwarder.put_records([root_console_login()])
    forwarder.invoke(sns_event(alarm_message("root-account-usage")))
    (page,) = forwarder.pagerduty.valid_events()
    assert "in account prod-payments (123456789012) (us-east-1)" in page["payload"]["summary"]
    assert page["payload"]["group"] == "prod-payments"
    assert page["payload"]["custom_details"]["account"] == {"id": "123456789012", "alias": "prod-payments"}


def test_no_time_for_enrichment_still_pages_and_says_so(forwarder) -> None:
    # Given an invocation with only 3 s left: all of it is reserved for delivering the page
    forwarder.timeout = 3.0
    forwarder.put_records([root_console_login()])
    forwarder.invoke(sns_event(alarm_message("root-account-usage")))
    (page,) = forwarder.pagerduty.valid_events()
    enrichment = page["payload"]["custom_details"]["enrichment"]
    assert enrichment["status"] == "partial"
    assert enrichment["problems"] == ["time budget for enrichment used up before the search finished"]
    assert enrichment["filter_log_events_requests"] == 0
