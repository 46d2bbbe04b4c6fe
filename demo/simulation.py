"""Simulated time: CloudTrail records -> metric filter samples -> per-minute alarm evaluations.

Pure: no network, no clock. The pipeline walks the steps this module yields and does the I/O in between
(delivering each minute's records to the log group before the alarms that saw them notify).

Delivery delay: a record reaches the log group at its ``arrival`` (eventTime + the delay from
demo.delivery_delay). Its metric sample keeps the event's timestamp, as a metric filter stamps it, but an
alarm evaluation sees it only once it has arrived; a minute's step delivers the records *arriving* in it.

Metric filters behave as CloudWatch Logs documents them: every log event is tested against the filter's
pattern; a match emits ``MetricValue`` at the event's timestamp, a non-match emits ``DefaultValue`` when one
is set, and nothing otherwise (so a metric without a default has *no* datapoint in a minute without a match).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from demo.alarm_evaluator import (
    AlarmDefinition,
    AlarmSimulation,
    ArrivingDatapoints,
    ArrivingSample,
    Transition,
    bucket_start,
)
from demo.cdk_out import MetricFilterDefinition
from detections.filter_pattern import FilterPattern, compile_pattern


class RecordTimeError(ValueError):
    """A record has no usable ``eventTime``; simulated time comes from it."""


@dataclass(frozen=True)
class LogEvent:
    """A CloudTrail record as the trail delivers it to CloudWatch Logs: the JSON text and its timestamp."""

    timestamp: datetime
    message: str
    record: dict[str, Any]
    delay: timedelta = timedelta(0)  # CloudTrail -> CloudWatch Logs delivery delay (simulated)

    @property
    def arrival(self) -> datetime:
        """When the record reaches the log group: only from then can a filter, an alarm or a search see it."""
        return self.timestamp + self.delay

    @property
    def timestamp_ms(self) -> int:
        return int(self.timestamp.timestamp() * 1000)


def event_time(record: dict[str, Any]) -> datetime:
    raw = record.get("eventTime")
    if not isinstance(raw, str):
        raise RecordTimeError(
            f"record {record.get('eventID', '?')} has no eventTime string: simulated time comes from it"
        )
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RecordTimeError(
            f"record {record.get('eventID', '?')}: eventTime {raw!r} is not ISO 8601"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_log_events(records: Iterable[dict[str, Any]]) -> list[LogEvent]:
    """Records ordered by time, serialised compactly as CloudTrail writes them to CloudWatch Logs."""
    events = [LogEvent(event_time(r), json.dumps(r, separators=(",", ":")), r) for r in records]
    events.sort(key=lambda e: e.timestamp)
    return events


@dataclass(frozen=True)
class CompiledFilter:
    definition: MetricFilterDefinition
    pattern: FilterPattern

    def matches(self, event: LogEvent) -> bool:
        if self.pattern.kind == "json":
            return self.pattern.matches_json(event.record)
        return self.pattern.matches(event.message)


def compile_filters(filters: Sequence[MetricFilterDefinition]) -> list[CompiledFilter]:
    return [CompiledFilter(f, compile_pattern(f.pattern)) for f in filters]


@dataclass(frozen=True)
class MinuteStep:
    """One simulated minute [start, end): the records arriving in it and what the alarms did at ``end``."""

    start: datetime
    end: datetime
    events: tuple[LogEvent, ...]
    matches: dict[str, int]  # metric name -> records arriving in this minute matching one of its filters
    transitions: tuple[Transition, ...]


@dataclass
class Simulation:
    """Metric samples for every alarm's metric, built once from the events; alarms stepped per minute."""

    events: list[LogEvent]
    filters: list[CompiledFilter]
    alarms: Sequence[AlarmDefinition]
    matched: dict[str, list[LogEvent]] = field(default_factory=dict)  # metric name -> matching events

    def __post_init__(self) -> None:
        self._samples: dict[tuple[str, str], list[ArrivingSample]] = {}
        self._matches_by_minute: dict[datetime, dict[str, int]] = {}
        for event in self.events:
            hit_metrics: set[str] = set()
            for compiled in self.filters:
                definition = compiled.definition
                key = (definition.namespace, definition.metric_name)
                if compiled.matches(event):
                    hit_metrics.add(definition.metric_name)
                    value = definition.sample_value()
                elif definition.default_value is not None:
                    value = definition.default_value
                else:
                    continue
                self._samples.setdefault(key, []).append(
                    ArrivingSample(event.timestamp, value, event.arrival)
                )
            minute = bucket_start(event.arrival, 60)
            for metric in hit_metrics:
                self.matched.setdefault(metric, []).append(event)
                counts = self._matches_by_minute.setdefault(minute, {})
                counts[metric] = counts.get(metric, 0) + 1
        self._arriving = [
            ArrivingDatapoints(
                self._samples.get((alarm.namespace, alarm.metric_name), []),
                alarm.statistic,
                alarm.period_seconds,
            )
            for alarm in self.alarms
        ]
        self.simulations = [
            AlarmSimulation(alarm, arriving.visible)
            for alarm, arriving in zip(self.alarms, self._arriving, strict=True)
        ]

    def run(self, start: datetime, end: datetime) -> Iterator[MinuteStep]:
        """Yield each minute from ``start`` (rounded down) until ``end``; alarms settle quietly before it."""
        first = bucket_start(start, 60)
        for simulation in self.simulations:
            simulation.settle(first)
        pending = sorted(self.events, key=lambda event: event.arrival)
        index = 0
        moment = first
        while moment < end:
            following = moment + timedelta(minutes=1)
            batch = []
            while index < len(pending) and pending[index].arrival < following:
                batch.append(pending[index])
                index += 1
            for arriving in self._arriving:
                arriving.advance(following)
            transitions = tuple(t for s in self.simulations if (t := s.step(following)) is not None)
            yield MinuteStep(
                start=moment,
                end=following,
                events=tuple(batch),
                matches=dict(self._matches_by_minute.get(moment, {})),
                transitions=transitions,
            )
            moment = following


def simulated_window(
    events: Sequence[LogEvent], alarms: Sequence[AlarmDefinition]
) -> tuple[datetime, datetime]:
    """From the first record's minute to long enough after the last arrival for every alarm to settle."""
    if not events:
        raise RecordTimeError("no CloudTrail records to replay")
    longest = max((a.period_seconds * (a.evaluation_range + 1) for a in alarms), default=60)
    start = bucket_start(min(e.timestamp for e in events), 60)
    end = bucket_start(max(e.arrival for e in events), 60) + timedelta(seconds=longest + 60)
    return start, end
