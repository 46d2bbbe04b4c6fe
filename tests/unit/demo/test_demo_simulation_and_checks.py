"""Metric filters over simulated minutes, and the checks that decide the demo's exit status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from demo.alarm_evaluator import AlarmDefinition, Transition
from demo.cdk_out import MetricFilterDefinition
from demo.checks import check_run
from demo.lambda_runtime import Invocation
from demo.pipeline import Delivery, RunResult
from demo.simulation import Simulation, compile_filters, simulated_window, to_log_events
from testkit.pagerduty_receiver import RecordedRequest

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def record(minute: int, name: str, event_id: str) -> dict[str, Any]:
    return {
        "eventTime": (T0 + timedelta(minutes=minute, seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": name,
        "eventID": event_id,
    }


def metric_filter(default: float | None = None) -> MetricFilterDefinition:
    return MetricFilterDefinition(
        logical_id="F",
        pattern='{ $.eventName = "StopLogging" }',
        log_group_name="trail",
        metric_name="trail-stopped",
        namespace="SecurityBaseline",
        metric_value="1",
        default_value=default,
        unit=None,
    )


ALARM = AlarmDefinition(
    name="security-baseline-trail-stopped",
    metric_name="trail-stopped",
    namespace="SecurityBaseline",
    statistic="Sum",
    period_seconds=60,
    evaluation_periods=1,
    threshold=1.0,
    comparison_operator="GreaterThanOrEqualToThreshold",
    treat_missing_data="notBreaching",
    alarm_actions=("arn:aws:sns:us-east-1:111122223333:alerts",),
)


def transitions(default: float | None) -> list[tuple[datetime, str]]:
    events = to_log_events(
        [
            record(0, "Decrypt", "a"),
            record(1, "StopLogging", "b"),
            *[record(m, "Decrypt", f"c{m}") for m in range(2, 9)],
        ]
    )
    simulation = Simulation(events, compile_filters([metric_filter(default)]), [ALARM])
    start, end = simulated_window(events, [ALARM])
    return [(t.at, t.new_state) for step in simulation.run(start, end) for t in step.transitions]


class TestMetricFilterSimulation:
    def test_without_a_default_value_the_alarm_rides_its_last_datapoint_for_a_while(self) -> None:
        assert transitions(default=None) == [
            (T0 + timedelta(minutes=2), "ALARM"),
            (T0 + timedelta(minutes=5), "OK"),
        ]

    def test_a_default_value_of_zero_clears_the_alarm_the_next_minute(self) -> None:
        assert transitions(default=0.0) == [
            (T0 + timedelta(minutes=2), "ALARM"),
            (T0 + timedelta(minutes=3), "OK"),
        ]

    def test_matched_records_are_kept_per_metric(self) -> None:
        events = to_log_events([record(0, "StopLogging", "x"), record(0, "Decrypt", "y")])
        simulation = Simulation(events, compile_filters([metric_filter()]), [ALARM])
        assert [e.record["eventID"] for e in simulation.matched["trail-stopped"]] == ["x"]


def trigger(detection: str, event_ids: list[str], status: int = 202, valid: bool = True) -> RecordedRequest:
    event = {
        "event_action": "trigger",
        "dedup_key": f"k-{detection}",
        "payload": {
            "class": detection,
            "severity": "error",
            "custom_details": {
                "evidence": {"count": len(event_ids)},
                "sample_events": [{"eventID": i} for i in event_ids],
            },
        },
        "links": [{"href": f"https://console/{i}", "text": f"CloudTrail event {i}"} for i in event_ids],
    }
    return RecordedRequest("/v2/enqueue", b"{}", event, valid, [] if valid else ["summary: required"], status)


def run_with(requests: list[RecordedRequest], *, ok: bool = True) -> RunResult:
    transition = Transition(ALARM, T0 + timedelta(minutes=2), "OK", "ALARM", "r", ())
    invocation = Invocation("req", ok, {}, None if ok else {"errorType": "Boom"}, 1.0)
    delivery = Delivery(transition, ALARM.alarm_actions[0], {}, (invocation,), tuple(requests))
    events = to_log_events([record(1, "StopLogging", "b"), record(1, "Decrypt", "c")])
    result = RunResult(deliveries=[delivery], requests=list(requests), events=events)
    result.matched = {"trail-stopped": [e for e in events if e.record["eventID"] == "b"]}
    return result


class TestChecks:
    def test_a_valid_page_with_matching_evidence_passes(self) -> None:
        result = run_with([trigger("trail-stopped", ["b"])])
        assert check_run(result, expected_detections=["trail-stopped"]) == []

    def test_evidence_that_does_not_match_the_filter_fails(self) -> None:
        problems = check_run(run_with([trigger("trail-stopped", ["b", "c"])]))
        assert any("do not match its filter: c" in p for p in problems)

    def test_an_alarm_without_a_page_fails(self) -> None:
        problems = check_run(run_with([]))
        assert problems == [
            "security-baseline-trail-stopped went to ALARM but no valid PagerDuty trigger was sent"
        ]

    def test_an_invalid_request_fails(self) -> None:
        problems = check_run(run_with([trigger("trail-stopped", ["b"], status=400, valid=False)]))
        assert any("rejected (400)" in p for p in problems)

    def test_a_failed_invocation_fails(self) -> None:
        problems = check_run(run_with([trigger("trail-stopped", ["b"])], ok=False))
        assert any("forwarder failed" in p for p in problems)

    def test_an_expected_detection_without_a_page_fails(self) -> None:
        problems = check_run(
            run_with([trigger("trail-stopped", ["b"])]),
            expected_detections=["root-console-login"],
            known_detections=["root-console-login", "trail-stopped"],
        )
        assert problems == ["the scenario expects a page for 'root-console-login'; none was received"]
