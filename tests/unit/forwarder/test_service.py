"""forward_event with in-memory collaborators: the degraded paths that must still end in a page.

The integration tests cover the same orchestration against moto and the PagerDuty receiver; these pin the
cases a fault there cannot easily produce: a bug while building the page, a failing account-alias read, and a
FilterLogEvents call slow enough to eat the time the page needs.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from detections.catalogue import get_detection
from lambdas.forwarder.budget import FILTER_LOG_EVENTS_MAX_SECONDS
from lambdas.forwarder.evidence import RatePacer
from lambdas.forwarder.pagerduty import PagerDutyClient
from lambdas.forwarder.service import Dependencies, forward_event
from lambdas.forwarder.settings import ForwarderSettings
from testkit.alarms import load_event

ROOT_LOGIN = {
    "eventVersion": "1.09",
    "userIdentity": {"type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012"},
    "eventTime": "2026-11-24T06:20:10Z",
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "203.0.113.7",
    "eventID": "root-login-1",
    "recipientAccountId": "123456789012",
}


class Clock:
    """The invocation's remaining time, advanced only by the fakes (no real waiting)."""

    def __init__(self, remaining: float) -> None:
        self.remaining = remaining

    def __call__(self) -> float:
        return self.remaining

    def spend(self, seconds: float) -> None:
        self.remaining -= seconds


class FakeLogs:
    def __init__(self, clock: Clock, records: list[dict], seconds_per_call: float = 0.1) -> None:
        self.clock, self.records, self.seconds_per_call = clock, records, seconds_per_call
        self.calls = 0

    def filter_log_events(self, **request: object) -> dict:
        self.calls += 1
        self.clock.spend(self.seconds_per_call)
        return {"events": [{"eventId": r["eventID"], "message": json.dumps(r)} for r in self.records]}


class FakeSqs:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    def send_message(self, **message: object) -> None:
        self.messages.append(json.loads(str(message["MessageBody"])))


class FakeLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def set_correlation_id(self, value: str) -> None:
        pass

    def __getattr__(self, level: str):
        return lambda message, **kwargs: self.lines.append((level, message))


def make_deps(clock: Clock, logs: FakeLogs, *, account_alias=lambda account: None, lookup=get_detection):
    posted: list[dict] = []

    def transport(body: bytes, timeout: float) -> tuple[int, str, str]:
        clock.spend(0.05)
        posted.append(json.loads(body))
        return 202, '{"status": "success"}', ""

    metrics: dict[str, float] = {}
    settings = ForwarderSettings(
        trail_log_group_name="trail",
        routing_key_secret_name="pd-key",
        dead_letter_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
        alarm_name_prefix="security-baseline-",
        suppressions=(),
    )
    deps = Dependencies(
        settings=settings,
        logs=logs,
        sqs=FakeSqs(),
        routing_key=lambda: "0123456789abcdef0123456789abcdef",
        account_alias=account_alias,
        pagerduty=PagerDutyClient(url="http://127.0.0.1:9/v2/enqueue", transport=transport),
        pacer=RatePacer(rate_per_second=1000, burst=1000, sleep=lambda seconds: None),
        lookup_detection=lookup,
        logger=FakeLogger(),
        count=lambda name, value: metrics.__setitem__(name, metrics.get(name, 0) + value),
        now=lambda: datetime(2026, 11, 24, 7, 0, tzinfo=UTC),
    )
    return deps, posted, metrics


def test_a_bug_while_building_the_page_still_pages_with_the_alarm_alone() -> None:
    # Given a detection whose metadata breaks page building (controls is not a sequence)
    clock = Clock(60.0)
    broken = dataclasses.replace(get_detection("root-account-usage"), controls=None)  # type: ignore[arg-type]
    deps, posted, metrics = make_deps(clock, FakeLogs(clock, [ROOT_LOGIN]), lookup=lambda _id: broken)
    # When the alarm arrives
    result = forward_event(load_event("sns_alarm_single_metric.json"), deps, clock)
    # Then a (degraded) trigger still reached PagerDuty, saying why the evidence is missing
    assert result == {"outcomes": ["paged"]}
    (event,) = posted
    enrichment = event["payload"]["custom_details"]["enrichment"]
    assert enrichment["status"] == "partial"
    assert enrichment["problems"][0].startswith("building the page from the evidence failed: TypeError")
    assert metrics["EnrichmentFailures"] == 1 and metrics["PagesSent"] == 1
    assert ("exception", "Building the page from the evidence failed: paging with the alarm alone") in (
        deps.logger.lines
    )


def test_a_failing_account_alias_read_still_pages_with_the_account_id() -> None:
    clock = Clock(60.0)

    def alias_fails(account: str) -> str | None:
        raise RuntimeError("IAM unreachable")

    deps, posted, _ = make_deps(clock, FakeLogs(clock, [ROOT_LOGIN]), account_alias=alias_fails)
    assert forward_event(load_event("sns_alarm_single_metric.json"), deps, clock) == {"outcomes": ["paged"]}
    (event,) = posted
    assert event["payload"]["group"] == "123456789012"
    assert event["payload"]["custom_details"]["enrichment"]["status"] == "complete"
    assert ("warning", "Account alias unavailable") in deps.logger.lines


def test_no_filter_log_events_call_starts_unless_its_worst_case_leaves_time_to_page() -> None:
    # Given 10 s left and FilterLogEvents calls that take their full worst case (connect + read timeouts)
    clock = Clock(10.0)
    logs = FakeLogs(clock, [ROOT_LOGIN], seconds_per_call=FILTER_LOG_EVENTS_MAX_SECONDS)
    deps, posted, _ = make_deps(clock, logs)
    # When the alarm arrives
    forward_event(load_event("sns_alarm_single_metric.json"), deps, clock)
    # Then no search started (it would have run past the Lambda timeout), and the page went out degraded
    assert logs.calls == 0
    (event,) = posted
    assert event["payload"]["custom_details"]["enrichment"]["status"] == "partial"
    assert clock.remaining > 0


def test_with_time_for_a_slow_search_the_page_carries_its_evidence_and_still_fits() -> None:
    clock = Clock(60.0)
    logs = FakeLogs(clock, [ROOT_LOGIN], seconds_per_call=FILTER_LOG_EVENTS_MAX_SECONDS)
    deps, posted, _ = make_deps(clock, logs)
    forward_event(load_event("sns_alarm_single_metric.json"), deps, clock)
    (event,) = posted
    assert logs.calls == 1
    assert event["payload"]["custom_details"]["evidence"]["count"] == 1
    assert clock.remaining >= deps.pagerduty.request_timeout
