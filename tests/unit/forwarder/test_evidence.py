"""FilterLogEvents: pagination (empty pages with a token), bounds, merging patterns, throttling and pacing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from botocore.exceptions import ClientError, EndpointConnectionError

from lambdas.forwarder.enrichment import Window
from lambdas.forwarder.evidence import EvidenceBounds, RatePacer, fetch_evidence
from testkit.alarms import cloudtrail_record

WINDOW = Window(datetime(2026, 11, 24, 6, 0, tzinfo=UTC), datetime(2026, 11, 24, 6, 30, tzinfo=UTC))


def log_event(record: dict) -> dict:
    return {"eventId": "log-" + record["eventID"], "message": json.dumps(record), "timestamp": 0}


def throttled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "FilterLogEvents",
    )


class FakeLogs:
    """Scripted FilterLogEvents: responses (dicts or exceptions) served in order; requests recorded."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests: list[dict] = []

    def filter_log_events(self, **request):
        self.requests.append(request)
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return response


def unpaced() -> RatePacer:
    return RatePacer(rate_per_second=1000, burst=1000)


def fetch(logs, patterns=("{ $.eventName = X }",), **kwargs):
    sleeps: list[float] = []
    kwargs.setdefault("pacer", unpaced())
    evidence = fetch_evidence(
        logs,
        log_group="trail",
        patterns=list(patterns),
        window=WINDOW,
        remaining_seconds=kwargs.pop("remaining", lambda: 30.0),
        sleep=sleeps.append,
        rand=lambda: 1.0,
        **kwargs,
    )
    return evidence, sleeps


def test_follows_next_token_through_empty_pages() -> None:
    # Given a first page that is empty but has a nextToken (FilterLogEvents does this over sparse streams)
    logs = FakeLogs(
        {"events": [], "nextToken": "t1"},
        {"events": [log_event(cloudtrail_record(eventID="a"))], "nextToken": "t2"},
        {"events": [log_event(cloudtrail_record(eventID="b"))]},
    )
    evidence, _ = fetch(logs)
    assert [r["eventID"] for r in evidence.records] == ["a", "b"]
    assert evidence.complete and evidence.requests == 3
    assert [r.get("nextToken") for r in logs.requests] == [None, "t1", "t2"]
    assert logs.requests[0]["startTime"] == int(WINDOW.start.timestamp() * 1000)
    assert logs.requests[0]["endTime"] == int(WINDOW.end.timestamp() * 1000)
    assert logs.requests[0]["filterPattern"] == "{ $.eventName = X }"


def test_every_pattern_is_searched_and_results_merge_by_event_id() -> None:
    shared = cloudtrail_record(eventID="same")
    logs = FakeLogs(
        {"events": [log_event(shared), log_event(cloudtrail_record(eventID="only-1"))]},
        {"events": [log_event(shared)]},
    )
    evidence, _ = fetch(logs, patterns=("p1", "p2"))
    assert sorted(r["eventID"] for r in evidence.records) == ["only-1", "same"]
    assert [r["filterPattern"] for r in logs.requests] == ["p1", "p2"]


def test_page_bound_marks_the_evidence_incomplete() -> None:
    logs = FakeLogs(*[{"events": [], "nextToken": f"t{i}"} for i in range(3)])
    evidence, _ = fetch(logs, bounds=EvidenceBounds(max_pages_per_pattern=3))
    assert not evidence.complete and evidence.requests == 3
    assert "stopped after 3 pages with more remaining" in evidence.problems[0]


def test_event_bound_stops_early() -> None:
    logs = FakeLogs(
        {"events": [log_event(cloudtrail_record(eventID=str(i))) for i in range(10)], "nextToken": "t"}
    )
    evidence, _ = fetch(logs, bounds=EvidenceBounds(max_events=4))
    assert len(evidence.records) == 4 and not evidence.complete


def test_throttling_is_retried_with_backoff_then_succeeds() -> None:
    logs = FakeLogs(throttled(), throttled(), {"events": [log_event(cloudtrail_record())]})
    evidence, sleeps = fetch(logs)
    assert evidence.complete and len(evidence.records) == 1
    assert evidence.retries == 2 and sleeps == [0.25, 0.5]


def test_persistent_throttling_gives_partial_evidence_not_an_exception() -> None:
    logs = FakeLogs(*[throttled()] * 5)
    evidence, _ = fetch(logs)
    assert not evidence.complete and evidence.records == []
    assert "ThrottlingException after 5 attempts" in evidence.problems[-1]


def test_network_errors_are_retried_too() -> None:
    logs = FakeLogs(EndpointConnectionError(endpoint_url="http://x"), {"events": []})
    evidence, _ = fetch(logs)
    assert evidence.complete and evidence.retries == 1


def test_access_denied_is_not_retried() -> None:
    denied = ClientError(
        {
            "Error": {"Code": "AccessDeniedException", "Message": "no"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "FilterLogEvents",
    )
    logs = FakeLogs(denied)
    evidence, _ = fetch(logs)
    assert evidence.requests == 1 and not evidence.complete
    assert evidence.problems == ["FilterLogEvents failed: AccessDeniedException: no"]


def test_no_time_left_means_no_request() -> None:
    logs = FakeLogs()
    evidence, _ = fetch(logs, remaining=lambda: 0.0)
    assert evidence.requests == 0 and not evidence.complete
    assert "time budget" in evidence.problems[0]


def test_non_json_log_events_are_skipped_and_reported() -> None:
    logs = FakeLogs({"events": [{"eventId": "x", "message": "not json"}]})
    evidence, _ = fetch(logs)
    assert evidence.records == [] and "not CloudTrail JSON" in evidence.problems[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_pacer_allows_a_burst_then_one_request_per_second() -> None:
    clock = FakeClock()
    pacer = RatePacer(rate_per_second=1.0, burst=2.0, clock=clock, sleep=clock.sleep)
    assert all(pacer.acquire(lambda: 60.0) for _ in range(4))
    assert clock.sleeps == [1.0, 1.0]  # two immediate, then spaced a second apart


def test_pacer_refuses_a_wait_that_does_not_fit_the_budget() -> None:
    clock = FakeClock()
    pacer = RatePacer(rate_per_second=1.0, burst=1.0, clock=clock, sleep=clock.sleep)
    assert pacer.acquire(lambda: 60.0)
    assert not pacer.acquire(lambda: 0.5)
    assert clock.sleeps == []
