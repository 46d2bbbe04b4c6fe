"""What makes a demo run a failure: the checks behind the exit code (and the end-to-end test).

A run passes when every PagerDuty request was valid, every alarm notification handed to the forwarder was
handled (nothing dead-lettered, no failed invocation), every ALARM notification produced a page for its
detection, every page's evidence is made only of records that match that detection's deployed filters,
every matching record that reached the log group within its alarm's tolerated delivery delay is covered by
a page (demo.time_to_page), and (for the built-in scenario) every detection the story is written to trigger
was paged. Records later than the tolerated delay and not paged are reported as missed, not failed.
With the fast path: every EventBridge event handed to the forwarder was handled and every delivered record
was paged or accounted for, and no incident (an alarm episode of one detection, with the fast-path records
it covers) produced more than one PagerDuty alert (testkit.pagerduty_receiver.incidents_with_several_alerts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from demo.pipeline import Delivery, FastDelivery, RunResult
from demo.time_to_page import (
    PATH_ALARM,
    PATH_FAST,
    EpisodePage,
    FastPage,
    RecordOutcome,
    fast_outcomes,
    record_outcomes,
)
from testkit.pagerduty_receiver import incidents_with_several_alerts


@dataclass(frozen=True)
class Page:
    """A trigger event PagerDuty accepted, with the detection it is for."""

    detection_id: str | None
    event: dict[str, Any]
    delivery: Delivery | FastDelivery | None

    @property
    def payload(self) -> dict[str, Any]:
        return self.event.get("payload", {})

    @property
    def details(self) -> dict[str, Any]:
        details = self.payload.get("custom_details", {})
        return details if isinstance(details, dict) else {}

    def evidence_event_ids(self) -> set[str]:
        """Every CloudTrail event id the page presents as evidence (sample events and event links)."""
        ids = {
            str(sample["eventID"])
            for sample in self.details.get("sample_events", [])
            if isinstance(sample, dict) and sample.get("eventID")
        }
        for link in self.event.get("links", []):
            text = str(link.get("text", ""))
            if text.startswith("CloudTrail event "):
                ids.add(text.removeprefix("CloudTrail event "))
        return ids


def delivery_outcomes(delivery: Delivery | FastDelivery) -> list[str]:
    """What the forwarder said it did ("paged", "suppressed", ...), from its return value."""
    result = delivery.attempts[-1].result if delivery.attempts else None
    outcomes = result.get("outcomes") if isinstance(result, dict) else None
    return [str(o) for o in outcomes] if isinstance(outcomes, list) else []


def pages_of(result: RunResult) -> list[Page]:
    """Accepted triggers from both paths, fast path first within the run's order of handling."""
    pages = []
    handled: list[Delivery | FastDelivery] = [*result.deliveries, *result.fast_deliveries]
    handled.sort(key=lambda d: d.first_request)
    for delivery in handled:
        for request in delivery.requests:
            if (
                request.valid
                and request.response_status == 202
                and request.event.get("event_action") == "trigger"
            ):
                pages.append(Page(request.event.get("payload", {}).get("class"), request.event, delivery))
    return pages


def _accepted_trigger(delivery: Delivery | FastDelivery) -> bool:
    return any(
        r.valid and r.response_status == 202 and r.event.get("event_action") == "trigger"
        for r in delivery.requests
    )


def episode_pages(result: RunResult) -> list[EpisodePage]:
    """Each ALARM notification the forwarder handled: when PagerDuty accepted its page, or suppressed."""
    pages = []
    for delivery in result.deliveries:
        if delivery.transition.new_state != "ALARM":
            continue
        accepted = delivery.succeeded and _accepted_trigger(delivery)
        pages.append(
            EpisodePage(
                delivery.transition,
                paged_at=delivery.handled_at if accepted else None,
                suppressed="suppressed" in delivery_outcomes(delivery),
            )
        )
    return pages


def _alert_open(result: RunResult, detection: str, delivery: FastDelivery) -> bool:
    """Whether an alert for ``detection`` was open when the forwarder handled ``delivery``."""
    at = delivery.first_request
    for alert in result.alerts.alerts:
        if alert.detection != detection or not alert.requests or alert.requests[0] >= at:
            continue
        if not alert.resolved or alert.requests[-1] >= at:
            return True
    return False


def _trigger_class(request: Any) -> str | None:
    event = request.event if isinstance(request.event, dict) else {}
    if not (request.valid and request.response_status == 202 and event.get("event_action") == "trigger"):
        return None
    payload = event.get("payload")
    return str(payload.get("class")) if isinstance(payload, dict) and payload.get("class") else None


def _fast_pages(result: RunResult) -> list[FastPage]:
    """The forwarder pages every detection an EventBridge event matches, in whichever rule's invocation
    comes first (the others are duplicates): a record is paged for a detection by the first accepted trigger
    of that detection's class made while handling the record."""
    paged_at: dict[tuple[str, str], datetime] = {}
    for handled in result.fast_deliveries:
        if not handled.succeeded:
            continue
        event_id = str(handled.fast.event.record.get("eventID"))
        for request in handled.requests:
            detection = _trigger_class(request)
            if detection is not None:
                paged_at.setdefault((event_id, detection), handled.handled_at)
    by_event = {id(d.fast): d for d in result.fast_deliveries}
    pages = []
    for fast in result.fast_events:
        delivery = by_event.get(id(fast))
        key = (str(fast.event.record.get("eventID")), fast.detection_id)
        # Handled without a trigger counts only when an alert for its detection was open at that moment
        # (the forwarder joined the incident); a forwarder that drops the event is caught as "missed".
        joined = (
            delivery is not None and delivery.succeeded and _alert_open(result, fast.detection_id, delivery)
        )
        pages.append(
            FastPage(
                fast.event,
                fast.detection_id,
                delivered=fast.arrival is not None,
                joined_open_alert=joined,
                paged_at=paged_at.get(key),
                suppressed=delivery is not None and "suppressed" in delivery_outcomes(delivery),
            )
        )
    return pages


def outcomes_of(result: RunResult) -> list[RecordOutcome]:
    """Per path: the alarm path's outcome of every matching record, then the fast path's."""
    transitions = [t for step in result.steps for t in step.transitions]
    alarm = record_outcomes(result.matched, result.alarms, transitions, episode_pages(result))
    return alarm + fast_outcomes(_fast_pages(result))


def incidents(result: RunResult, outcomes: Sequence[RecordOutcome]) -> dict[str, list[int]]:
    """Incident name -> the PagerDuty requests (indexes) made for it. An incident is one ALARM episode of a
    detection's alarm: the requests of the notification that raised it and of the fast-path events of the
    records that episode covers. A fast-path record no episode covers is an incident of its own."""
    by_transition = {id(d.transition): d for d in result.deliveries}
    episode_of: dict[tuple[str, str], str] = {}
    found: dict[str, list[int]] = {}
    for outcome in outcomes:
        if outcome.path != PATH_ALARM or outcome.episode is None:
            continue
        raised = outcome.episode.raised
        name = f"{outcome.detection} episode raised {raised.at:%H:%M}"
        episode_of[(outcome.detection, str(outcome.event.record.get("eventID")))] = name
        delivery = by_transition.get(id(raised))
        found.setdefault(name, list(delivery.request_indexes) if delivery else [])
    for fast in result.fast_deliveries:
        event_id = str(fast.fast.event.record.get("eventID"))
        # One event may page several detections (each its own incident): a request belongs to its class's.
        for index, request in zip(fast.request_indexes, fast.requests, strict=True):
            detection = _trigger_class(request) or fast.fast.detection_id
            name = episode_of.get((detection, event_id), f"{detection} record {event_id} (fast path only)")
            found.setdefault(name, []).append(index)
    return found


def check_run(
    result: RunResult,
    *,
    expected_detections: Sequence[str] = (),
    known_detections: Sequence[str] = (),
) -> list[str]:
    """Every reason this run is not a success, as sentences a person can act on (empty: success)."""
    problems: list[str] = []
    for request in result.requests:
        if not request.valid or request.response_status not in (202, None):
            problems.append(
                f"PagerDuty request rejected ({request.response_status}): {'; '.join(request.errors)[:500]}"
            )
    for delivery in result.deliveries:
        alarm = delivery.transition.alarm.name
        if not delivery.succeeded:
            last = delivery.attempts[-1].error if delivery.attempts else None
            problems.append(
                f"forwarder failed on {alarm} {delivery.transition.new_state} after "
                f"{len(delivery.attempts)} attempt(s): {last}"
            )
        if delivery.transition.new_state == "ALARM":
            triggers = [
                r
                for r in delivery.requests
                if r.valid and r.response_status == 202 and r.event.get("event_action") == "trigger"
            ]
            if not triggers and "suppressed" not in delivery_outcomes(delivery):
                problems.append(f"{alarm} went to ALARM but no valid PagerDuty trigger was sent")
    for fast in result.fast_deliveries:
        if not fast.succeeded:
            last = fast.attempts[-1].error if fast.attempts else None
            problems.append(
                f"forwarder failed on the EventBridge event {fast.fast.event.record.get('eventID')} "
                f"({fast.fast.detection_id}) after {len(fast.attempts)} attempt(s): {last}"
            )
    for letter in result.dead_letters:
        problems.append(f"dead-lettered by the forwarder: {str(letter)[:300]}")

    matched_ids: Mapping[str, set[str]] = {
        metric: {str(e.record.get("eventID")) for e in events} for metric, events in result.matched.items()
    }
    for page in pages_of(result):
        detection = page.detection_id
        if detection is None:
            continue
        shown = page.evidence_event_ids()
        foreign = shown - matched_ids.get(detection, set())
        if foreign:
            problems.append(
                f"page for {detection} shows {len(foreign)} record(s) that do not match its filter: "
                + ", ".join(sorted(foreign)[:5])
            )
        count = page.details.get("evidence", {}).get("count")
        matching = len(matched_ids.get(detection, set()))
        if isinstance(count, int) and count > matching:
            problems.append(
                f"page for {detection} counts {count} events but only {matching} records match its filter"
            )

    outcomes = outcomes_of(result)
    for name, alerts in incidents_with_several_alerts(result.alerts, incidents(result, outcomes)).items():
        problems.append(
            f"incident {name} produced {len(alerts)} PagerDuty alerts (one expected): "
            + ", ".join(f"#{a.number} {a.dedup_key}" for a in alerts)
        )
    for outcome in outcomes:
        if outcome.coverage == "missed" and outcome.path == PATH_FAST:
            problems.append(
                f"record {outcome.event.record.get('eventID')} ({outcome.event.record.get('eventName')}) "
                f"reached the forwarder through the fast path ({outcome.detection}) but no page covers it"
            )
        elif outcome.coverage == "missed" and outcome.within_tolerance:
            problems.append(
                f"record {outcome.event.record.get('eventID')} ({outcome.event.record.get('eventName')}) "
                f"matched {outcome.detection} and reached the log group {outcome.event.delay} after its "
                f"eventTime, within the alarm's tolerated {outcome.tolerated}, but no page covers it"
            )

    paged = {page.detection_id for page in pages_of(result)}
    for detection in expected_detections:
        if known_detections and detection not in known_detections:
            problems.append(f"the scenario expects detection {detection!r}, which is not in the catalogue")
        elif detection not in paged:
            problems.append(f"the scenario expects a page for {detection!r}; none was received")
    return problems
