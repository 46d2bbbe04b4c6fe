"""The fast path as deployed: an EventBridge CloudTrail event in, a schema-valid page out at once, one
PagerDuty alert per incident across both paths. The handler from the synthesized asset, its episode table on
moto's DynamoDB over HTTP, the validating PagerDuty receiver.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.responses import DynamoHandler

from detections.targets.eventbridge import eventbridge_envelope
from lambdas.forwarder.environment import (
    FORWARDER_METRICS_NAMESPACE,
    SERVICE_DIMENSION,
    SERVICE_NAME,
    ForwarderMetric,
)
from testkit.alarms import cloudtrail_record
from testkit.scenarios import MetricSeries, alarm_message, emitted_metric_series, emitted_metrics, sns_event

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


def test_a_fast_event_delivered_after_the_alarm_lands_on_the_alarms_alert(forwarder) -> None:
    # EventBridge is best effort: this time the alarm pages first
    record = guardduty_deleted()
    forwarder.put_records([record])
    assert forwarder.invoke(sns_event(alarm_message("guardduty-disabled"))) == {"outcomes": ["paged"]}
    assert forwarder.invoke(eventbridge_event(record)) == {"outcomes": ["paged"]}
    alarm_page, fast_page = forwarder.pagerduty.valid_events()
    assert fast_page["dedup_key"] == alarm_page["dedup_key"]  # one PagerDuty alert


def test_an_organization_alarm_lands_on_the_member_accounts_fast_alert(forwarder) -> None:
    # The organization trail's alarm fires in this (central) account for a call made in a member account
    record = guardduty_deleted(recipientAccountId=MEMBER_ACCOUNT)
    forwarder.invoke(eventbridge_event(record))
    forwarder.put_records([record])
    assert forwarder.invoke(sns_event(alarm_message("guardduty-disabled"))) == {"outcomes": ["paged"]}
    fast_page, alarm_page = forwarder.pagerduty.valid_events()
    assert alarm_page["dedup_key"] == fast_page["dedup_key"]


def test_the_episode_table_down_still_pages(forwarder, capsys) -> None:
    for action in ("get_item", "put_item"):
        forwarder.aws.faults.fail(
            DynamoHandler, action, code="ProvisionedThroughputExceededException", status=400, times=20
        )
    assert forwarder.invoke(eventbridge_event(guardduty_deleted())) == {"outcomes": ["paged"]}
    (request,) = forwarder.pagerduty.requests
    assert request.valid, request.errors
    out = capsys.readouterr().out
    metrics = emitted_metrics(out)
    assert metrics["PagesSent"] == 1 and metrics["EpisodeStoreFailures"] == 3
    # Filed under the series health-episode-store-failures watches (tests/infra/test_pipeline_health.py)
    assert health_alarm_series(ForwarderMetric.EPISODE_STORE_FAILURES) in emitted_metric_series(out)


def test_an_event_no_detection_matches_pages_and_raises_the_mismatch_metric(forwarder, capsys) -> None:
    record = cloudtrail_record(eventName="ListUsers", eventSource="iam.amazonaws.com")
    assert forwarder.invoke(eventbridge_event(record)) == {"outcomes": ["paged"]}
    (event,) = forwarder.pagerduty.valid_events()
    assert event["payload"]["class"] == "unknown-fast-path-event"
    assert health_alarm_series(ForwarderMetric.FAST_PATH_MISMATCHES) in emitted_metric_series(
        capsys.readouterr().out
    )


def health_alarm_series(metric: ForwarderMetric) -> MetricSeries:
    return (FORWARDER_METRICS_NAMESPACE, metric.value, ((SERVICE_DIMENSION, SERVICE_NAME),))


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


class CountingClient:
    """The DynamoDB client, counting the requests the store makes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests: list[str] = []

    def get_item(self, **request: Any) -> Any:
        self.requests.append("GetItem")
        return self.client.get_item(**request)

    def put_item(self, **request: Any) -> Any:
        self.requests.append("PutItem")
        return self.client.put_item(**request)


def test_the_dynamodb_store_opens_joins_and_reopens_after_expiry(aws) -> None:
    from datetime import UTC, datetime, timedelta

    from lambdas.forwarder.episode_store import DynamoEpisodeStore
    from lambdas.forwarder.episodes import Episode

    aws.reset()
    client = CountingClient(aws.client("dynamodb"))
    store = DynamoEpisodeStore(client, aws.create_episode_table("episodes-store-test"))
    now = datetime(2026, 11, 24, 6, 20, tzinfo=UTC)
    first = Episode("guardduty-disabled", OWN_ACCOUNT, "key-1", now + timedelta(minutes=30))
    assert store.open_episode(first, now) == "key-1"
    # Within the episode, a second opener (either path) gets the first key, in one request: the refused
    # put returns the open episode's item
    client.requests.clear()
    second = Episode("guardduty-disabled", OWN_ACCOUNT, "key-2", now + timedelta(minutes=35))
    assert store.open_episode(second, now + timedelta(minutes=29)) == "key-1"
    assert client.requests == ["PutItem"]
    # Another account or detection: its own episode
    member = Episode("guardduty-disabled", MEMBER_ACCOUNT, "key-m", now + timedelta(minutes=30))
    assert store.open_episode(member, now) == "key-m"
    other = Episode("root-console-login", OWN_ACCOUNT, "key-r", now + timedelta(minutes=30))
    assert store.open_episode(other, now) == "key-r"
    # After expiry (TTL deletes lazily, so the item may still be there): the next page reopens
    later = now + timedelta(minutes=31)
    third = Episode("guardduty-disabled", OWN_ACCOUNT, "key-3", later + timedelta(minutes=30))
    assert store.open_episode(third, later) == "key-3"
    assert store.open_episode(second, later + timedelta(minutes=1)) == "key-3"
    # Paged events: remembered until their expiry
    assert not store.already_paged("event/e-1/guardduty-disabled", now)
    store.record_paged("event/e-1/guardduty-disabled", now + timedelta(minutes=30))
    assert store.already_paged("event/e-1/guardduty-disabled", now + timedelta(minutes=1))
    assert not store.already_paged("event/e-1/guardduty-disabled", now + timedelta(minutes=31))
