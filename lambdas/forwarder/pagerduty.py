"""PagerDuty Events API v2: dedup keys, payload building (pure) and a small HTTP client with retries.

Dedup keys and episodes
-----------------------
PagerDuty groups events by ``dedup_key``: a trigger with an open alert's key is merged into it, a resolve
closes it, and after a resolve the same key opens a NEW alert. The SNS alarm message carries the time of the
transition it reports (``StateChangeTime``) and the previous state, but not when the episode being closed
began. So:

* ``manual`` detections (a human resolves the incident): the key identifies the ALARM episode,
  ``sb1/<detection>/<account>/<region>/<alarm-hash>/<StateChangeTime of the transition into ALARM>``.
  An SNS redelivery, a Lambda retry or the same state change arriving both by SNS and as an alarm action all
  carry the same StateChangeTime, hence the same key; the next ALARM episode has a new StateChangeTime and
  opens a new alert even while the previous one is still open. OK sends nothing.
* ``resolve_on_ok`` detections: the key identifies the alarm, ``sb1/<detection>/<account>/<region>/<hash>``.
  An OK notification (after ALARM, or after an un-notified INSUFFICIENT_DATA) resolves exactly that key
  (a no-op when no alert is open), and since PagerDuty opens a new alert
  for a trigger after a resolve, each ALARM episode still gets its own alert. Redeliveries dedupe as above.
  Known limit: a trigger redelivered *after* its episode was resolved opens a fresh alert (stale but visible,
  never lost); a lost resolve leaves the alert open for the next episode to join.
* Alarms not in the catalogue: like ``manual``, with ``unknown`` in place of the detection id.

The alarm ARN is hashed (it can be 300+ characters) so the key stays well under 255 characters.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from detections.catalogue import Detection
from detections.suppressions import Suppression
from lambdas.forwarder import enrichment as e
from lambdas.forwarder.enrichment import Evidence, Window
from lambdas.forwarder.models import AlarmNotification

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_EVENT_BYTES = 512 * 1024
# Leave room for JSON-escaping differences and HTTP framing: we aim below the documented limit.
EVENT_BYTE_BUDGET = MAX_EVENT_BYTES - 8 * 1024
CLIENT_NAME = "AWS Security Baseline alert forwarder"
SEVERITIES = ("critical", "error", "warning", "info")


# --- dedup keys ------------------------------------------------------------------------------------------


def dedup_key(notification: AlarmNotification, detection_id: str | None, resolve_policy: str | None) -> str:
    alarm_hash = hashlib.sha256(notification.alarm_arn.encode()).hexdigest()[:20]
    base = f"sb1/{detection_id or 'unknown'}/{notification.account_id}/{notification.region}/{alarm_hash}"
    if detection_id is not None and resolve_policy == "resolve_on_ok":
        key = base
    else:
        key = f"{base}/{notification.state_change_time_iso}"
    if len(key) > MAX_DEDUP_KEY:  # cannot happen with valid ids; guard so a bad id cannot break delivery
        key = key[: MAX_DEDUP_KEY - 21] + "~" + hashlib.sha256(key.encode()).hexdigest()[:20]
    return key


# --- payloads --------------------------------------------------------------------------------------------


def truncate_summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def render_summary(template: str, fields: Mapping[str, str], fallback: str) -> str:
    """Format the detection's template; a broken template degrades to ``fallback``, never losing the page."""
    try:
        return truncate_summary(template.format_map(dict(fields)))
    except (KeyError, IndexError, ValueError, AttributeError):
        return truncate_summary(fallback)


@dataclass(frozen=True)
class TriggerPage:
    summary: str
    source: str
    severity: str
    timestamp: str
    component: str
    group: str
    event_class: str
    custom_details: dict[str, object]
    links: list[dict[str, str]] = field(default_factory=list)
    client_url: str | None = None


def trigger_event(routing_key: str, key: str, page: TriggerPage) -> dict[str, object]:
    if page.severity not in SEVERITIES:
        raise ValueError(f"severity {page.severity!r} is not one of {SEVERITIES}")
    event: dict[str, object] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": truncate_summary(page.summary),
            "source": page.source[:255],
            "severity": page.severity,
            "timestamp": page.timestamp,
            "component": page.component,
            "group": page.group,
            "class": page.event_class,
            "custom_details": page.custom_details,
        },
        "client": CLIENT_NAME,
        "links": page.links,
    }
    if page.client_url:
        event["client_url"] = page.client_url
    return fit_to_size(event)


def resolve_event(routing_key: str, key: str) -> dict[str, object]:
    return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key}


def encode_event(event: Mapping[str, object]) -> bytes:
    """The request body. Evidence strings are attacker-influenced (user agents, request parameters): a lone
    surrogate from a JSON ``\\ud800`` escape cannot be encoded as UTF-8, and must degrade to '?' rather than
    raise and lose the page."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace")


def event_size(event: Mapping[str, object]) -> int:
    return len(encode_event(event))


def fit_to_size(event: dict[str, object], budget: int = EVENT_BYTE_BUDGET) -> dict[str, object]:
    """Trim custom_details until the whole event fits: samples first, then lists, then strings, then all.

    Each step that fires is recorded in ``custom_details.trimmed`` so the responder knows detail is missing.
    """
    if event_size(event) <= budget:
        return event
    built_payload = event["payload"]
    if not isinstance(built_payload, Mapping):  # trigger_event always builds one; guard the type here
        raise TypeError(f"event payload is a {type(built_payload).__name__}, not an object")
    payload = dict(built_payload)
    details = dict(payload.get("custom_details") or {})
    notes: list[str] = list(details.get("trimmed") or [])

    def current() -> dict[str, object]:
        return event | {"payload": payload | {"custom_details": details | {"trimmed": notes}}}

    samples = list(details.get("sample_events") or [])
    if samples:
        original = len(samples)
        while samples and event_size(current()) > budget:
            samples.pop()
            details["sample_events"] = samples
        notes.append(
            f"sample_events: kept {len(samples)} of {original} to fit PagerDuty's 512 KB event limit"
        )
        if event_size(current()) <= budget:
            return current()

    for key, value in list(details.items()):
        details[key] = _shrink(value, max_items=5, max_string=2048)
    notes.append("lists cut to 5 items and strings to 2048 characters to fit the 512 KB event limit")
    if event_size(current()) <= budget:
        return current()

    for key, value in list(details.items()):
        details[key] = _shrink(value, max_items=3, max_string=256)
    notes.append("lists cut to 3 items and strings to 256 characters")
    if event_size(current()) <= budget:
        return current()

    kept = {k: _shrink(details.get(k), 3, 256) for k in ("detection", "alarm", "enrichment") if k in details}
    details.clear()
    details.update(kept)
    notes.append("evidence dropped entirely: too large even after trimming; use the Logs Insights link")
    return current()


def _shrink(value: object, max_items: int, max_string: int) -> object:
    if isinstance(value, str):
        return value if len(value) <= max_string else value[:max_string] + "...[cut]"
    if isinstance(value, Mapping):
        return {k: _shrink(v, max_items, max_string) for k, v in value.items()}
    if isinstance(value, list):
        return [_shrink(v, max_items, max_string) for v in value[:max_items]]
    return value


# --- HTTP client -----------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """Base for delivery failures; ``reason`` is safe to log (never contains the routing key)."""

    def __init__(self, reason: str, *, status: int | None = None, body: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body


class RetryableDeliveryError(DeliveryError):
    """429, 5xx or network trouble that outlived our retries: fail the invocation so Lambda retries it."""


class RejectedEventError(DeliveryError):
    """PagerDuty refused the event (4xx but 429): retrying cannot help; dead-letter it with the reason."""


RetryVerdict = Literal["success", "retry", "reject"]


def classify_status(status: int) -> RetryVerdict:
    if 200 <= status < 300:
        return "success"
    if status == 429 or status >= 500:
        return "retry"
    return "reject"


def backoff_delay(
    attempt: int, *, base: float = 0.5, cap: float = 8.0, rand: Callable[[], float] = random.random
) -> float:
    """Full-jitter exponential backoff (attempt 1 -> up to base, 2 -> up to 2*base, ...), capped."""
    return rand() * min(cap, base * (2 ** (attempt - 1)))


@dataclass(frozen=True)
class DeliveryResult:
    status: int
    body: dict[str, object]
    attempts: int


@dataclass
class PagerDutyClient:
    """POSTs events; retries inside the caller's time budget. Transport and clock are injectable for tests."""

    url: str = DEFAULT_EVENTS_URL
    request_timeout: float = 5.0
    max_attempts: int = 5
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random
    on_retry: Callable[[str], None] = lambda reason: None
    # (body, timeout) -> (HTTP status or None on a network error, response text, network error reason)
    transport: Callable[[bytes, float], tuple[int | None, str, str]] | None = None

    def send(self, event: Mapping[str, object], remaining_seconds: Callable[[], float]) -> DeliveryResult:
        body = encode_event(event)
        last_reason = "not attempted: no time left"
        for attempt in range(1, self.max_attempts + 1):
            timeout = min(self.request_timeout, remaining_seconds() - 0.5)
            if timeout <= 0.2:
                break
            status, text, reason = (self.transport or self._post)(body, timeout)
            if status is not None:
                verdict = classify_status(status)
                if verdict == "success":
                    return DeliveryResult(status, _json_object(text), attempt)
                if verdict == "reject":
                    raise RejectedEventError(
                        f"PagerDuty rejected the event with HTTP {status}: {_error_text(text)}",
                        status=status,
                        body=text,
                    )
                last_reason = f"HTTP {status}: {_error_text(text)}"
            else:
                last_reason = reason
            if attempt == self.max_attempts:
                break
            delay = backoff_delay(attempt, rand=self.rand)
            if delay + 0.7 >= remaining_seconds():  # keep time for one more request, else give up now
                break
            self.on_retry(last_reason)
            self.sleep(delay)
        raise RetryableDeliveryError(f"PagerDuty delivery failed after retries: {last_reason}")

    def _post(self, body: bytes, timeout: float) -> tuple[int | None, str, str]:
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8", "replace"), ""
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace"), ""
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            # HTTPException: a garbled or cut-off response (BadStatusLine, IncompleteRead) - retry it too.
            return None, "", f"network error: {getattr(error, 'reason', error)!s:.200}"


def _json_object(text: str) -> dict[str, object]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _error_text(text: str) -> str:
    parsed = _json_object(text)
    if parsed:
        parts = [str(parsed.get("message") or parsed.get("status") or "")]
        errors = parsed.get("errors")
        if isinstance(errors, list):
            parts.extend(str(e) for e in errors[:5])
        return "; ".join(p for p in parts if p)[:500]
    return text[:500]


# --- composing a page from what we know -------------------------------------------------------------------


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
        details["detection"] = {
            "id": detection.id,
            "title": detection.title,
            "description": detection.description,
            "severity": detection.severity,
            "controls": list(detection.controls),
            "mitre_attack": list(detection.mitre_attack),
            "runbook": detection.runbook,
            "resolve_policy": detection.resolve_policy,
        }
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
