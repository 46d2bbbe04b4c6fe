"""PagerDuty events: dedup keys per episode, payloads valid against our schema, size limits, retry policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from detections.catalogue import get_detection
from detections.suppressions import parse_suppressions
from lambdas.forwarder import enrichment
from lambdas.forwarder.enrichment import Evidence
from lambdas.forwarder.episodes import dedup_key
from lambdas.forwarder.models import parse_lambda_event
from lambdas.forwarder.page import build_trigger_page, minimal_trigger_page, render_summary
from lambdas.forwarder.pagerduty import (
    MAX_EVENT_BYTES,
    PagerDutyClient,
    RejectedEventError,
    RetryableDeliveryError,
    backoff_delay,
    classify_status,
    encode_event,
    event_size,
    resolve_event,
    trigger_event,
)
from testkit.alarms import cloudtrail_record, load_event, sns_event_with
from testkit.pagerduty_receiver import validate_event

ROUTING_KEY = "R" * 32
ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:security-baseline-root-account-usage"


def notification_of(event: dict):
    (notification,) = parse_lambda_event(event).notifications
    return notification


def body_of(event: dict) -> bytes:
    return json.dumps(event).encode()


# --- dedup keys ------------------------------------------------------------------------------------------


def test_redelivery_of_the_same_notification_gives_the_same_key() -> None:
    first = notification_of(load_event("sns_alarm_single_metric.json"))
    redelivered = notification_of(load_event("sns_alarm_single_metric.json"))
    assert dedup_key(first, "root-account-usage", "manual") == dedup_key(
        redelivered, "root-account-usage", "manual"
    )


def test_the_same_transition_by_sns_and_by_alarm_action_gives_the_same_key() -> None:
    sns = notification_of(sns_event_with({"AlarmArn": ALARM_ARN.replace("eu-west-1", "us-west-2")}))
    action = notification_of(load_event("lambda_alarm_action.json"))
    assert dedup_key(sns, "root-account-usage", "manual") == dedup_key(action, "root-account-usage", "manual")


def test_a_new_alarm_episode_of_a_manual_detection_opens_a_new_alert() -> None:
    first = notification_of(load_event("sns_alarm_single_metric.json"))
    later = notification_of(sns_event_with({"StateChangeTime": "2026-11-24T09:00:00.000+0000"}))
    assert dedup_key(first, "root-account-usage", "manual") != dedup_key(
        later, "root-account-usage", "manual"
    )
    assert dedup_key(first, "root-account-usage", "manual").endswith("/2026-11-24T06:21:05.123Z")


def test_ok_of_a_resolve_on_ok_detection_resolves_the_key_its_alarm_opened() -> None:
    alarm_arn = (
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:security-baseline-console-authentication-failures"
    )
    opened = notification_of(
        sns_event_with({"AlarmArn": alarm_arn, "StateChangeTime": "2026-11-24T06:30:00.000+0000"})
    )
    closed = notification_of(load_event("sns_alarm_ok_null_description.json"))
    detection = get_detection("console-authentication-failures")
    assert dedup_key(opened, detection.id, detection.resolve_policy) == dedup_key(
        closed, detection.id, detection.resolve_policy
    )
    assert resolve_event(ROUTING_KEY, dedup_key(closed, detection.id, detection.resolve_policy))[
        "event_action"
    ] == ("resolve")


def test_keys_differ_per_alarm_account_and_region_and_stay_short() -> None:
    base = notification_of(load_event("sns_alarm_single_metric.json"))
    other_account = notification_of(
        sns_event_with(
            {
                "AlarmArn": ALARM_ARN.replace("123456789012", "210987654321"),
                "AWSAccountId": "210987654321",
            }
        )
    )
    long_name = notification_of(
        sns_event_with({"AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + "x" * 255})
    )
    keys = {dedup_key(n, "root-account-usage", "manual") for n in (base, other_account, long_name)}
    assert len(keys) == 3
    assert all(len(k) <= 255 for k in keys)
    assert len(dedup_key(long_name, None, None)) <= 255


# --- summaries and payloads ------------------------------------------------------------------------------


def test_summary_from_the_detections_template_and_capped_at_1024() -> None:
    fields = {
        "title": "T",
        "principal": "p" * 2000,
        "source_ip": "1",
        "account": "a",
        "region": "r",
        "event_name": "e",
        "count": "1",
    }
    summary = render_summary("{principal} did it", fields, fallback="fb")
    assert len(summary) == 1024 and summary.endswith("…")


def test_a_broken_template_degrades_to_the_fallback() -> None:
    assert render_summary("{no_such_key}", {"title": "T"}, fallback="Root user activity in 1") == (
        "Root user activity in 1"
    )


def page_for(
    records, *, detection_id="root-account-usage", evidence=None, alias="prod-payments", suppressed=()
):
    notification = notification_of(load_event("sns_alarm_single_metric.json"))
    detection = get_detection(detection_id) if detection_id else None
    evidence = evidence or Evidence(records=list(records))
    return build_trigger_page(
        notification=notification,
        detection=detection,
        evidence=evidence,
        kept=list(records),
        suppressed=list(suppressed),
        account_alias=alias,
        log_group="aws-cloudtrail-logs",
        window=enrichment.evaluation_window(notification),
    ), notification


def test_trigger_event_for_root_login_is_valid_and_reads_like_the_issue_example() -> None:
    record = cloudtrail_record(
        eventName="ConsoleLogin",
        eventSource="signin.amazonaws.com",
        userIdentity={"type": "Root", "arn": "arn:aws:iam::123456789012:root"},
    )
    page, notification = page_for([record])
    event: dict[str, Any] = trigger_event(
        ROUTING_KEY, dedup_key(notification, "root-account-usage", "manual"), page
    )
    _, errors = validate_event(body_of(event))
    assert errors == []
    payload = event["payload"]
    assert payload["summary"].startswith(
        "Root user activity (ConsoleLogin) by root user from 203.0.113.7 "
        "in account prod-payments (123456789012)"
    )
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-11-24T06:21:05.123Z"
    assert (payload["component"], payload["group"], payload["class"]) == (
        "signin.amazonaws.com",
        "prod-payments",
        "root-account-usage",
    )
    details = payload["custom_details"]
    assert details["enrichment"]["status"] == "complete"
    assert details["evidence"]["count"] == 1
    assert details["detection"]["runbook"]
    assert [link["text"] for link in event["links"]][:2] == [
        "CloudWatch alarm",
        "Logs Insights: events in the window",
    ]
    assert event["client_url"].startswith("https://eu-west-1.console.aws.amazon.com/cloudwatch/")


def test_degraded_page_says_why_and_is_still_valid() -> None:
    evidence = Evidence(complete=False, problems=["FilterLogEvents ThrottlingException after 5 attempts"])
    page, notification = page_for([], evidence=evidence)
    event: dict[str, Any] = trigger_event(
        ROUTING_KEY, dedup_key(notification, "root-account-usage", "manual"), page
    )
    assert validate_event(body_of(event))[1] == []
    enrichment_block = event["payload"]["custom_details"]["enrichment"]
    assert enrichment_block["status"] == "partial"
    assert "ThrottlingException" in enrichment_block["problems"][0]
    assert "partial information" in enrichment_block["note"]
    assert "unknown" in event["payload"]["summary"]


def test_an_unencodable_lone_surrogate_in_the_evidence_cannot_break_the_page() -> None:
    # Given an attacker-chosen user agent holding a lone surrogate (JSON "\\ud800" decodes to one)
    record = cloudtrail_record(userAgent=json.loads('"curl \\ud800"'))
    page, notification = page_for([record])
    # When the event is sized and encoded for the request
    event = trigger_event(ROUTING_KEY, dedup_key(notification, "root-account-usage", "manual"), page)
    body = encode_event(event)
    # Then it is valid UTF-8 JSON that PagerDuty accepts, the surrogate replaced
    assert validate_event(body)[1] == []
    assert "curl ?" in json.loads(body)["payload"]["custom_details"]["evidence"]["user_agents"]


def test_the_page_of_last_resort_is_valid_and_keeps_the_detections_severity() -> None:
    notification = notification_of(load_event("sns_alarm_single_metric.json"))
    page = minimal_trigger_page(
        notification=notification,
        detection=get_detection("root-account-usage"),
        problem="building the page from the evidence failed: TypeError: boom",
        log_group="trail",
        window=enrichment.evaluation_window(notification),
    )
    event: dict[str, Any] = trigger_event(
        ROUTING_KEY, dedup_key(notification, "root-account-usage", "manual"), page
    )
    assert validate_event(body_of(event))[1] == []
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["custom_details"]["enrichment"]["status"] == "partial"
    assert "evidence unavailable" in event["payload"]["summary"]


def test_unknown_alarm_page_is_valid_and_says_it_is_not_in_the_catalogue() -> None:
    page, notification = page_for(
        [], detection_id=None, evidence=Evidence(complete=False, problems=["not mapped"])
    )
    event: dict[str, Any] = trigger_event(ROUTING_KEY, dedup_key(notification, None, None), page)
    assert validate_event(body_of(event))[1] == []
    assert event["payload"]["severity"] == "error"
    assert "not in the detection catalogue" in event["payload"]["summary"]


def test_the_page_counts_suppressed_events() -> None:
    (suppression,) = parse_suppressions(
        [
            {
                "detection": "root-account-usage",
                "eventName": "GetUser",
                "expires": "2026-12-31",
                "reason": "drill",
            }
        ]
    )
    page, _ = page_for(
        [cloudtrail_record()], suppressed=[(cloudtrail_record(eventName="GetUser"), suppression)]
    )
    assert page.custom_details["suppressed"]["count"] == 1
    assert page.custom_details["suppressed"]["reasons"] == ["drill (expires 2026-12-31)"]


def test_oversized_evidence_is_trimmed_samples_first_and_stays_valid() -> None:
    # Given five sample events of ~150 KB each (large request parameters), ~750 KB in total
    big = [
        cloudtrail_record(eventID=str(i), requestParameters={f"k{j}": "v" * 30_000 for j in range(5)})
        for i in range(5)
    ]
    page, notification = page_for(big)
    # When the event is built
    event: dict[str, Any] = trigger_event(
        ROUTING_KEY, dedup_key(notification, "root-account-usage", "manual"), page
    )
    # Then it fits in 512 KB, samples were dropped first, the trimming is explained, and it is schema-valid
    assert event_size(event) <= MAX_EVENT_BYTES
    details = event["payload"]["custom_details"]
    assert 0 < len(details["sample_events"]) < 5
    assert details["trimmed"][0].startswith(f"sample_events: kept {len(details['sample_events'])} of 5")
    assert details["evidence"]["count"] == 5  # the summary survived
    assert validate_event(body_of(event))[1] == []


def test_even_absurd_evidence_fits_by_dropping_it_with_a_note() -> None:
    page, _ = page_for([cloudtrail_record()])
    page.custom_details["evidence"]["user_agents"] = ["u" * 400_000, "v" * 400_000]
    page.custom_details["alarm"]["reason"] = "r" * 600_000
    event: dict[str, Any] = trigger_event(ROUTING_KEY, "k", page)
    assert event_size(event) <= MAX_EVENT_BYTES
    assert validate_event(body_of(event))[1] == []
    assert any("cut" in note or "dropped" in note for note in event["payload"]["custom_details"]["trimmed"])


# --- retry policy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (202, "success"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (400, "reject"),
        (403, "reject"),
        (404, "reject"),
        (413, "reject"),
    ],
)
def test_status_classification(status: int, verdict: str) -> None:
    assert classify_status(status) == verdict


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    assert [backoff_delay(n, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6, 7)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert backoff_delay(3, rand=lambda: 0.25) == 0.5


class ScriptedTransport:
    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = 0

    def __call__(self, body: bytes, timeout: float):
        self.calls += 1
        return self.responses.pop(0)


def client_with(transport, **kwargs) -> tuple[PagerDutyClient, list[float]]:
    sleeps: list[float] = []
    return PagerDutyClient(
        url="http://127.0.0.1:1/v2/enqueue",
        transport=transport,
        sleep=sleeps.append,
        rand=lambda: 1.0,
        **kwargs,
    ), sleeps


def test_429_then_success_retries_with_backoff() -> None:
    transport = ScriptedTransport(
        (429, "{}", ""),
        (500, "{}", ""),
        (None, "", "network error: refused"),
        (202, '{"status": "success"}', ""),
    )
    client, sleeps = client_with(transport)
    result = client.send({"x": 1}, remaining_seconds=lambda: 60.0)
    assert (result.status, result.attempts, transport.calls) == (202, 4, 4)
    assert sleeps == [0.5, 1.0, 2.0]


def test_400_is_not_retried_and_carries_pagerdutys_reason() -> None:
    transport = ScriptedTransport(
        (
            400,
            '{"status":"invalid event","message":"Event object is invalid",'
            '"errors":["payload.summary missing"]}',
            "",
        )
    )
    client, sleeps = client_with(transport)
    with pytest.raises(
        RejectedEventError, match=r"HTTP 400: Event object is invalid; payload\.summary missing"
    ):
        client.send({"x": 1}, remaining_seconds=lambda: 60.0)
    assert transport.calls == 1 and sleeps == []


def test_persistent_5xx_gives_up_after_max_attempts_so_lambda_retries() -> None:
    transport = ScriptedTransport(*[(503, "{}", "")] * 5)
    client, _ = client_with(transport)
    with pytest.raises(RetryableDeliveryError, match="HTTP 503"):
        client.send({"x": 1}, remaining_seconds=lambda: 60.0)
    assert transport.calls == 5


def test_retries_stop_when_the_time_budget_cannot_hold_another_attempt() -> None:
    transport = ScriptedTransport(*[(429, "{}", "")] * 5)
    clock = {"left": 3.0}
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["left"] -= seconds

    client = PagerDutyClient(transport=transport, sleep=sleep, rand=lambda: 1.0)
    with pytest.raises(RetryableDeliveryError, match="HTTP 429"):
        client.send({"x": 1}, remaining_seconds=lambda: clock["left"])
    assert transport.calls == 3 and sleeps == [0.5, 1.0]  # a 2 s wait would leave no time for the request


def test_no_time_at_all_means_no_request_and_a_retryable_failure() -> None:
    transport = ScriptedTransport()
    client, _ = client_with(transport)
    with pytest.raises(RetryableDeliveryError, match="no time left"):
        client.send({"x": 1}, remaining_seconds=lambda: 0.1)
    assert transport.calls == 0


def test_timestamp_is_utc_with_milliseconds() -> None:
    page, _ = page_for([])
    assert datetime.fromisoformat(page.timestamp.replace("Z", "+00:00")) == datetime(
        2026, 11, 24, 6, 21, 5, 123000, tzinfo=UTC
    )
