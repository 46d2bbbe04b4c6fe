"""CloudTrail Event History (LookupEvents) taught to moto's server, which does not implement it.

Plugs in the way testkit/moto_harness.py teaches FilterLogEvents our engine: ThreadedMotoServer runs in this
process, so a ``lookup_events`` method is added to moto's CloudTrailResponse for the duration of
:func:`lookup_events_emulation`; moto's dispatcher then routes ``CloudTrail_20131101.LookupEvents`` to it. The
events it serves are CloudTrail records put with :meth:`EventHistory.put`, kept per region (the record's
awsRegion), as Event History keeps them.

Follows the documented API (CloudTrail API Reference, LookupEvents; /work/shared/reference has the CloudTrail
pages):

* ``LookupAttributes``: "Contains a list of lookup attributes. Currently the list can contain only one item";
  AttributeKey one of EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource,
  AccessKeyId -> otherwise InvalidLookupAttributesException.
* ``StartTime``/``EndTime``: events in [StartTime, EndTime]; a start after the end ->
  InvalidTimeRangeException. Only the last 90 days exist ("Lookup ... events that occurred in a Region within
  the last 90 days"): older events are never returned.
* ``MaxResults``: "The default is 50, with a maximum of 50 possible" -> 1..50, else
  InvalidMaxResultsException. ``NextToken``: opaque; a token from other parameters ->
  InvalidNextTokenException.
* Newest first (the console and API list the most recent events first).
* "The rate of lookup requests is limited to two per second, per account, per Region. If this limit is
  exceeded, a throttling error occurs": a token bucket of 2 tokens refilled at 2 a second ->
  ThrottlingException.
* ``EventCategory``: only "insight" is valid (Insights events; none are stored here, so an empty list).

Emulation simplifications (how Event History derives these fields is not documented in full): Username is
userIdentity.userName, else the session name of an assumed role; Resources are the record's ``resources``
(ResourceType = type, ResourceName = ARN).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from moto.core.exceptions import JsonRESTError

ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
RETENTION = timedelta(days=90)
MAX_RESULTS = 50
REQUESTS_PER_SECOND = 2.0


def _error(code: str, message: str) -> JsonRESTError:
    error = JsonRESTError(code, message)
    error.code = 400
    return error


def _epoch(value: object, name: str) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    raise _error("ValidationException", f"{name} is not a timestamp: {value!r}")


def _event_time(record: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00")).astimezone(UTC)


def _username(record: Mapping[str, Any]) -> str | None:
    identity = record.get("userIdentity") or {}
    if identity.get("userName"):
        return str(identity["userName"])
    arn = str(identity.get("arn") or "")
    if ":assumed-role/" in arn:
        return arn.rsplit("/", 1)[-1]
    return None


def api_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """The LookupEvents ``Event`` shape of a CloudTrail record."""
    identity = record.get("userIdentity") or {}
    event: dict[str, Any] = {
        "EventId": record.get("eventID"),
        "EventName": record.get("eventName"),
        "ReadOnly": str(bool(record.get("readOnly"))).lower(),
        "EventTime": _event_time(record).timestamp(),
        "EventSource": record.get("eventSource"),
        "Resources": [
            {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}
            for r in record.get("resources") or []
            if isinstance(r, Mapping)
        ],
        "CloudTrailEvent": json.dumps(record),
    }
    if identity.get("accessKeyId"):
        event["AccessKeyId"] = identity["accessKeyId"]
    username = _username(record)
    if username:
        event["Username"] = username
    return event


def _attribute_matches(event: Mapping[str, Any], key: str, value: str) -> bool:
    if key in ("ResourceType", "ResourceName"):
        return any(resource.get(key) == value for resource in event["Resources"])
    return event.get(key) == value


class EventHistory:
    """The events of every region, and the per-region request buckets."""

    def __init__(self, clock: Any = time.monotonic, now: Any = None) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.clock = clock
        self.now = now or (lambda: datetime.now(UTC))
        self.requests = 0
        self.throttled = 0

    def put(self, records: Iterable[Mapping[str, Any]]) -> int:
        count = 0
        with self._lock:
            for record in records:
                region = str(record.get("awsRegion") or "us-east-1")
                self._events.setdefault(region, []).append((_event_time(record), api_event(record)))
                count += 1
            for events in self._events.values():
                events.sort(key=lambda pair: pair[0], reverse=True)  # newest first
        return count

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._buckets.clear()
            self.requests = self.throttled = 0

    def _take_token(self, account: str, region: str) -> bool:
        now = self.clock()
        with self._lock:
            self.requests += 1
            tokens, last = self._buckets.get((account, region), (REQUESTS_PER_SECOND, now))
            tokens = min(REQUESTS_PER_SECOND, tokens + (now - last) * REQUESTS_PER_SECOND)
            if tokens < 1.0:
                self._buckets[(account, region)] = (tokens, now)
                self.throttled += 1
                return False
            self._buckets[(account, region)] = (tokens - 1.0, now)
            return True

    def lookup(self, account: str, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if not self._take_token(account, region):
            raise _error("ThrottlingException", "Rate exceeded")
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise _error("InvalidLookupAttributesException", "Currently the list can contain only one item.")
        key = value = None
        if attributes:
            key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
            if key not in ATTRIBUTE_KEYS or not isinstance(value, str) or not value:
                raise _error(
                    "InvalidLookupAttributesException",
                    f"AttributeKey must be one of {', '.join(ATTRIBUTE_KEYS)}, with an AttributeValue",
                )
        category = params.get("EventCategory")
        if category is not None and category != "insight":
            raise _error("InvalidEventCategoryException", "EventCategory must be insight")
        now = self.now()
        start = _epoch(params["StartTime"], "StartTime") if "StartTime" in params else now - RETENTION
        end = _epoch(params["EndTime"], "EndTime") if "EndTime" in params else now
        if start > end:
            raise _error("InvalidTimeRangeException", "Start time must be before end time.")
        max_results = params.get("MaxResults", MAX_RESULTS)
        if not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
            raise _error("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
        fingerprint = hashlib.sha256(
            json.dumps(
                [region, key, value, params.get("StartTime"), params.get("EndTime"), category]
            ).encode()
        ).hexdigest()[:16]
        offset = 0
        if params.get("NextToken"):
            offset = self._offset_of(params["NextToken"], fingerprint)
        oldest = max(start, now - RETENTION)
        with self._lock:
            candidates = list(self._events.get(region, [])) if category is None else []
        selected = [
            event
            for when, event in candidates
            if oldest <= when <= end and (key is None or _attribute_matches(event, key, str(value)))
        ]
        page = selected[offset : offset + max_results]
        response: dict[str, Any] = {"Events": page}
        if offset + max_results < len(selected):
            token = json.dumps({"o": offset + max_results, "q": fingerprint}).encode()
            response["NextToken"] = base64.urlsafe_b64encode(token).decode()
        return response

    @staticmethod
    def _offset_of(token: str, fingerprint: str) -> int:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            if data["q"] == fingerprint:
                return int(data["o"])
        except (ValueError, KeyError, TypeError):
            pass
        raise _error("InvalidNextTokenException", "Invalid NextToken: it belongs to other parameters.")


@contextmanager
def lookup_events_emulation(history: EventHistory) -> Iterator[EventHistory]:
    """Serve LookupEvents from ``history`` in moto's (in-process) server for the duration."""
    from moto.cloudtrail.responses import CloudTrailResponse

    def lookup_events(self: Any) -> str:
        params = json.loads(self.body or "{}")
        return json.dumps(history.lookup(self.current_account, self.region, params))

    with mock.patch.object(CloudTrailResponse, "lookup_events", lookup_events, create=True):
        yield history
