"""Text a person wants to read: the simulated timeline, then each page as PagerDuty would show it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from demo.checks import Page, delivery_outcomes
from demo.pipeline import Delivery, FastDelivery, RunResult
from testkit.pagerduty_receiver import AlertView

SEVERITY_LABELS = {"critical": "CRITICAL", "error": "ERROR", "warning": "WARNING", "info": "INFO"}
_COLOURS = {"critical": "\033[1;31m", "error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_RESET = "\033[0m"


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _alert_note(alerts: AlertView | None, index: int) -> str:
    action = alerts.actions[index] if alerts is not None and index < len(alerts.actions) else None
    if action is None:
        return ""
    alert, done = action
    return f", {done} alert #{alert.number}" if alert is not None else f", {done}"


def _outcome(delivery: Delivery | FastDelivery, alerts: AlertView | None = None) -> str:
    if not delivery.succeeded:
        error = delivery.attempts[-1].error if delivery.attempts else {}
        return f"forwarder FAILED after {len(delivery.attempts)} attempt(s): {error}"
    if not delivery.requests:
        return f"no PagerDuty request (forwarder outcome: {', '.join(delivery_outcomes(delivery)) or '?'})"
    parts = []
    for index, request in zip(delivery.request_indexes, delivery.requests, strict=True):
        event = request.event if isinstance(request.event, dict) else {}
        action = event.get("event_action", "?")
        severity = event.get("payload", {}).get("severity")
        label = f"{action} ({severity})" if severity else action
        parts.append(
            f"PagerDuty {label} -> {request.response_status}{'' if request.valid else ' INVALID'}"
            + _alert_note(alerts, index)
        )
    return "; ".join(parts)


def timeline_lines(result: RunResult, alarm_name_prefix: str) -> list[str]:
    """One line per simulated minute with activity, plus one per alarm transition and what it caused."""
    deliveries = {(id(d.transition), d.topic_arn): d for d in result.deliveries}
    by_transition: dict[int, list[Delivery]] = {}
    for (transition_id, _), delivery in deliveries.items():
        by_transition.setdefault(transition_id, []).append(delivery)
    others: dict[int, list[str]] = {}
    for note in result.other_notifications:
        others.setdefault(id(note.transition), []).append(note.action)

    fast_by_minute: dict[datetime, list[FastDelivery]] = {}
    for fast in result.fast_deliveries:
        minute = fast.arrival.replace(second=0, microsecond=0)
        fast_by_minute.setdefault(minute, []).append(fast)
    lines = [
        f"{'time':>6}  {'arrived':>7}  records reaching the log group that minute (their delay after "
        "eventTime); detections they match (records); >> alarm state changes at the minute's end"
    ]
    steps = result.steps
    for index, step in enumerate(steps):
        if step.events:
            matched = ", ".join(f"{name} ({count})" for name, count in sorted(step.matches.items())) or "-"
            delays = [event.delay.total_seconds() / 60 for event in step.events]
            late = f"(delay {min(delays):.1f}-{max(delays):.1f} min) " if max(delays) > 0 else ""
            lines.append(f"{_clock(step.start):>6}  {len(step.events):>7}  {late}{matched}")
        elif index == 0 or steps[index - 1].events:
            next_busy = next((later for later in steps[index:] if later.events), None)
            until = f"until {_clock(next_busy.start)}" if next_busy else "until the end"
            lines.append(f"{_clock(step.start):>6}  {0:>7}  (no records delivered {until})")
        for fast in fast_by_minute.get(step.start, []):
            record = fast.fast.event.record
            called = fast.fast.event.timestamp
            lines.append(
                f"{fast.arrival:%H:%M:%S}  {'':>5}  >> EventBridge rule {fast.fast.detection_id}: "
                f"{record.get('eventName')} {record.get('eventID')} (API call {called:%H:%M:%S}, "
                f"delivered {(fast.arrival - called).total_seconds():.1f} s later)"
            )
            lines.append(f"{'':>6}  {'':>7}       EventBridge -> forwarder: {_outcome(fast, result.alerts)}")
        for transition in step.transitions:
            name = transition.alarm.name.removeprefix(alarm_name_prefix)
            change = f"{transition.old_state} -> {transition.new_state}"
            quiet = "" if transition.actions else f"  (no {transition.new_state} action: nothing is sent)"
            lines.append(f"{_clock(transition.at):>6}  {'':>7}  >> alarm {name}: {change}{quiet}")
            for delivery in by_transition.get(id(transition), []):
                lines.append(f"{'':>6}  {'':>7}       SNS -> forwarder: {_outcome(delivery, result.alerts)}")
            for action in others.get(id(transition), []):
                lines.append(
                    f"{'':>6}  {'':>7}       SNS -> {action.rsplit(':', 1)[-1]} (not the forwarder's topic)"
                )
    return lines


def _join(values: Iterable[Any], limit: int = 4) -> str:
    items = [str(v) for v in values if v not in (None, "")]
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "") if items else "-"


def _principal(principal: dict[str, Any]) -> str:
    name = (
        "root user" if principal.get("type") == "Root" else str(principal.get("arn") or principal.get("type"))
    )
    extras = []
    if principal.get("mfa_used") is False:
        extras.append("no MFA")
    if principal.get("access_key_id"):
        extras.append(f"key {principal['access_key_id']}")
    count = principal.get("events")
    if count:
        extras.append(f"{count} event(s)")
    return f"{name} ({', '.join(extras)})" if extras else name


def page_lines(page: Page, *, colour: bool = False) -> list[str]:
    """One page the way the PagerDuty incident view lays it out: severity and summary, details, links."""
    payload = page.payload
    details = page.details
    severity = str(payload.get("severity", "?"))
    label = SEVERITY_LABELS.get(severity, severity.upper())
    if colour:
        label = f"{_COLOURS.get(severity, '')}{label}{_RESET}"
    evidence = details.get("evidence", {}) if isinstance(details.get("evidence"), dict) else {}
    detection = details.get("detection", {}) if isinstance(details.get("detection"), dict) else {}
    enrichment = details.get("enrichment", {}) if isinstance(details.get("enrichment"), dict) else {}
    seen = f"{evidence.get('first_seen')} .. {evidence.get('last_seen')}"
    status = enrichment.get("status", "?")
    lines = [
        f"[{label}] {payload.get('summary', '')}",
        f"    dedup_key {page.event.get('dedup_key')}  |  {payload.get('timestamp')}"
        f"  |  source {payload.get('source')}  |  component {payload.get('component')}"
        f"  |  class {payload.get('class')}",
        f"    evidence: {evidence.get('count', '?')} event(s), {seen}  (enrichment {status})",
        f"    who:      {_join(_principal(p) for p in evidence.get('principals', []))}",
        f"    from:     {_join(evidence.get('source_ips', []))}",
        f"    via:      {_join(evidence.get('user_agents', []), 1)}",
        f"    did:      {_join(evidence.get('event_names', []), 6)}"
        + (f"   errors: {_join(evidence.get('error_codes', []))}" if evidence.get("error_codes") else ""),
        f"    on:       {_join(evidence.get('resources', []), 3)}",
    ]
    if detection.get("controls"):
        mitre = _join(detection.get("mitre_attack", []))
        lines.append(f"    controls: {_join(detection['controls'], 6)}   MITRE ATT&CK: {mitre}")
    runbook = str(detection.get("runbook") or "").strip().splitlines()
    if runbook:
        lines.append(f"    runbook:  {runbook[0].strip()}")
    for problem in enrichment.get("problems", [])[:3]:
        lines.append(f"    note:     {problem}")
    for link in page.event.get("links", [])[:4]:
        lines.append(f"    link:     {link.get('text')}: {link.get('href')}")
    extra_links = len(page.event.get("links", [])) - 4
    if extra_links > 0:
        lines.append(f"    link:     ... and {extra_links} more CloudTrail event link(s)")
    return lines


def alert_lines(alerts: AlertView) -> list[str]:
    """Each PagerDuty alert (what the responder sees), with how many events landed on it."""
    lines = []
    for alert in alerts.alerts:
        state = "resolved" if alert.resolved else "open"
        lines.append(
            f"  alert #{alert.number} [{state}] {alert.detection or '?'}: {alert.triggers} trigger(s)"
            f"  dedup_key {alert.dedup_key}"
        )
    return lines


def pages_section(pages: Sequence[Page], *, colour: bool = False) -> list[str]:
    lines: list[str] = []
    for index, page in enumerate(pages, 1):
        lines.append("")
        lines.append(f"Page {index} of {len(pages)}")
        lines.extend(page_lines(page, colour=colour))
    return lines
