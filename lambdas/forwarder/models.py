"""Typed view of what reaches the forwarder: CloudWatch alarm state changes (via SNS or as an alarm action)
and CloudTrail events from the fast path's EventBridge rules.

Three real shapes (all handled, all tested with real-shaped examples):

* SNS: ``{"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId", "TopicArn", "Message": "<JSON>"}}]}``
  where the alarm JSON has ``AlarmName``, ``AlarmArn``, ``NewStateValue``, ``OldStateValue``,
  ``StateChangeTime``
  and ``Trigger`` (``MetricName``/``Period``/``EvaluationPeriods``, or ``Metrics`` for metric-math alarms).
  ``Region`` there is a display name ("US East (N. Virginia)"), so the region comes from ``AlarmArn``;
  ``AlarmDescription`` may be null.
* Lambda alarm action: ``{"source": "aws.cloudwatch", "alarmArn", "accountId", "alarmData": {"alarmName",
  "state", "previousState", "configuration": {"description", "metrics": [...]}}}``. It has no evaluation
  period count; we read it from ``state.reasonData`` when present and fall back to 1.

* EventBridge (the fast path's rules invoke the function asynchronously with the event unchanged):
  ``{"version": "0", "id", "detail-type": "AWS API Call via CloudTrail" (or the sign-in / service-event
  types), "source": "aws.<service>", "account", "time", "region", "resources": [], "detail": {<the CloudTrail
  record>}}``. The event names no rule: EventBridge delivers the matched event as it is (``resources`` lists
  the event's own resources, empty for CloudTrail), so the detection is found by matching the record.

Anything else raises :class:`MalformedNotificationError` with a reason, so the handler can dead-letter it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal

from detections.targets.eventbridge import DETAIL_TYPE_BY_EVENT_TYPE

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
Delivery = Literal["sns", "alarm-action"]
_STATES: tuple[AlarmState, ...] = ("OK", "ALARM", "INSUFFICIENT_DATA")
_ALARM_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):cloudwatch:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):alarm:(?P<name>.+)$"
)


_EMPTY_MAPPING: Mapping[str, object] = MappingProxyType({})
#: The detail-types CloudTrail publishes to EventBridge (one home: the EventBridge compile target).
CLOUDTRAIL_DETAIL_TYPES = frozenset(DETAIL_TYPE_BY_EVENT_TYPE.values())


class MalformedNotificationError(ValueError):
    """Not an alarm notification we can act on. ``reason`` says why, for the dead-letter record."""

    def __init__(self, reason: str, *, raw: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


@dataclass(frozen=True)
class MetricRef:
    namespace: str | None
    name: str | None
    expression: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class AlarmNotification:
    alarm_name: str
    alarm_arn: str
    description: str | None
    account_id: str
    region: str
    partition: str
    new_state: AlarmState
    old_state: AlarmState | None
    reason: str
    state_change_time: datetime  # timezone-aware UTC
    period_seconds: int
    evaluation_periods: int
    metrics: tuple[MetricRef, ...]
    delivery: Delivery
    message_id: str | None  # SNS MessageId (same on SNS redelivery); None for a direct alarm action
    topic_arn: str | None

    @property
    def evaluation_window_seconds(self) -> int:
        return self.period_seconds * self.evaluation_periods

    @property
    def state_change_time_iso(self) -> str:
        """Canonical UTC form with milliseconds, used in dedup keys and payloads."""
        return self.state_change_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{self.state_change_time.microsecond // 1000:03d}Z"
        )


@dataclass(frozen=True)
class TrailEvent:
    """One CloudTrail record delivered by EventBridge: the record is its own evidence.

    ``account_id`` is the account the call was recorded in (``recipientAccountId``, else the envelope's
    ``account``): with an organization rollout it can be another account than the forwarder's.
    """

    event_id: str  # the CloudTrail eventID (the same through every bus it crosses), else the envelope's id
    envelope_id: str
    detail_type: str
    account_id: str
    region: str
    partition: str
    event_time: datetime  # timezone-aware UTC
    record: Mapping[str, object]

    @property
    def event_time_iso(self) -> str:
        return self.event_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ParsedEvent:
    """Result of reading one Lambda event: the notifications and trail events, and what could not be read."""

    notifications: tuple[AlarmNotification, ...]
    failures: tuple[MalformedNotificationError, ...]
    trail_events: tuple[TrailEvent, ...] = ()


@dataclass(frozen=True)
class EventKind:
    """One shape of Lambda event the forwarder accepts: how to recognise it and how to read it."""

    name: str
    recognises: Callable[[object], bool]
    parse: Callable[[object], ParsedEvent]


def parse_lambda_event(event: object) -> ParsedEvent:
    """Split a Lambda event into alarm notifications and malformed records (never raises for bad input).

    The first kind in ``EVENT_KINDS`` that recognises the event reads it; an event no kind recognises is
    read as an alarm action, whose parser names what is missing.
    """
    kind = next((kind for kind in EVENT_KINDS if kind.recognises(event)), ALARM_ACTION)
    return kind.parse(event)


def _is_sns_event(event: object) -> bool:
    return isinstance(event, Mapping) and isinstance(event.get("Records"), list)


def _parse_sns_event(event: object) -> ParsedEvent:
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        failure = MalformedNotificationError("not an SNS event (no 'Records' list)", raw=event)
        return ParsedEvent((), (failure,))
    notifications: list[AlarmNotification] = []
    failures: list[MalformedNotificationError] = []
    if not records:
        failures.append(MalformedNotificationError("SNS event has an empty Records list", raw=event))
    for index, record in enumerate(records):
        try:
            notifications.append(parse_sns_record(record))
        except MalformedNotificationError as error:
            error.reason = f"Records[{index}]: {error.reason}"
            failures.append(error)
    return ParsedEvent(tuple(notifications), tuple(failures))


def _is_alarm_action(event: object) -> bool:
    return isinstance(event, Mapping) and event.get("source") == "aws.cloudwatch"


def _parse_alarm_action_event(event: object) -> ParsedEvent:
    try:
        return ParsedEvent((parse_alarm_action(event),), ())
    except MalformedNotificationError as error:
        return ParsedEvent((), (error,))


def _is_eventbridge_cloudtrail_event(event: object) -> bool:
    return isinstance(event, Mapping) and event.get("detail-type") in CLOUDTRAIL_DETAIL_TYPES


def _parse_eventbridge_event(event: object) -> ParsedEvent:
    try:
        return ParsedEvent((), (), (parse_trail_event(event),))
    except MalformedNotificationError as error:
        return ParsedEvent((), (error,))


SNS = EventKind("sns", _is_sns_event, _parse_sns_event)
ALARM_ACTION = EventKind("alarm-action", _is_alarm_action, _parse_alarm_action_event)
EVENTBRIDGE = EventKind("eventbridge-cloudtrail", _is_eventbridge_cloudtrail_event, _parse_eventbridge_event)
#: Checked in order. A new kind of event is one more entry here with its parser.
EVENT_KINDS: tuple[EventKind, ...] = (SNS, ALARM_ACTION, EVENTBRIDGE)


def parse_trail_event(event: object) -> TrailEvent:
    """An EventBridge CloudTrail event; MalformedNotificationError naming the missing field otherwise."""
    if not isinstance(event, Mapping):
        raise MalformedNotificationError(f"event is a {type(event).__name__}, not an object", raw=event)
    try:
        detail_type = _req_str(event, "detail-type")
        record = event.get("detail")
        if not isinstance(record, Mapping):
            raise MalformedNotificationError(
                "EventBridge event has no 'detail' object (the CloudTrail record)"
            )
        account = _opt_str(record.get("recipientAccountId")) or _opt_str(event.get("account"))
        if account is None:
            raise MalformedNotificationError(
                "neither detail.recipientAccountId nor 'account' names the account"
            )
        region = _opt_str(record.get("awsRegion")) or _req_str(event, "region")
        envelope_id = _opt_str(event.get("id")) or ""
        event_id = _opt_str(record.get("eventID")) or envelope_id
        if not event_id:
            raise MalformedNotificationError(
                "neither detail.eventID nor the envelope 'id' identifies the event"
            )
        return TrailEvent(
            event_id=event_id,
            envelope_id=envelope_id,
            detail_type=detail_type,
            account_id=account,
            region=region,
            partition=partition_of_region(region),
            event_time=_timestamp(record.get("eventTime") or event.get("time"), "detail.eventTime"),
            record=record,
        )
    except MalformedNotificationError as error:
        error.raw = event
        raise


def partition_of_region(region: str) -> str:
    """The partition a region belongs to (EventBridge envelopes name the region, not the partition)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def parse_sns_record(record: object) -> AlarmNotification:
    if not isinstance(record, Mapping) or not isinstance(record.get("Sns"), Mapping):
        raise MalformedNotificationError("not an SNS record (no 'Sns' object)", raw=record)
    sns = record["Sns"]
    message = sns.get("Message")
    if not isinstance(message, str):
        raise MalformedNotificationError("SNS record has no string 'Message'", raw=record)
    try:
        alarm = json.loads(message)
    except json.JSONDecodeError as error:
        raise MalformedNotificationError(
            f"SNS Message is not JSON ({error.msg} at {error.pos})", raw=record
        ) from None
    if not isinstance(alarm, Mapping):
        raise MalformedNotificationError("SNS Message JSON is not an object", raw=record)
    try:
        return parse_sns_alarm_message(
            alarm,
            message_id=_opt_str(sns.get("MessageId")),
            topic_arn=_opt_str(sns.get("TopicArn")),
        )
    except MalformedNotificationError as error:
        error.raw = record
        raise


def parse_sns_alarm_message(
    alarm: Mapping[str, object], *, message_id: str | None = None, topic_arn: str | None = None
) -> AlarmNotification:
    alarm_arn = _req_str(alarm, "AlarmArn")
    arn = _parse_alarm_arn(alarm_arn)
    trigger = alarm.get("Trigger")
    if not isinstance(trigger, Mapping):
        raise MalformedNotificationError("alarm message has no 'Trigger' object")
    metrics = _trigger_metrics(trigger)
    period = _positive_int(trigger.get("Period"), "Trigger.Period", required=False)
    if period is None:
        period = _first_period(trigger.get("Metrics"))
    evaluation_periods = _positive_int(
        trigger.get("EvaluationPeriods"), "Trigger.EvaluationPeriods", required=False
    )
    return AlarmNotification(
        alarm_name=_req_str(alarm, "AlarmName"),
        alarm_arn=alarm_arn,
        description=_opt_str(alarm.get("AlarmDescription")),
        account_id=_opt_str(alarm.get("AWSAccountId")) or arn["account"],
        region=arn["region"],
        partition=arn["partition"],
        new_state=_state(alarm.get("NewStateValue"), "NewStateValue"),
        old_state=_state(alarm.get("OldStateValue"), "OldStateValue") if alarm.get("OldStateValue") else None,
        reason=_opt_str(alarm.get("NewStateReason")) or "",
        state_change_time=_timestamp(alarm.get("StateChangeTime"), "StateChangeTime"),
        period_seconds=period or 60,
        evaluation_periods=evaluation_periods or 1,
        metrics=metrics,
        delivery="sns",
        message_id=message_id,
        topic_arn=topic_arn,
    )


def parse_alarm_action(event: object) -> AlarmNotification:
    if not isinstance(event, Mapping):
        raise MalformedNotificationError(f"event is a {type(event).__name__}, not an object", raw=event)
    if event.get("source") != "aws.cloudwatch" or not isinstance(event.get("alarmData"), Mapping):
        raise MalformedNotificationError(
            "unrecognised event: neither SNS Records nor a CloudWatch alarm action (source aws.cloudwatch)",
            raw=event,
        )
    try:
        data = event["alarmData"]
        alarm_arn = _req_str(event, "alarmArn")
        arn = _parse_alarm_arn(alarm_arn)
        state = data.get("state")
        if not isinstance(state, Mapping):
            raise MalformedNotificationError("alarmData.state is missing")
        previous = mapping_or_empty(data.get("previousState"))
        configuration = mapping_or_empty(data.get("configuration"))
        metrics, period = _action_metrics(configuration.get("metrics"))
        return AlarmNotification(
            alarm_name=_req_str(data, "alarmName"),
            alarm_arn=alarm_arn,
            description=_opt_str(configuration.get("description")),
            account_id=_opt_str(event.get("accountId")) or arn["account"],
            region=arn["region"],
            partition=arn["partition"],
            new_state=_state(state.get("value"), "alarmData.state.value"),
            old_state=_state(previous.get("value"), "alarmData.previousState.value")
            if previous.get("value")
            else None,
            reason=_opt_str(state.get("reason")) or "",
            state_change_time=_timestamp(
                state.get("timestamp") or event.get("time"), "alarmData.state.timestamp"
            ),
            period_seconds=period or 60,
            evaluation_periods=_evaluated_datapoints(state.get("reasonData")) or 1,
            metrics=metrics,
            delivery="alarm-action",
            message_id=None,
            topic_arn=None,
        )
    except MalformedNotificationError as error:
        error.raw = event
        raise


def mapping_or_empty(value: object) -> Mapping[str, object]:
    """``value`` when it is a JSON object, else an empty one: for nested objects that may be absent or
    malformed, read field by field, each field then checked for its own type."""
    return value if isinstance(value, Mapping) else _EMPTY_MAPPING


def _parse_alarm_arn(alarm_arn: str) -> dict[str, str]:
    match = _ALARM_ARN.match(alarm_arn)
    if not match:
        raise MalformedNotificationError(f"AlarmArn {alarm_arn!r:.200} is not a CloudWatch alarm ARN")
    return match.groupdict()


def _trigger_metrics(trigger: Mapping[str, object]) -> tuple[MetricRef, ...]:
    if trigger.get("MetricName"):
        return (
            MetricRef(namespace=_opt_str(trigger.get("Namespace")), name=_opt_str(trigger.get("MetricName"))),
        )
    raw_metrics = trigger.get("Metrics")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise MalformedNotificationError("Trigger has neither MetricName nor a non-empty Metrics list")
    refs = []
    for item in raw_metrics:
        if not isinstance(item, Mapping):
            continue
        stat = mapping_or_empty(item.get("MetricStat"))
        metric = mapping_or_empty(stat.get("Metric"))
        refs.append(
            MetricRef(
                namespace=_opt_str(metric.get("Namespace")),
                name=_opt_str(metric.get("MetricName")),
                expression=_opt_str(item.get("Expression")),
                id=_opt_str(item.get("Id")),
            )
        )
    return tuple(refs)


def _first_period(raw_metrics: object) -> int | None:
    for item in raw_metrics if isinstance(raw_metrics, list) else ():
        if isinstance(item, Mapping):
            period = item.get("Period")
            if period is None and isinstance(item.get("MetricStat"), Mapping):
                period = item["MetricStat"].get("Period")
            if isinstance(period, int) and period > 0:
                return period
    return None


def _action_metrics(raw_metrics: object) -> tuple[tuple[MetricRef, ...], int | None]:
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise MalformedNotificationError("alarmData.configuration.metrics is missing or empty")
    refs, period = [], None
    for item in raw_metrics:
        if not isinstance(item, Mapping):
            continue
        stat = mapping_or_empty(item.get("metricStat"))
        metric = mapping_or_empty(stat.get("metric"))
        stat_period = stat.get("period")
        if period is None and isinstance(stat_period, int) and stat_period > 0:
            period = stat_period
        refs.append(
            MetricRef(
                namespace=_opt_str(metric.get("namespace")),
                name=_opt_str(metric.get("name")),
                expression=_opt_str(item.get("expression")),
                id=_opt_str(item.get("id")),
            )
        )
    return tuple(refs), period


def _evaluated_datapoints(reason_data: object) -> int | None:
    # reasonData is itself a JSON string: {"version","queryDate","startDate","period","threshold",
    # "evaluatedDatapoints": [...]}; the number of evaluated datapoints is the evaluation period count.
    if not isinstance(reason_data, str):
        return None
    try:
        parsed = json.loads(reason_data)
    except json.JSONDecodeError:
        return None
    points = parsed.get("evaluatedDatapoints") if isinstance(parsed, Mapping) else None
    return len(points) if isinstance(points, list) and points else None


def _state(value: object, field: str) -> AlarmState:
    for state in _STATES:
        if value == state:
            return state
    raise MalformedNotificationError(f"{field} is {value!r:.50}, expected one of {list(_STATES)}")


def _timestamp(value: object, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise MalformedNotificationError(f"{field} is missing")
    text = value.strip()
    # CloudWatch writes "2026-11-24T06:21:05.123+0000"; older Pythons want "+00:00"; "Z" is common too.
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedNotificationError(f"{field} {value!r:.50} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _positive_int(value: object, field: str, *, required: bool) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or int(value) != value:
        raise MalformedNotificationError(f"{field} is {value!r:.50}, expected a positive integer")
    return int(value)


def _req_str(mapping: Mapping[str, object], key: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedNotificationError(f"{key!r} is missing or not a string")
    return value


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
