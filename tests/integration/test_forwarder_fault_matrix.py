"""The fault matrix: every alarm notification ends as a PagerDuty event or a dead-letter message.

Each case states the fault, drives the handler as Lambda would (asynchronous invocation with two retries and
the on-failure destination where the handler raises), and asserts the final outcome and that nothing is lost.
"""

from __future__ import annotations

import json

import pytest

from testkit.pagerduty_receiver import MAX_EVENT_BYTES, Disconnect, Hang, Respond
from testkit.scenarios import (
    alarm_message,
    emitted_metrics,
    root_console_login,
    sns_event,
)


def assert_paged_once(forwarder, *, degraded: bool = False) -> dict:
    """Exactly one alert's worth of valid trigger(s) reached PagerDuty (retries share one dedup key)."""
    accepted = forwarder.pagerduty.valid_events()
    assert len(accepted) == 1, [r.response_status for r in forwarder.pagerduty.requests]
    assert {r.event["dedup_key"] for r in forwarder.pagerduty.requests if r.event} == {
        accepted[0]["dedup_key"]
    }
    assert all(r.valid for r in forwarder.pagerduty.requests), [
        r.errors for r in forwarder.pagerduty.requests
    ]
    status = accepted[0]["payload"]["custom_details"]["enrichment"]["status"]
    assert (status != "complete") == degraded, status
    assert forwarder.drain_dead_letters() == []
    return accepted[0]


def test_pagerduty_429_then_success_pages(forwarder) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.pagerduty.script(Respond(429), Respond(429))
    outcome = forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    assert outcome.attempts == 1 and outcome.errors == []
    assert [r.response_status for r in forwarder.pagerduty.requests] == [429, 429, 202]
    assert_paged_once(forwarder)


def test_pagerduty_500_then_success_pages(forwarder, capsys) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.pagerduty.script(Respond(500))
    forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    assert [r.response_status for r in forwarder.pagerduty.requests] == [500, 202]
    assert_paged_once(forwarder)
    assert emitted_metrics(capsys.readouterr().out)["Retries"] == 1


def test_pagerduty_persistently_500_fails_the_invocation_and_lands_in_the_dlq(forwarder) -> None:
    # Given PagerDuty answers 500 to every attempt of every invocation (5 attempts x 3 invocations)
    forwarder.put_records([root_console_login()])
    forwarder.pagerduty.script(*[Respond(500)] * 15)
    # When SNS invokes the function asynchronously
    notification = sns_event(alarm_message("root-account-usage"))
    outcome = forwarder.invoke_async(notification)
    # Then every attempt raised, Lambda's on-failure destination got the original notification
    assert outcome.attempts == 3
    assert all("RetryableDeliveryError" in e for e in outcome.errors)
    assert forwarder.pagerduty.valid_events() == []
    (dead_letter,) = forwarder.drain_dead_letters()
    assert dead_letter["requestContext"]["condition"] == "RetriesExhausted"
    assert dead_letter["requestPayload"] == notification
    assert "HTTP 500" in dead_letter["responsePayload"]["errorMessage"]


def test_pagerduty_timeout_then_success_pages_with_the_same_dedup_key(forwarder) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.pagerduty.script(Hang(2.0))  # longer than the client's timeout
    forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    statuses = [r.fault for r in forwarder.pagerduty.requests]
    assert statuses == ["hang", None]
    assert_paged_once(forwarder)  # also checks both attempts carried one dedup key: PagerDuty dedups


def test_pagerduty_connection_dropped_then_success_pages(forwarder) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.pagerduty.script(Disconnect())
    forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    assert [r.fault for r in forwarder.pagerduty.requests] == ["disconnect", None]
    assert_paged_once(forwarder)


def test_pagerduty_400_goes_straight_to_the_dlq_with_the_reason(forwarder, capsys) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.pagerduty.script(
        Respond(
            400,
            {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["'routing_key' is invalid"],
            },
        )
    )
    outcome = forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    assert outcome.attempts == 1 and outcome.errors == []  # no pointless retries
    assert len(forwarder.pagerduty.requests) == 1
    (dead_letter,) = forwarder.drain_dead_letters()
    assert dead_letter["reason_code"] == "pagerduty-rejected"
    assert "HTTP 400: Event object is invalid; 'routing_key' is invalid" in dead_letter["reason"]
    assert dead_letter["original"]["alarm_name"] == "security-baseline-root-account-usage"
    assert dead_letter["dedup_key"].startswith("sb1/root-account-usage/")
    assert "0123456789abcdef0123456789abcdef" not in json.dumps(dead_letter)  # the routing key stays secret
    assert emitted_metrics(capsys.readouterr().out)["DeadLettered"] == 1


def test_secrets_manager_failing_then_recovering_pages_on_lambdas_retry(forwarder) -> None:
    # Given Secrets Manager fails the first invocation's reads (the SDK tries 3 times)
    forwarder.put_records([root_console_login()])
    forwarder.aws.faults.fail_get_secret_value(code="InternalServiceError", status=500, times=3)
    outcome = forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    # Then the first invocation failed (no page without the key), Lambda's retry paged
    assert outcome.attempts == 2 and "RoutingKeyUnavailableError" in outcome.errors[0]
    assert forwarder.aws.faults.hits["get_secret_value"] == 3
    assert_paged_once(forwarder)


def test_secrets_manager_down_for_good_ends_in_the_dlq(forwarder) -> None:
    forwarder.aws.faults.fail_get_secret_value(code="AccessDeniedException", status=400, times=100)
    notification = sns_event(alarm_message("root-account-usage"))
    outcome = forwarder.invoke_async(notification)
    assert outcome.attempts == 3 and forwarder.pagerduty.requests == []
    (dead_letter,) = forwarder.drain_dead_letters()
    assert dead_letter["requestPayload"] == notification
    assert dead_letter["responsePayload"]["errorType"] == "RoutingKeyUnavailableError"


def test_logs_throttling_gives_a_degraded_page(forwarder, capsys) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.aws.faults.fail_filter_log_events(code="ThrottlingException", times=100)
    forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    page = assert_paged_once(forwarder, degraded=True)
    problems = page["payload"]["custom_details"]["enrichment"]["problems"]
    assert any("ThrottlingException" in p for p in problems)
    assert "unknown" in page["payload"]["summary"]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["EnrichmentFailures"] == 1 and metrics["Retries"] >= 1


def test_logs_throttled_once_still_gives_complete_evidence(forwarder) -> None:
    forwarder.put_records([root_console_login()])
    forwarder.aws.faults.fail_filter_log_events(code="ThrottlingException", times=1)
    forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    page = assert_paged_once(forwarder)
    assert page["payload"]["custom_details"]["evidence"]["count"] == 1


def test_missing_log_group_gives_a_degraded_page(forwarder) -> None:
    forwarder.aws.client("logs").delete_log_group(logGroupName=forwarder.env["TRAIL_LOG_GROUP_NAME"])
    forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    page = assert_paged_once(forwarder, degraded=True)
    assert "ResourceNotFoundException" in page["payload"]["custom_details"]["enrichment"]["problems"][0]


def test_malformed_sns_message_goes_to_the_dlq_with_the_reason(forwarder) -> None:
    outcome = forwarder.invoke_async(sns_event("this is not an alarm"))
    assert outcome.errors == [] and forwarder.pagerduty.requests == []
    (dead_letter,) = forwarder.drain_dead_letters()
    assert dead_letter["reason_code"] == "malformed-notification"
    assert "SNS Message is not JSON" in dead_letter["reason"]
    assert dead_letter["original"]["Sns"]["Message"] == "this is not an alarm"


def test_unknown_alarm_in_alarm_state_gives_a_degraded_page(forwarder) -> None:
    message = alarm_message("no-such-detection", name="someone-elses-alarm", description="CPU high")
    forwarder.invoke_async(sns_event(message))
    page = assert_paged_once(forwarder, degraded=True)
    assert page["payload"]["severity"] == "error"
    assert "someone-elses-alarm" in page["payload"]["summary"]
    assert page["payload"]["custom_details"]["detection"]["id"] is None


def test_unknown_alarm_returning_to_ok_goes_to_the_dlq(forwarder) -> None:
    message = alarm_message(
        "no-such-detection", name="someone-elses-alarm", description="", state="OK", old="ALARM"
    )
    forwarder.invoke_async(sns_event(message))
    assert forwarder.pagerduty.requests == []
    (dead_letter,) = forwarder.drain_dead_letters()
    assert dead_letter["reason_code"] == "unknown-alarm"


def test_enrichment_too_large_for_one_event_is_trimmed_and_still_valid(forwarder) -> None:
    # Given 6 matching root events with ~200 KB of request parameters each (~1.2 MB of evidence)
    big = [
        root_console_login(f"big-{i}", requestParameters={f"p{j}": "x" * 40_000 for j in range(5)})
        for i in range(6)
    ]
    forwarder.put_records(big)
    forwarder.invoke_async(sns_event(alarm_message("root-account-usage")))
    page = assert_paged_once(forwarder)
    request = forwarder.pagerduty.requests[0]
    assert len(request.body) <= MAX_EVENT_BYTES
    details = page["payload"]["custom_details"]
    assert details["evidence"]["count"] == 6
    assert len(details["sample_events"]) < 5
    assert details["trimmed"][0].startswith("sample_events: kept")


def test_config_error_fails_at_cold_start_naming_the_variable(make_forwarder) -> None:
    # (the freshly imported module has its own ConfigurationError class, a ValueError, so match on the name)
    with pytest.raises(ValueError, match="SUPPRESSIONS is not valid JSON") as raised:
        make_forwarder(SUPPRESSIONS="{oops")
    assert type(raised.value).__name__ == "ConfigurationError"
