"""The fast path as deployed: an EventBridge CloudTrail event in, a schema-valid page out at once, one
PagerDuty alert per incident across both paths. The handler from the synthesized asset, its episode table on
moto's DynamoDB over HTTP, the validating PagerDuty receiver.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.responses import DynamoHandler

from detections.targets.eventbridge import eventbridge_envelope
from testkit.alarms import cloudtrail_record
from testkit.scenarios import alarm_message, emitted_metrics, sns_event

OWN_ACCOUNT = "123456789012"  # moto's account, and the account in the fake Lambda context's ARN
MEMBER_ACCOUNT = "444455556666"


def guardduty_deleted(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "eventSource": "guardduty.amazonaws.com",
        "eventName": "DeleteDetector",
        "requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0"},
        "eventID": "6f1c2b1e-0000-4000-8000-000000000001",
        "eventTime": "2026-11-24T06:20:10Z",
    }
    return cloudtrail_record(**{**fields, **overrides})


def eventbridge_event(record: dict[str, Any]) -> dict[str, Any]:
    event = eventbridge_envelope(record)
    assert event is not None
    return event


def test_a_fast_path_event_pages_at_once_with_the_event_as_evidence(forwarder, capsys) -> None:
    record = guardduty_deleted()
    assert forwarder.invoke(eventbridge_event(record)) == {"outcomes": ["paged"]}
    (request,) = forwarder.pagerduty.requests
    assert request.valid, request.errors
    payload = request.event["payload"]
    assert payload["class"] == "guardduty-disabled" and payload["severity"] == "critical"
    assert payload["summary"].startswith("GuardDuty impaired (DeleteDetector) by user/alice from 203.0.113.7")
    details = payload["custom_details"]
    assert details["sample_events"] == [record] and details["fast_path"]["event_id"] == record["eventID"]
    assert details["pivot"]["commands"][0].startswith("python -m detections investigate --principal ")
    metrics = emitted_metrics(capsys.readouterr().out)
    # The event is its own evidence: no FilterLogEvents call was made (the log group is empty anyway).
    assert metrics["PagesSent"] == 1 and "EventsFound" not in metrics
    assert "EpisodeStoreFailures" not in metrics
    episode = forwarder.aws.client("dynamodb").get_item(
        TableName=forwarder.env["EPISODE_TABLE_NAME"],
        Key={"pk": {"S": f"episode/guardduty-disabled/{OWN_ACCOUNT}"}},
    )["Item"]
    assert episode["dedup_key"]["S"] == request.event["dedup_key"]


def test_a_redelivered_event_does_not_page_twice(forwarder, capsys) -> None:
    event = eventbridge_event(guardduty_deleted())
    forwarder.invoke(event)
    assert forwarder.invoke(copy.deepcopy(event)) == {"outcomes": ["duplicate"]}
    assert len(forwarder.pagerduty.requests) == 1
    assert emitted_metrics(capsys.readouterr().out)["DuplicateEvents"] == 1


def test_the_alarm_path_afterwards_lands_on_the_fast_paths_alert(forwarder) -> None:
    record = guardduty_deleted()
    forwarder.invoke(eventbridge_event(record))
    forwarder.put_records([record])  # minutes later the record reaches the log group and the alarm fires
    assert forwarder.invoke(sns_event(alarm_message("guardduty-disabled"))) == {"outcomes": ["paged"]}
    first, second = forwarder.pagerduty.valid_events()
    assert first["dedup_key"] == second["dedup_key"]  # one PagerDuty alert, updated by the alarm's page
    assert second["payload"]["custom_details"]["evidence"]["count"] == 1
    assert second["payload"]["custom_details"]["pivot"]["commands"]


def test_the_episode_table_down_still_pages(forwarder, capsys) -> None:
    for action in ("get_item", "put_item"):
        forwarder.aws.faults.fail(
            DynamoHandler, action, code="ProvisionedThroughputExceededException", status=400, times=20
        )
    assert forwarder.invoke(eventbridge_event(guardduty_deleted())) == {"outcomes": ["paged"]}
    (request,) = forwarder.pagerduty.requests
    assert request.valid, request.errors
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["PagesSent"] == 1 and metrics["EpisodeStoreFailures"] == 3


def test_a_missing_episode_table_still_pages(forwarder, capsys) -> None:
    forwarder.aws.client("dynamodb").delete_table(TableName=forwarder.env["EPISODE_TABLE_NAME"])
    assert forwarder.invoke(eventbridge_event(guardduty_deleted())) == {"outcomes": ["paged"]}
    assert len(forwarder.pagerduty.valid_events()) == 1
    assert emitted_metrics(capsys.readouterr().out)["EpisodeStoreFailures"] == 3


def test_a_member_account_event_names_its_account(forwarder) -> None:
    forwarder.aws.client("iam").create_account_alias(AccountAlias="security-tooling")
    record = guardduty_deleted(recipientAccountId=MEMBER_ACCOUNT, awsRegion="eu-west-1")
    record["userIdentity"] = {**record["userIdentity"], "accountId": MEMBER_ACCOUNT}
    forwarder.invoke(eventbridge_event(record))
    (event,) = forwarder.pagerduty.valid_events()
    payload = event["payload"]
    assert f"in account {MEMBER_ACCOUNT} (eu-west-1)" in payload["summary"]
    assert "security-tooling" not in payload["summary"]
    account = payload["custom_details"]["account"]
    assert (
        account["id"] == MEMBER_ACCOUNT and account["alias"] is None and "member account" in account["note"]
    )
    assert event["dedup_key"].startswith(f"sb1/guardduty-disabled/{MEMBER_ACCOUNT}/eu-west-1/fast/")


def test_an_own_account_event_carries_the_alias(forwarder) -> None:
    forwarder.aws.client("iam").create_account_alias(AccountAlias="security-tooling")
    forwarder.invoke(eventbridge_event(guardduty_deleted()))
    (event,) = forwarder.pagerduty.valid_events()
    assert f"security-tooling ({OWN_ACCOUNT})" in event["payload"]["summary"]


def test_the_dynamodb_store_opens_joins_and_reopens_after_expiry(aws) -> None:
    from datetime import UTC, datetime, timedelta

    from lambdas.forwarder.episode_store import DynamoEpisodeStore
    from lambdas.forwarder.episodes import Episode

    aws.reset()
    store = DynamoEpisodeStore(aws.client("dynamodb"), aws.create_episode_table("episodes-store-test"))
    now = datetime(2026, 11, 24, 6, 20, tzinfo=UTC)
    first = Episode("guardduty-disabled", OWN_ACCOUNT, "key-1", now + timedelta(minutes=30))
    assert store.open_episode(first, now) == "key-1"
    # Within the episode: a second opener and the alarm path get the first key
    second = Episode("guardduty-disabled", OWN_ACCOUNT, "key-2", now + timedelta(minutes=35))
    assert store.open_episode(second, now + timedelta(minutes=5)) == "key-1"
    assert store.open_episode_key("guardduty-disabled", OWN_ACCOUNT, now + timedelta(minutes=29)) == "key-1"
    # Another account or detection: no episode
    assert store.open_episode_key("guardduty-disabled", MEMBER_ACCOUNT, now) is None
    assert store.open_episode_key("root-console-login", OWN_ACCOUNT, now) is None
    # After expiry (TTL deletes lazily, so the item may still be there): closed, and the next page reopens
    later = now + timedelta(minutes=31)
    assert store.open_episode_key("guardduty-disabled", OWN_ACCOUNT, later) is None
    third = Episode("guardduty-disabled", OWN_ACCOUNT, "key-3", later + timedelta(minutes=30))
    assert store.open_episode(third, later) == "key-3"
    # Paged events: remembered until their expiry
    assert not store.already_paged("event/e-1/guardduty-disabled", now)
    store.record_paged("event/e-1/guardduty-disabled", now + timedelta(minutes=30))
    assert store.already_paged("event/e-1/guardduty-disabled", now + timedelta(minutes=1))
    assert not store.already_paged("event/e-1/guardduty-disabled", now + timedelta(minutes=31))
