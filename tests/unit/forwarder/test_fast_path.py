"""The fast path with in-memory collaborators: EventBridge events in, one page per incident out.

EventBridge events are built with the compile target's own envelope (what CloudTrail publishes), the episode
store is testkit's in-memory one (the DynamoDB one is exercised against moto in tests/integration).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from detections.catalogue import CATALOGUE, get_detection
from detections.fast_path import decide, has_fast_path
from detections.targets.eventbridge import eventbridge_envelope
from lambdas.forwarder import episodes
from lambdas.forwarder.enrichment import Place
from lambdas.forwarder.models import EVENTBRIDGE, parse_lambda_event, parse_trail_event
from lambdas.forwarder.service import forward_event
from testkit.alarms import cloudtrail_record, sns_event_with
from testkit.episodes import FailingEpisodeStore, InMemoryEpisodeStore
from tests.unit.forwarder.test_service import Clock, FakeLogs, make_deps

FAST_PATH_DETECTIONS = tuple(d for d in CATALOGUE if decide(d).enabled)
OWN_ACCOUNT = "123456789012"
MEMBER_ACCOUNT = "444455556666"


def guardduty_deleted(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "eventSource": "guardduty.amazonaws.com",
        "eventName": "DeleteDetector",
        "requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0"},
        "eventID": "6f1c2b1e-0000-4000-8000-000000000001",
    }
    return cloudtrail_record(**{**fields, **overrides})


def envelope(record: dict[str, Any]) -> dict[str, Any]:
    event = eventbridge_envelope(record)
    assert event is not None
    event["id"] = "b0c1d2e3-aaaa-bbbb-cccc-000000000001"  # EventBridge's own id differs from eventID
    return event


def fast_deps(clock: Clock, store: Any = None, trail_log: list[dict[str, Any]] | None = None):
    deps, posted, metrics = make_deps(clock, FakeLogs(clock, trail_log or []))
    deps.episodes = InMemoryEpisodeStore() if store is None else store
    deps.fast_path_detections = FAST_PATH_DETECTIONS
    deps.home = Place("us-east-1", "aws")
    deps.own_account = lambda: OWN_ACCOUNT
    return deps, posted, metrics


# --- parsing ----------------------------------------------------------------------------------------------


def test_an_eventbridge_cloudtrail_event_is_read_as_a_trail_event() -> None:
    record = guardduty_deleted(awsRegion="eu-west-1")
    parsed = parse_lambda_event(envelope(record))
    assert parsed.notifications == () and parsed.failures == ()
    (event,) = parsed.trail_events
    assert (event.event_id, event.envelope_id, event.account_id, event.region, event.partition) == (
        record["eventID"],
        "b0c1d2e3-aaaa-bbbb-cccc-000000000001",
        OWN_ACCOUNT,
        "eu-west-1",
        "aws",
    )
    assert event.detail_type == "AWS API Call via CloudTrail"
    assert event.event_time_iso == "2026-11-24T06:20:10Z"
    assert dict(event.record) == record


def test_the_account_falls_back_to_the_envelope_and_the_partition_follows_the_region() -> None:
    record = guardduty_deleted(awsRegion="cn-north-1")
    del record["recipientAccountId"]
    event = envelope(record)
    event["account"] = MEMBER_ACCOUNT
    parsed = parse_trail_event(event)
    assert (parsed.account_id, parsed.partition) == (MEMBER_ACCOUNT, "aws-cn")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.pop("detail"), "no 'detail' object"),
        (lambda e: (e["detail"].pop("recipientAccountId"), e.pop("account")), "names the account"),
        (lambda e: (e["detail"].pop("eventID"), e.pop("id")), "identifies the event"),
        (lambda e: e["detail"].update(eventTime="yesterday"), "detail.eventTime"),
    ],
)
def test_a_malformed_eventbridge_event_names_what_is_missing(change: Any, reason: str) -> None:
    event = envelope(guardduty_deleted())
    change(event)
    assert EVENTBRIDGE.recognises(event)
    parsed = parse_lambda_event(event)
    (failure,) = parsed.failures
    assert reason in failure.reason and parsed.trail_events == ()


# --- identification ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_the_forwarders_cheap_fast_path_check_agrees_with_the_plan(detection: Any) -> None:
    assert has_fast_path(detection) == decide(detection).enabled


# --- the detection from the record (engine) ----------------------------------------------------------


def test_the_engine_identifies_the_detection_from_the_record() -> None:
    found = episodes.identify(guardduty_deleted(), FAST_PATH_DETECTIONS)
    assert [d.id for d in found.detections] == ["guardduty-disabled"] and found.problem is None


def test_a_record_no_fast_path_detection_matches_is_a_mismatch_with_a_reason() -> None:
    found = episodes.identify(cloudtrail_record(eventName="ListUsers"), FAST_PATH_DETECTIONS)
    assert found.detections == () and "no fast-path detection" in str(found.problem)


# --- paging -----------------------------------------------------------------------------------------------


def test_a_fast_path_event_pages_at_once_with_the_event_as_evidence() -> None:
    clock = Clock(60.0)
    deps, posted, metrics = fast_deps(clock)
    record = guardduty_deleted()
    assert forward_event(envelope(record), deps, clock) == {"outcomes": ["paged"]}
    (page,) = posted
    payload = page["payload"]
    assert page["dedup_key"] == f"sb1/guardduty-disabled/{OWN_ACCOUNT}/us-east-1/fast/{record['eventID']}"
    assert payload["class"] == "guardduty-disabled" and payload["severity"] == "critical"
    assert payload["summary"].startswith("GuardDuty impaired (DeleteDetector) by user/alice from 203.0.113.7")
    details = payload["custom_details"]
    assert details["evidence"]["count"] == 1 and details["sample_events"] == [record]
    assert details["fast_path"]["event_id"] == record["eventID"]
    assert "note" not in details["account"]  # its own account: no member-account note
    (pivot,) = details["pivot"]["commands"]
    assert pivot.startswith(
        "python -m detections investigate --principal arn:aws:iam::123456789012:user/alice"
    )
    assert "--since 2026-11-23T18:20:10Z --until 2026-11-24T18:20:10Z" in pivot
    assert any("cloudtrailv2" in link["href"] and record["eventID"] in link["href"] for link in page["links"])
    assert deps.logs.calls == 0  # no FilterLogEvents: the event is the evidence
    assert metrics["PagesSent"] == 1


def test_a_redelivered_event_does_not_page_twice() -> None:
    clock = Clock(60.0)
    deps, posted, metrics = fast_deps(clock)
    event = envelope(guardduty_deleted())
    forward_event(event, deps, clock)
    assert forward_event(copy.deepcopy(event), deps, clock) == {"outcomes": ["duplicate"]}
    assert len(posted) == 1 and metrics["DuplicateEvents"] == 1


def detection_alarm(detection_id: str) -> dict[str, Any]:
    """The SNS notification of the detection's alarm entering ALARM, in this account."""
    alarm = sns_event_with(
        {
            "AlarmName": f"security-baseline-{detection_id}",
            "AlarmDescription": f"[{detection_id}] test alarm.",
            "Trigger": {
                "MetricName": detection_id,
                "Namespace": "SecurityBaseline",
                "Period": 60,
                "EvaluationPeriods": 20,
            },
        }
    )
    assert json.loads(alarm["Records"][0]["Sns"]["Message"])["AWSAccountId"] == OWN_ACCOUNT
    return alarm


def test_a_second_event_of_the_same_incident_and_the_alarm_afterwards_land_on_the_first_alert() -> None:
    clock = Clock(60.0)
    deps, posted, _ = fast_deps(clock)
    forward_event(envelope(guardduty_deleted()), deps, clock)
    second = guardduty_deleted(eventID="6f1c2b1e-0000-4000-8000-000000000002", awsRegion="eu-west-1")
    forward_event(envelope(second), deps, clock)
    assert forward_event(detection_alarm("guardduty-disabled"), deps, clock) == {"outcomes": ["paged"]}
    keys = [page["dedup_key"] for page in posted]
    assert len(keys) == 3 and len(set(keys)) == 1, keys


def test_when_the_alarm_pages_first_the_late_fast_page_lands_on_its_alert() -> None:
    # EventBridge is best effort: here its delivery comes after the alarm's
    clock = Clock(60.0)
    deps, posted, _ = fast_deps(clock)
    assert forward_event(detection_alarm("guardduty-disabled"), deps, clock) == {"outcomes": ["paged"]}
    assert forward_event(envelope(guardduty_deleted()), deps, clock) == {"outcomes": ["paged"]}
    alarm_page, fast_page = posted
    assert fast_page["dedup_key"] == alarm_page["dedup_key"]
    assert "/fast/" not in alarm_page["dedup_key"]  # the alarm's own key opened the episode


@pytest.mark.parametrize("alarm_first", [False, True], ids=["fast-path-first", "alarm-first"])
def test_an_organization_trails_alarm_and_a_member_accounts_fast_page_share_one_alert(alarm_first) -> None:
    # The alarm lives in the central account; the call, and so its fast page, in a member account
    member_call = guardduty_deleted(recipientAccountId=MEMBER_ACCOUNT)
    clock = Clock(60.0)
    deps, posted, _ = fast_deps(clock, trail_log=[member_call])
    pages = [envelope(member_call), detection_alarm("guardduty-disabled")]
    for event in reversed(pages) if alarm_first else pages:
        assert forward_event(event, deps, clock) == {"outcomes": ["paged"]}
    first, second = posted
    assert first["dedup_key"] == second["dedup_key"]


def test_the_incident_account_is_the_earliest_matching_calls() -> None:
    calls = [
        {"eventTime": "2026-11-24T06:21:00Z", "recipientAccountId": "222222222222"},
        {"eventTime": "2026-11-24T06:20:00Z", "recipientAccountId": MEMBER_ACCOUNT},
        {"eventTime": "2026-11-24T06:19:00Z"},  # no account: not a candidate
    ]
    assert episodes.incident_account(calls, OWN_ACCOUNT) == MEMBER_ACCOUNT
    assert episodes.incident_account([], OWN_ACCOUNT) == OWN_ACCOUNT  # no evidence: the alarm's account


def test_an_alarm_of_a_detection_without_a_fast_path_keeps_its_own_key_and_skips_the_store() -> None:
    clock = Clock(60.0)
    store = FailingEpisodeStore()
    deps, posted, metrics = fast_deps(clock, store)
    assert not has_fast_path(get_detection("iam-policy-changes"))
    assert forward_event(detection_alarm("iam-policy-changes"), deps, clock) == {"outcomes": ["paged"]}
    assert store.calls == 0 and "EpisodeStoreFailures" not in metrics
    (page,) = posted
    assert "/iam-policy-changes/" in page["dedup_key"] and "/fast/" not in page["dedup_key"]


def test_another_detections_incident_or_account_opens_its_own_alert() -> None:
    clock = Clock(60.0)
    deps, posted, _ = fast_deps(clock)
    forward_event(envelope(guardduty_deleted()), deps, clock)
    forward_event(envelope(guardduty_deleted(eventID="e-2", recipientAccountId=MEMBER_ACCOUNT)), deps, clock)
    stop = cloudtrail_record(eventSource="cloudtrail.amazonaws.com", eventName="StopLogging", eventID="e-3")
    forward_event(envelope(stop), deps, clock)
    assert len({page["dedup_key"] for page in posted}) == 3


def test_the_episode_store_down_still_pages_and_counts_it() -> None:
    clock = Clock(60.0)
    store = FailingEpisodeStore()
    deps, posted, metrics = fast_deps(clock, store)
    assert forward_event(envelope(guardduty_deleted()), deps, clock) == {"outcomes": ["paged"]}
    assert len(posted) == 1
    assert metrics["EpisodeStoreFailures"] == store.calls == 3  # redelivery check, episode, remember
    assert any(level == "warning" and "Episode store failed" in line for level, line in deps.logger.lines)


def test_a_member_account_event_names_its_account_and_says_its_alias_is_not_read() -> None:
    clock = Clock(60.0)
    deps, posted, _ = fast_deps(clock)
    deps.account_alias = lambda account: "prod-main" if account == OWN_ACCOUNT else None
    forward_event(envelope(guardduty_deleted(recipientAccountId=MEMBER_ACCOUNT)), deps, clock)
    (page,) = posted
    account = page["payload"]["custom_details"]["account"]
    assert account["id"] == MEMBER_ACCOUNT and account["alias"] is None
    assert "member account" in account["note"] and OWN_ACCOUNT in account["note"]
    assert f"in account {MEMBER_ACCOUNT} (us-east-1)" in page["payload"]["summary"]
    assert page["payload"]["source"] == f"aws:{MEMBER_ACCOUNT}:us-east-1"


def test_an_event_no_detection_matches_still_pages_and_is_counted() -> None:
    clock = Clock(60.0)
    deps, posted, metrics = fast_deps(clock)
    event = envelope(cloudtrail_record(eventName="ListUsers"))
    assert forward_event(event, deps, clock) == {"outcomes": ["paged"]}
    (page,) = posted
    assert page["payload"]["class"] == "unknown-fast-path-event" and metrics["FastPathMismatches"] == 1
    assert "no fast-path detection" in page["payload"]["custom_details"]["detection"]["note"]


def test_a_suppressed_fast_path_event_does_not_page() -> None:
    from dataclasses import replace

    from detections.suppressions import parse_suppressions

    clock = Clock(60.0)
    deps, posted, metrics = fast_deps(clock)
    deps.settings = replace(
        deps.settings,
        suppressions=parse_suppressions(
            [
                {
                    "detection": "guardduty-disabled",
                    "principalArnPattern": "arn:aws:iam::123456789012:user/alice",
                    "reason": "alice decommissions the sandbox detector",
                    "expires": "2099-01-01",
                }
            ]
        ),
    )
    assert forward_event(envelope(guardduty_deleted()), deps, clock) == {"outcomes": ["suppressed"]}
    assert posted == [] and metrics["Suppressed"] == 1


def test_the_alarm_path_page_carries_the_pivot_too() -> None:
    clock = Clock(60.0)
    root_login = {
        **cloudtrail_record(),
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::123456789012:root"},
    }
    deps, posted, _ = make_deps(clock, FakeLogs(clock, [root_login]))
    forward_event(sns_event_with({}), deps, clock)
    (page,) = posted
    (command,) = page["payload"]["custom_details"]["pivot"]["commands"]
    assert "--principal arn:aws:iam::123456789012:root" in command


def test_the_detection_ids_of_the_catalogue_fit_the_dedup_key() -> None:
    longest = max((d.id for d in CATALOGUE), key=len)
    event = parse_trail_event(envelope(guardduty_deleted()))
    assert len(episodes.fast_path_dedup_key(event, longest)) <= episodes.MAX_DEDUP_KEY
    assert get_detection("guardduty-disabled").resolve_policy == "manual"


def test_a_bug_while_building_the_fast_path_page_still_pages() -> None:
    import dataclasses

    clock = Clock(60.0)
    deps, posted, metrics = fast_deps(clock)
    broken = dataclasses.replace(get_detection("guardduty-disabled"), controls=None)  # type: ignore[arg-type]
    deps.fast_path_detections = (broken,)
    assert forward_event(envelope(guardduty_deleted()), deps, clock) == {"outcomes": ["paged"]}
    (page,) = posted
    assert page["payload"]["class"] == "guardduty-disabled" and page["payload"]["severity"] == "critical"
    problems = page["payload"]["custom_details"]["enrichment"]["problems"]
    assert problems[0].startswith("building the page failed: TypeError")
    assert metrics["EnrichmentFailures"] == 1
