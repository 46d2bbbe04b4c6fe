"""Fetch the CloudTrail records behind an alarm from the trail's log group with FilterLogEvents.

Bounds, because an alert path must finish:
* window: the alarm's evaluated periods plus CloudTrail's delivery delay (enrichment.evaluation_window);
* pages per pattern and events in total (a page can be empty while ``nextToken`` remains: keep going, but
  count it against the page bound);
* time: stop when the caller's deadline says the page must go out now; the evidence is then incomplete.

Quota: FilterLogEvents allows 5 requests/s per account and region, shared by every alarm firing at once and
by anyone using the console. With the forwarder's reserved concurrency of 5, pacing each container to one
request per second (a burst of 2 for the common one-pattern, one-page case) keeps the fleet at or under the
quota; a ThrottlingException still retries with jittered backoff inside the budget.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.forwarder.budget import Deadline
from lambdas.forwarder.enrichment import Evidence, Window
from lambdas.forwarder.ports import LogsPort, PacerPort

_THROTTLING_CODES = {"ThrottlingException", "LimitExceededException", "TooManyRequestsException"}
_RETRYABLE_CODES = _THROTTLING_CODES | {
    "ServiceUnavailableException",
    "InternalFailure",
    "ServiceUnavailable",
}


@dataclass
class RatePacer:
    """Token bucket shared by all invocations of one container (module scope in the handler)."""

    rate_per_second: float = 1.0
    burst: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._stamp = self.clock()
        self._lock = threading.Lock()

    def acquire(self, remaining_seconds: Callable[[], float]) -> bool:
        """Wait for a token; False (without waiting) when the wait would not fit in the time left."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate_per_second)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate_per_second
            if wait > 0 and not Deadline.of(remaining_seconds).allows_wait(wait):
                return False
            self._tokens -= 1  # may go negative: the debt is the wait we are about to sleep
        if wait > 0:
            self.sleep(wait)
        return True

    def reset(self) -> None:
        with self._lock:
            self._tokens, self._stamp = self.burst, self.clock()


@dataclass(frozen=True)
class EvidenceBounds:
    max_pages_per_pattern: int = 5
    max_events: int = 500
    page_limit: int = 100  # events per FilterLogEvents call
    max_throttle_retries: int = 4


def fetch_evidence(
    logs_client: LogsPort,
    *,
    log_group: str,
    patterns: Sequence[str],
    window: Window,
    remaining_seconds: Callable[[], float],
    pacer: PacerPort,
    bounds: EvidenceBounds = EvidenceBounds(),
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> Evidence:
    """Records matching any of ``patterns`` in ``window``, merged by eventId; never raises for AWS errors."""
    deadline = Deadline.of(remaining_seconds)
    evidence = Evidence()
    seen: dict[str, dict] = {}
    for number, pattern in enumerate(patterns, start=1):
        token: str | None = None
        for page in range(1, bounds.max_pages_per_pattern + 1):
            request: dict[str, Any] = {
                "logGroupName": log_group,
                "filterPattern": pattern,
                "startTime": window.start_ms,
                "endTime": window.end_ms,
                "limit": bounds.page_limit,
            }
            if token:
                request["nextToken"] = token
            response = _call_with_retries(
                logs_client, request, evidence, deadline, pacer, bounds, sleep, rand
            )
            if response is None:
                return _finish(evidence, seen)
            for log_event in response.get("events", []):
                record = _record(log_event)
                if record is None:
                    evidence.problems.append(
                        f"log event {log_event.get('eventId')} is not CloudTrail JSON: skipped"
                    )
                    continue
                seen.setdefault(str(record.get("eventID") or log_event.get("eventId")), record)
                if len(seen) >= bounds.max_events:
                    evidence.complete = False
                    evidence.problems.append(f"stopped at {bounds.max_events} events (bound)")
                    return _finish(evidence, seen)
            token = response.get("nextToken")
            if not token:
                break
            if page == bounds.max_pages_per_pattern:
                evidence.complete = False
                evidence.problems.append(
                    f"pattern {number}: stopped after {page} pages with more remaining (bound)"
                )
    return _finish(evidence, seen)


def _call_with_retries(
    logs_client: LogsPort,
    request: dict[str, Any],
    evidence: Evidence,
    deadline: Deadline,
    pacer: PacerPort,
    bounds: EvidenceBounds,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> dict[str, Any] | None:
    for attempt in range(bounds.max_throttle_retries + 1):
        if deadline.expired() or not pacer.acquire(deadline):
            evidence.complete = False
            evidence.problems.append("time budget for enrichment used up before the search finished")
            return None
        evidence.requests += 1
        try:
            response: dict[str, Any] = logs_client.filter_log_events(**request)
            return response
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code not in _RETRYABLE_CODES and status < 500:
                evidence.complete = False
                evidence.problems.append(
                    f"FilterLogEvents failed: {code}: {error.response['Error'].get('Message', '')}"[:300]
                )
                return None
            reason = f"FilterLogEvents {code or status}"
        except BotoCoreError as error:
            reason = f"FilterLogEvents network error: {error}"[:300]
        if attempt == bounds.max_throttle_retries:
            break
        delay = rand() * min(4.0, 0.25 * 2**attempt)
        if not deadline.allows_wait(delay):
            break
        evidence.retries += 1
        sleep(delay)
    evidence.complete = False
    evidence.problems.append(
        f"{reason} after {bounds.max_throttle_retries + 1} attempts; evidence is partial"
    )
    return None


def _record(log_event: dict[str, Any]) -> dict | None:
    try:
        record = json.loads(log_event.get("message", ""))
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _finish(evidence: Evidence, seen: dict[str, dict]) -> Evidence:
    evidence.records = sorted(seen.values(), key=lambda r: str(r.get("eventTime", "")))
    return evidence
