"""PagerDuty Events API v2 on the wire: the event format, fitting an event into the size limit, and a small
HTTP client with retries inside the invocation's deadline (budget.py).

What goes on a page is page.py's; which alert an event joins (the dedup key) is episodes.py's.
"""

from __future__ import annotations

import http.client
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from lambdas.forwarder.budget import Deadline

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_SUMMARY = 1024
MAX_EVENT_BYTES = 512 * 1024
# Leave room for JSON-escaping differences and HTTP framing: we aim below the documented limit.
EVENT_BYTE_BUDGET = MAX_EVENT_BYTES - 8 * 1024
CLIENT_NAME = "AWS Security Baseline alert forwarder"
SEVERITIES = ("critical", "error", "warning", "info")


# --- payloads --------------------------------------------------------------------------------------------


def truncate_summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


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
        deadline = Deadline.of(remaining_seconds)
        for attempt in range(1, self.max_attempts + 1):
            timeout = deadline.request_timeout(self.request_timeout)
            if timeout is None:
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
            if not deadline.allows_retry_after(delay):  # keep time for one more request, else give up now
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
