"""The page: pure composition of what a responder needs, from the alarm, its detection and the evidence, or
from one CloudTrail event the fast path delivered (``build_event_page``: the event is its own evidence).

The summary line renders the detection's template with the fields enrichment derives from the evidence
(enrichment.summary_fields, exactly the catalogue's SUMMARY_FIELDS); the links are enrichment's deep links.
The result is a TriggerPage, which pagerduty.py puts on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from detections.catalogue import Detection
from detections.pivot import pivot_command
from detections.suppressions import Suppression
from lambdas.forwarder import enrichment as e
from lambdas.forwarder.enrichment import Evidence, Place, Window
from lambdas.forwarder.models import AlarmNotification, TrailEvent
from lambdas.forwarder.pagerduty import SEVERITIES, TriggerPage, truncate_summary


def render_summary(template: str, fields: Mapping[str, str], fallback: str) -> str:
    """Format the detection's template; a broken template degrades to ``fallback``, never losing the page."""
    try:
        return truncate_summary(template.format_map(dict(fields)))
    except (KeyError, IndexError, ValueError, AttributeError):
        return truncate_summary(fallback)


def build_trigger_page(
    *,
    notification: AlarmNotification,
    detection: Detection | None,
    evidence: Evidence,
    kept: list[dict],
    suppressed: list[tuple[dict, Suppression]],
    account_alias: str | None,
    log_group: str,
    window: Window,
) -> TriggerPage:
    """Everything a responder needs on the page, from whatever the enrichment managed to find."""
    account = e.account_display(notification.account_id, account_alias)
    summary_block = e.summarize(kept)
    event_ids = [str(r.get("eventID")) for r in kept if r.get("eventID")]
    status = "complete" if evidence.complete and detection is not None else "partial"
    if detection is None:
        status = "skipped"
    enrichment_block: dict[str, object] = {
        "status": status,
        "problems": list(evidence.problems),
        "filter_log_events_requests": evidence.requests,
        "window": {"start": e.iso_utc(window.start), "end": e.iso_utc(window.end)},
    }
    details: dict[str, object] = {
        "account": {"id": notification.account_id, "alias": account_alias},
        "alarm": _alarm_details(notification),
        "enrichment": enrichment_block,
        "evidence": summary_block,
        "pivot": pivot_details(kept),
    }
    if suppressed:
        reasons = sorted({f"{s.reason} (expires {s.expires.isoformat()})" for _, s in suppressed})
        details["suppressed"] = {
            "count": len(suppressed),
            "note": f"{len(suppressed)} matching event(s) were suppressed by configured suppressions",
            "reasons": reasons[:10],
        }
    details["sample_events"] = e.sample_events(kept)

    if detection is None:
        severity, event_class = "error", "unknown-alarm"
        summary = (
            f"Unrecognised security alarm {notification.alarm_name} in account {account} "
            f"({notification.region}): "
            "not in the detection catalogue, evidence not searched"
        )
        details["detection"] = {
            "id": None,
            "note": "alarm name/description does not map to a catalogue detection",
        }
    else:
        severity, event_class = detection.severity, detection.id
        fields = e.summary_fields(
            title=detection.title,
            records=kept,
            account=account,
            region=notification.region,
            count=len(kept),
        )
        if not evidence.complete:  # the search was cut short: the true count is unknown
            fields["count"] = f"at least {len(kept)}" if kept else "unknown"
        summary = render_summary(
            detection.summary_template,
            fields,
            fallback=f"{detection.title} in account {account} ({notification.region})",
        )
        details["detection"] = detection_details(detection)
    if status != "complete":
        enrichment_block["note"] = (
            "Paged with partial information: see problems; the Logs Insights link shows all"
        )

    links = [
        {"href": e.alarm_link(notification), "text": "CloudWatch alarm"},
        {
            "href": e.logs_insights_link(notification, log_group, window, event_ids),
            "text": "Logs Insights: events in the window",
        },
    ]
    links += [
        {"href": href, "text": f"CloudTrail event {event_id}"}
        for href, event_id in zip(e.cloudtrail_event_links(notification, event_ids), event_ids, strict=False)
    ]
    sources = summary_block["event_sources"]
    return TriggerPage(
        summary=summary,
        source=f"aws:{notification.account_id}:{notification.region}",
        severity=severity,
        timestamp=notification.state_change_time_iso,
        component=sources[0] if sources else "cloudtrail",
        group=account_alias or notification.account_id,
        event_class=event_class,
        custom_details=details,
        links=links,
        client_url=e.alarm_link(notification),
    )


def minimal_trigger_page(
    *,
    notification: AlarmNotification,
    detection: Detection | None,
    problem: str,
    log_group: str,
    window: Window,
) -> TriggerPage:
    """The page of last resort, when building the full page failed: the alarm alone, from few fields."""
    severity = getattr(detection, "severity", None)
    title = getattr(detection, "title", None)
    return TriggerPage(
        summary=f"{title or 'Security alarm'}: {notification.alarm_name} in account "
        f"{notification.account_id} ({notification.region}); evidence unavailable, see Logs Insights",
        source=f"aws:{notification.account_id}:{notification.region}",
        severity=severity if severity in SEVERITIES else "error",
        timestamp=notification.state_change_time_iso,
        component="cloudtrail",
        group=notification.account_id,
        event_class=str(getattr(detection, "id", None) or "unknown-alarm"),
        custom_details={
            "alarm": _alarm_details(notification),
            "enrichment": {
                "status": "partial",
                "problems": [problem],
                "window": {"start": e.iso_utc(window.start), "end": e.iso_utc(window.end)},
            },
        },
        links=[
            {"href": e.alarm_link(notification), "text": "CloudWatch alarm"},
            {
                "href": e.logs_insights_link(notification, log_group, window, []),
                "text": "Logs Insights: events in the window",
            },
        ],
        client_url=e.alarm_link(notification),
    )


def _alarm_details(notification: AlarmNotification) -> dict[str, object]:
    return {
        "name": notification.alarm_name,
        "arn": notification.alarm_arn,
        "state": notification.new_state,
        "previous_state": notification.old_state,
        "reason": notification.reason,
        "state_change_time": notification.state_change_time_iso,
        "delivered_by": notification.delivery,
    }


#: Distinct principals whose pivot a page lists: enough for a shared incident, bounded for the event size.
MAX_PIVOTS = 5
#: The Logs Insights window around a fast-path event: the record reaches the trail's log group minutes later.
EVENT_WINDOW_BEFORE = timedelta(minutes=5)
EVENT_WINDOW_AFTER = e.DELIVERY_DELAY_MARGIN


def pivot_details(records: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """ "What else did this principal do in the 24 hours around this event?": one command per principal."""
    commands = list(dict.fromkeys(c for c in (pivot_command(r) for r in records) if c))
    block: dict[str, object] = {
        "question": "what else did this principal do in the 24 hours around this event?",
        "commands": commands[:MAX_PIVOTS],
    }
    if not commands:
        block["note"] = "no record with a principal and an event time: nothing to pivot on"
    return block


def detection_details(detection: Detection) -> dict[str, object]:
    return {
        "id": detection.id,
        "title": detection.title,
        "description": detection.description,
        "severity": detection.severity,
        "controls": list(detection.controls),
        "mitre_attack": list(detection.mitre_attack),
        "runbook": detection.runbook,
        "resolve_policy": detection.resolve_policy,
    }


def account_details(account_id: str, alias: str | None, own_account: str | None) -> dict[str, object]:
    """The account the event happened in; its alias only for the forwarder's own account (the only one
    whose alias it may read), and the page says so for any other."""
    details: dict[str, object] = {"id": account_id, "alias": alias}
    if own_account is not None and account_id != own_account:
        details["note"] = (
            f"member account: the event happened in {account_id}, not in the forwarder's account "
            f"{own_account}; its alias is not read"
        )
    return details


def build_event_page(
    *,
    event: TrailEvent,
    detection: Detection | None,
    match_problem: str | None,
    account_alias: str | None,
    own_account: str | None,
    home: Place,
    log_group: str,
) -> TriggerPage:
    """The fast path's page: the CloudTrail event is the evidence, the same summary template and links."""
    record = dict(event.record)
    account = e.account_display(event.account_id, account_alias)
    event_ids = [event.event_id]
    window = Window(start=event.event_time - EVENT_WINDOW_BEFORE, end=event.event_time + EVENT_WINDOW_AFTER)
    details: dict[str, object] = {
        "account": account_details(event.account_id, account_alias, own_account),
        "fast_path": {
            "delivered_by": "eventbridge",
            "event_id": event.event_id,
            "eventbridge_id": event.envelope_id,
            "detail_type": event.detail_type,
            "note": "paged on the CloudTrail event itself, seconds after the call; the alarm path's later "
            "page for this detection and account updates this alert",
        },
        "evidence": e.summarize([record]),
        "pivot": pivot_details([record]),
    }
    if detection is None:
        severity, event_class = "error", "unknown-fast-path-event"
        summary = (
            f"Unrecognised fast-path event {record.get('eventName', 'unknown')} in account {account} "
            f"({event.region}): no detection's filter pattern matches it"
        )
        details["detection"] = {"id": None, "note": match_problem or "no detection matches the record"}
    else:
        severity, event_class = detection.severity, detection.id
        fields = e.summary_fields(
            title=detection.title, records=[record], account=account, region=event.region, count=1
        )
        summary = render_summary(
            detection.summary_template,
            fields,
            fallback=f"{detection.title} in account {account} ({event.region})",
        )
        details["detection"] = detection_details(detection)
    details["sample_events"] = e.sample_events([record])
    links = [
        {"href": href, "text": f"CloudTrail event {event_id}"}
        for href, event_id in zip(e.cloudtrail_event_links(event, event_ids), event_ids, strict=False)
    ]
    links.append(
        {
            "href": e.logs_insights_link(home, log_group, window, event_ids),
            "text": "Logs Insights: this event in the trail's log group",
        }
    )
    source = record.get("eventSource")
    return TriggerPage(
        summary=summary,
        source=f"aws:{event.account_id}:{event.region}",
        severity=severity,
        timestamp=event.event_time_iso,
        component=source if isinstance(source, str) and source else "cloudtrail",
        group=account_alias or event.account_id,
        event_class=event_class,
        custom_details=details,
        links=links,
        client_url=links[0]["href"],
    )


def minimal_event_page(*, event: TrailEvent, detection: Detection | None, problem: str) -> TriggerPage:
    """The fast path's page of last resort, when building the full page failed: the event's identity alone."""
    severity = getattr(detection, "severity", None)
    title = getattr(detection, "title", None)
    name = event.record.get("eventName")
    return TriggerPage(
        summary=f"{title or 'Security event'}: {name if isinstance(name, str) else 'unknown'} in account "
        f"{event.account_id} ({event.region}); page details unavailable, see the CloudTrail event",
        source=f"aws:{event.account_id}:{event.region}",
        severity=severity if severity in SEVERITIES else "error",
        timestamp=event.event_time_iso,
        component="cloudtrail",
        group=event.account_id,
        event_class=str(getattr(detection, "id", None) or "unknown-fast-path-event"),
        custom_details={
            "fast_path": {"delivered_by": "eventbridge", "event_id": event.event_id},
            "enrichment": {"status": "partial", "problems": [problem]},
        },
        links=[
            {"href": href, "text": f"CloudTrail event {event.event_id}"}
            for href in e.cloudtrail_event_links(event, [event.event_id])
        ],
    )
