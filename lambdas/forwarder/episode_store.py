"""The episode store on DynamoDB: one table, one string partition key, items that expire by TTL.

Items (partition key ``pk``, TTL attribute ``expires_at`` in epoch seconds):

* ``episode/<detection>/<account>``: ``dedup_key`` of the open episode. Opened with a conditional put that
  succeeds only when no item exists or the one there has expired (TTL deletes lazily, up to days late, so
  the condition checks ``expires_at`` itself). A refused put returns the open episode's item
  (``ReturnValuesOnConditionCheckFailure``), so joining an episode is one request, like opening one.
* ``event/<event id>/<detection>``: written once PagerDuty accepted the fast path's page for that event.

Only GetItem and PutItem: the construct's policy grants exactly those on this table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lambdas.forwarder.episodes import Episode, episode_item_key
from lambdas.forwarder.ports import DynamoDBPort

#: The table's key and TTL attribute: the AlertForwarder construct creates the table with these names.
PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class DynamoEpisodeStore:
    def __init__(self, client: DynamoDBPort, table_name: str) -> None:
        self._client, self._table = client, table_name

    def open_episode(self, episode: Episode, now: datetime) -> str:
        key = episode_item_key(episode.detection_id, episode.account_id)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    PARTITION_KEY: {"S": key},
                    "dedup_key": {"S": episode.dedup_key},
                    TTL_ATTRIBUTE: {"N": str(_epoch(episode.expires_at))},
                },
                ConditionExpression="attribute_not_exists(#pk) OR #expires < :now",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#expires": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(_epoch(now))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return episode.dedup_key
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            refused_by = error.response.get("Item")
        # The put was refused, so an episode is open: its key comes back with the refusal. Should it not
        # (an endpoint that ignores the option), read it; gone by then (expired and replaced between the two
        # calls) is rare, and then this page's own key is as good as any.
        item = refused_by if isinstance(refused_by, dict) else self._get(key)
        return _open_dedup_key(item, now) or episode.dedup_key

    def already_paged(self, event_key: str, now: datetime) -> bool:
        item = self._get(event_key)
        return item is not None and _number(item, TTL_ATTRIBUTE) >= _epoch(now)

    def record_paged(self, event_key: str, expires_at: datetime) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={PARTITION_KEY: {"S": event_key}, TTL_ATTRIBUTE: {"N": str(_epoch(expires_at))}},
        )

    def _get(self, key: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key={PARTITION_KEY: {"S": key}}, ConsistentRead=True
        )
        item = response.get("Item")
        return item if isinstance(item, dict) else None


def _open_dedup_key(item: dict[str, Any] | None, now: datetime) -> str | None:
    if item is None or _number(item, TTL_ATTRIBUTE) < _epoch(now):
        return None
    existing = item.get("dedup_key", {}).get("S")
    return existing if isinstance(existing, str) and existing else None


def _number(item: dict[str, Any], name: str) -> int:
    try:
        return int(item[name]["N"])
    except (KeyError, TypeError, ValueError):
        return 0
