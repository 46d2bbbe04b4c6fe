"""The test doubles themselves: moto taught our filter-pattern engine, and the validating PagerDuty receiver.

If either were wrong, every other integration test could pass on evidence that does not match or on events
PagerDuty would refuse; so they get their own specifications.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from moto.logs.utils import EventMessageFilter as MotosOwnFilter

from detections.catalogue import get_detection
from testkit.moto_harness import engine_filter_patterns, forwarder_environment
from testkit.pagerduty_receiver import Disconnect, Respond
from testkit.scenarios import iam_user_console_login, root_console_login

VALID_TRIGGER: dict[str, Any] = {
    "routing_key": "0123456789abcdef0123456789abcdef",
    "event_action": "trigger",
    "dedup_key": "k-1",
    "payload": {
        "summary": "s",
        "source": "aws:123456789012:us-east-1",
        "severity": "critical",
        "timestamp": "2026-11-24T06:21:05.123Z",
    },
}


def test_filter_log_events_over_http_returns_only_records_matching_a_json_pattern(aws) -> None:
    # Given a log group with a root login and an IAM-user login (moto alone would return both)
    aws.reset()
    aws.create_log_group("trail")
    aws.put_cloudtrail_records("trail", [root_console_login("root-1"), iam_user_console_login("alice-1")])
    # When FilterLogEvents runs with the root-account-usage pattern through the HTTP API
    response = aws.client("logs").filter_log_events(
        logGroupName="trail", filterPattern=get_detection("root-account-usage").pattern
    )
    # Then only the matching record comes back
    assert [json.loads(e["message"])["eventID"] for e in response["events"]] == ["root-1"]


def test_without_the_engine_moto_would_return_the_non_matching_record(aws) -> None:
    import moto.logs.models as logs_models

    aws.reset()
    aws.create_log_group("trail")
    aws.put_cloudtrail_records("trail", [root_console_login("root-1"), iam_user_console_login("alice-1")])
    patched = logs_models.EventMessageFilter
    logs_models.EventMessageFilter = MotosOwnFilter  # type: ignore[misc]  # a deliberate, undone monkeypatch
    try:
        response = aws.client("logs").filter_log_events(
            logGroupName="trail", filterPattern=get_detection("root-account-usage").pattern
        )
    finally:
        logs_models.EventMessageFilter = patched  # type: ignore[misc]  # undoing the monkeypatch above
    assert len(response["events"]) == 2  # which is why the harness installs the engine


def test_engine_patch_is_reentrant_and_restores_moto(aws) -> None:
    import moto.logs.models as logs_models

    installed = logs_models.EventMessageFilter
    with engine_filter_patterns():
        assert logs_models.EventMessageFilter is installed
    assert logs_models.EventMessageFilter is installed  # the session harness still holds it


def test_the_deployed_environment_keeps_literals_and_takes_stand_ins_for_intrinsics(deployment) -> None:
    # Given the forwarder as synthesized: its log group, queue and episode table are template intrinsics
    deployed = deployment["deployed"]
    written = deployed.template_environment
    intrinsics = sorted(name for name, value in written.items() if not isinstance(value, str))
    assert intrinsics == ["DEAD_LETTER_QUEUE_URL", "EPISODE_TABLE_NAME", "TRAIL_LOG_GROUP_NAME"]
    # When the harness builds the function's environment with moto resources standing in for them
    stand_ins = {
        "TRAIL_LOG_GROUP_NAME": "moto-trail",
        "DEAD_LETTER_QUEUE_URL": "http://moto/queue",
        "EPISODE_TABLE_NAME": "moto-episodes",
    }
    env = forwarder_environment(deployed, resolved={**stand_ins, "ALARM_NAME_PREFIX": "ignored-"})
    # Then every variable of the template is set: literals as written, intrinsics by their stand-ins
    assert env == {**{n: v for n, v in written.items() if isinstance(v, str)}, **stand_ins}
    # And a stand-in that is not given is named, rather than a dict reaching the function as a string
    with pytest.raises(KeyError, match="DEAD_LETTER_QUEUE_URL"):
        forwarder_environment(deployed, resolved={"TRAIL_LOG_GROUP_NAME": "moto-trail"})


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_receiver_accepts_a_valid_event_with_pagerdutys_response_shape(pagerduty) -> None:
    pagerduty.reset()
    status, body = post(pagerduty.events_url, json.dumps(VALID_TRIGGER).encode())
    assert status == 202
    assert body == {"status": "success", "message": "Event processed", "dedup_key": "k-1"}
    assert pagerduty.valid_events() == [VALID_TRIGGER]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"routing_key": "short"}, "routing_key"),
        ({"event_action": "fire"}, "event_action"),
        ({"payload": {**VALID_TRIGGER["payload"], "severity": "high"}}, "payload/severity"),
        ({"payload": {**VALID_TRIGGER["payload"], "summary": "s" * 1025}}, "payload/summary"),
        ({"dedup_key": "k" * 256}, "dedup_key"),
        ({"payload": {"summary": "s", "severity": "info"}}, "'source' is a required property"),
        ({"event_action": "resolve", "dedup_key": None}, "dedup_key"),
    ],
)
def test_receiver_refuses_invalid_events_with_400_and_records_them(pagerduty, change, error) -> None:
    pagerduty.reset()
    event = {k: v for k, v in {**VALID_TRIGGER, **change}.items() if v is not None}
    status, body = post(pagerduty.events_url, json.dumps(event).encode())
    assert status == 400 and body["status"] == "invalid event"
    assert any(error in e for e in body["errors"]), body["errors"]
    (recorded,) = pagerduty.requests
    assert not recorded.valid and pagerduty.valid_events() == []


def test_receiver_refuses_bodies_over_512_kb(pagerduty) -> None:
    pagerduty.reset()
    event = {**VALID_TRIGGER, "payload": {**VALID_TRIGGER["payload"], "custom_details": {"x": "y" * 530_000}}}
    status, body = post(pagerduty.events_url, json.dumps(event).encode())
    assert status == 400 and "512 KB" in body["errors"][0]


def test_receiver_serves_scripted_faults_in_order_then_recovers(pagerduty) -> None:
    pagerduty.reset()
    pagerduty.script(Respond(429), Respond(500), Disconnect())
    raw = json.dumps(VALID_TRIGGER).encode()
    assert post(pagerduty.events_url, raw)[0] == 429
    assert post(pagerduty.events_url, raw)[0] == 500
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        post(pagerduty.events_url, raw)
    assert post(pagerduty.events_url, raw)[0] == 202
    assert [r.fault for r in pagerduty.requests] == ["scripted", "scripted", "disconnect", None]
