"""Which matching records were paged, how fast (simulated clock), and which were missed.

Definitions (issue 10):

* An **episode** is one stretch of a detection alarm in ALARM, from the transition that raised it to the
  next transition out of ALARM (or the end of the run). Its page is the first trigger PagerDuty accepted
  (202, valid) for that transition; the forwarder may instead report the episode suppressed.
* A matching record is **covered** when its detection's alarm *raised* an episode at or after the record
  arrived and that transition evaluated the record's period (the page was sent after the record could be
  seen), or when the record arrived while an already paged episode was open (the alarm does not notify
  again; that page's evidence window covers the episode).
* **Time to page** of a record that raised a page: PagerDuty accepting the page minus the record's
  eventTime (the API call). Records inside an open episode are counted, not timed: their page went out
  before they existed.
* A record not covered is **missed**. Missed within the alarm's tolerated delay is a defect (the demo
  fails); missed with a longer delay is the documented limit and is reported, never hidden.

The fast path (issue 11, ``PATH_FAST``): each record a fast-path rule matched is **raised** when the
forwarder's handling of its EventBridge event got a trigger accepted (time to page: accepted minus eventTime),
**suppressed** when the forwarder says so, **open episode** when it was handled without a new trigger (its
incident's alert was already open), **lost** when EventBridge never delivered it (best effort; the alarm
path is the backstop), and **missed** otherwise (a defect: delivered, not paged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from demo.alarm_evaluator import AlarmDefinition, Transition, bucket_start
from demo.simulation import LogEvent
from detections.alarm_window import tolerated_delay_seconds

PATH_ALARM = "metric filter -> alarm"
PATH_FAST = "EventBridge fast path"
Coverage = Literal["raised", "open episode", "suppressed", "missed", "lost"]


@dataclass(frozen=True)
class EpisodePage:
    """What came of one ALARM transition: accepted page time, or suppressed, or nothing."""

    transition: Transition
    paged_at: datetime | None
    suppressed: bool = False


@dataclass(frozen=True)
class Episode:
    alarm: AlarmDefinition
    raised: Transition
    ended_at: datetime | None
    paged_at: datetime | None
    suppressed: bool

    @property
    def evaluated_periods(self) -> frozenset[datetime]:
        return frozenset(dp.start for dp in self.raised.datapoints)


@dataclass(frozen=True)
class RecordOutcome:
    path: str
    detection: str
    event: LogEvent
    tolerated: timedelta
    coverage: Coverage
    paged_at: datetime | None = None
    episode: Episode | None = None  # the alarm episode that covers the record (alarm path)

    @property
    def within_tolerance(self) -> bool:
        return self.event.delay <= self.tolerated

    @property
    def time_to_page(self) -> timedelta | None:
        if self.coverage != "raised" or self.paged_at is None:
            return None
        return self.paged_at - self.event.timestamp


def episodes(transitions: Sequence[Transition], pages: Sequence[EpisodePage]) -> dict[str, list[Episode]]:
    """Alarm name -> its ALARM episodes in time order, with each episode's page."""
    by_transition = {id(page.transition): page for page in pages}
    result: dict[str, list[Episode]] = {}
    open_raise: dict[str, Transition] = {}

    def close(name: str, ended_at: datetime | None) -> None:
        raised = open_raise.pop(name)
        page = by_transition.get(id(raised))
        result.setdefault(name, []).append(
            Episode(
                raised.alarm,
                raised,
                ended_at,
                page.paged_at if page else None,
                page.suppressed if page else False,
            )
        )

    for transition in sorted(transitions, key=lambda t: t.at):
        name = transition.alarm.name
        if transition.new_state == "ALARM" and name not in open_raise:
            open_raise[name] = transition
        elif transition.new_state != "ALARM" and name in open_raise:
            close(name, transition.at)
    for name in list(open_raise):
        close(name, None)
    return result


def _outcome(event: LogEvent, alarm: AlarmDefinition, alarm_episodes: Sequence[Episode]) -> RecordOutcome:
    tolerated = timedelta(seconds=tolerated_delay_seconds(alarm.period_seconds, alarm.evaluation_periods))
    period = bucket_start(event.timestamp, alarm.period_seconds)
    for episode in alarm_episodes:
        raised_at = episode.raised.at
        if raised_at >= event.arrival and period in episode.evaluated_periods:
            kind: Coverage = "suppressed" if episode.suppressed else "raised"
        elif raised_at < event.arrival and (episode.ended_at is None or episode.ended_at > event.arrival):
            kind = "suppressed" if episode.suppressed else "open episode"
        else:
            continue
        if kind == "suppressed" or episode.paged_at is not None:
            return RecordOutcome(
                PATH_ALARM, alarm.metric_name, event, tolerated, kind, episode.paged_at, episode
            )
    return RecordOutcome(PATH_ALARM, alarm.metric_name, event, tolerated, "missed")


def record_outcomes(
    matched: Mapping[str, Sequence[LogEvent]],
    alarms: Sequence[AlarmDefinition],
    transitions: Sequence[Transition],
    pages: Sequence[EpisodePage],
) -> list[RecordOutcome]:
    """One outcome per (matching record, alarm on its detection's metric)."""
    by_alarm = episodes(transitions, pages)
    outcomes = []
    for alarm in alarms:
        for event in matched.get(alarm.metric_name, ()):
            outcomes.append(_outcome(event, alarm, by_alarm.get(alarm.name, [])))
    return outcomes


@dataclass(frozen=True)
class FastPage:
    """What came of one record on the fast path (one matching rule)."""

    event: LogEvent
    detection: str
    delivered: bool
    joined_open_alert: bool  # handled while an alert for its detection was open (no new trigger needed)
    paged_at: datetime | None  # PagerDuty accepted a trigger while handling it
    suppressed: bool = False


def fast_outcomes(pages: Sequence[FastPage]) -> list[RecordOutcome]:
    """One outcome per (record, fast-path rule); any delivered record not paged or accounted for is missed."""
    outcomes = []
    for page in pages:
        kind: Coverage
        if not page.delivered:
            kind = "lost"
        elif page.paged_at is not None:
            kind = "raised"
        elif page.suppressed:
            kind = "suppressed"
        elif page.joined_open_alert:
            kind = "open episode"
        else:
            kind = "missed"
        outcomes.append(
            RecordOutcome(PATH_FAST, page.detection, page.event, timedelta.max, kind, page.paged_at)
        )
    return outcomes


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (the value at rank ceil(fraction * n)); ``values`` non-empty."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class PathSummary:
    path: str
    records: int
    raised: int
    in_open_episode: int
    suppressed: int
    missed_within_tolerance: int
    missed_beyond_tolerance: int
    lost: int
    p50_seconds: float | None
    p95_seconds: float | None
    max_seconds: float | None


def summarize(outcomes: Sequence[RecordOutcome]) -> list[PathSummary]:
    rows = []
    for path in sorted({o.path for o in outcomes}):
        mine = [o for o in outcomes if o.path == path]
        times = [t.total_seconds() for o in mine if (t := o.time_to_page) is not None]
        missed = [o for o in mine if o.coverage == "missed"]
        rows.append(
            PathSummary(
                path=path,
                records=len(mine),
                raised=sum(o.coverage == "raised" for o in mine),
                in_open_episode=sum(o.coverage == "open episode" for o in mine),
                suppressed=sum(o.coverage == "suppressed" for o in mine),
                missed_within_tolerance=sum(o.within_tolerance for o in missed),
                missed_beyond_tolerance=sum(not o.within_tolerance for o in missed),
                lost=sum(o.coverage == "lost" for o in mine),
                p50_seconds=percentile(times, 0.5) if times else None,
                p95_seconds=percentile(times, 0.95) if times else None,
                max_seconds=max(times) if times else None,
            )
        )
    return rows


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def summary_lines(rows: Sequence[PathSummary]) -> list[str]:
    lines = [
        f"{'path':<24} {'records':>7} {'paged':>5} {'in open':>7} {'p50':>9} {'p95':>9} {'max':>9} "
        f"{'missed':>6} {'(beyond tolerated delay)':>24} {'lost':>4}"
    ]
    for row in rows:
        lines.append(
            f"{row.path:<24} {row.records:>7} {row.raised:>5} {row.in_open_episode:>7} "
            f"{_duration(row.p50_seconds):>9} {_duration(row.p95_seconds):>9} "
            f"{_duration(row.max_seconds):>9} "
            f"{row.missed_within_tolerance + row.missed_beyond_tolerance:>6} "
            f"{row.missed_beyond_tolerance:>24} {row.lost:>4}"
        )
    return lines
