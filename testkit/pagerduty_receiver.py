"""A local PagerDuty Events API v2 receiver for tests and the demo: validates, records, and fails on cue.

* ``POST /v2/enqueue``: the body is checked against our own schema (``pagerduty_events_v2.schema.json``)
  and the 512 KB event limit; valid events get PagerDuty's 202 response shape, invalid ones a 400 with the
  errors. Every request, valid or not, is recorded for assertions.
* Alerts, not only requests: ``receiver.alerts()`` groups the accepted events by ``dedup_key`` as PagerDuty
  does (first trigger opens an alert, later triggers update it, resolve closes it; ``account_alerts``), and
  ``incidents_with_several_alerts`` finds an incident that reached the responder as two alerts.
* Scripted faults: ``receiver.script(Respond(429), Respond(500), Hang(2.0), Disconnect())`` queues responses
  that are served, in order, before normal processing resumes (to model PagerDuty being throttled, down,
  slow or unreachable).

Usage::

    with PagerDutyReceiver() as receiver:
        os.environ["PAGERDUTY_EVENTS_URL"] = receiver.events_url
        ...
        assert receiver.valid_events()[0]["payload"]["severity"] == "critical"
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import jsonschema

SCHEMA_PATH = Path(__file__).with_name("pagerduty_events_v2.schema.json")
MAX_EVENT_BYTES = 512 * 1024
ENQUEUE_PATH = "/v2/enqueue"


@dataclass(frozen=True)
class Respond:
    """Answer with this status (and PagerDuty's error shape unless ``body`` is given)."""

    status: int
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Hang:
    """Hold the request ``seconds`` before answering 202 (the client should time out first)."""

    seconds: float


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without any response (a network error for the client)."""


Fault = Respond | Hang | Disconnect


@dataclass
class RecordedRequest:
    path: str
    body: bytes
    event: Any  # parsed JSON, or None when the body was not JSON
    valid: bool
    errors: list[str]
    response_status: int | None  # None when the connection was dropped
    fault: str | None = None
    received_at: float = field(default_factory=time.time)


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validate_event(
    body: bytes, validator: jsonschema.protocols.Validator | None = None
) -> tuple[Any, list[str]]:
    """Parse and validate a request body: (event or None, list of errors; empty when valid)."""
    validator = validator or jsonschema.Draft202012Validator(load_schema())
    errors: list[str] = []
    if len(body) > MAX_EVENT_BYTES:
        errors.append(f"event is {len(body)} bytes, over PagerDuty's {MAX_EVENT_BYTES}-byte (512 KB) limit")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        return None, [*errors, f"JSON parse error: {error}"]
    for violation in sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in violation.absolute_path) or "(root)"
        errors.append(f"{where}: {violation.message[:300]}")
    return event, errors


class PagerDutyReceiver:
    """``rate_limit``: answer 429 to a request when that many were already answered in the last
    ``rate_window_seconds`` of ``clock`` (PagerDuty: 120 events per minute per integration key)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_limit: int | None = None,
        rate_window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._validator = jsonschema.Draft202012Validator(load_schema())
        self._lock = threading.Lock()
        self._rate_limit = rate_limit
        self._rate_window = rate_window_seconds
        self._clock = clock
        self._answered: deque[float] = deque()
        self._faults: deque[Fault] = deque()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pagerduty-receiver", daemon=True
        )

    # --- lifecycle
    def start(self) -> PagerDutyReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> PagerDutyReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def events_url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]  # = server_address, typed for an IP socket
        return f"http://{host}:{port}{ENQUEUE_PATH}"

    # --- scripting and assertions
    def script(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self._answered.clear()

    def valid_events(self) -> list[dict[str, Any]]:
        """Events PagerDuty would have accepted (valid and answered 202)."""
        with self._lock:
            return [r.event for r in self.requests if r.valid and r.response_status == 202]

    def alerts(self) -> AlertView:
        """The alerts PagerDuty would show for the requests so far (see ``account_alerts``)."""
        with self._lock:
            return account_alerts(list(self.requests))

    def invalid_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if not r.valid]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(
            f"expected {count} request(s) at the PagerDuty receiver, got {len(self.requests)}"
        )

    # --- serving
    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _rate_limited(self) -> bool:
        """Count this request against the rate limit; True when it is over the limit (answer 429)."""
        if self._rate_limit is None:
            return False
        with self._lock:
            now = self._clock()
            while self._answered and self._answered[0] <= now - self._rate_window:
                self._answered.popleft()
            over = len(self._answered) >= self._rate_limit
            self._answered.append(now)  # PagerDuty counts throttled requests too
            return over

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests assert on recorded requests, not on stderr

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path != ENQUEUE_PATH:
                    receiver._record(RecordedRequest(self.path, body, None, False, ["unknown path"], 404))
                    self._send(404, {"status": "Not found", "message": f"no such endpoint {self.path}"})
                    return
                event, errors = validate_event(body, receiver._validator)
                fault = receiver._next_fault()
                if isinstance(fault, Disconnect):
                    receiver._record(
                        RecordedRequest(self.path, body, event, not errors, errors, None, "disconnect")
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(fault, Hang):
                    receiver._record(
                        RecordedRequest(self.path, body, event, not errors, errors, None, "hang")
                    )
                    receiver._stopping.wait(fault.seconds)
                    self._send(202, _success(event), quiet=True)
                    return
                if isinstance(fault, Respond):
                    receiver._record(
                        RecordedRequest(self.path, body, event, not errors, errors, fault.status, "scripted")
                    )
                    self._send(fault.status, fault.body or _error_body(fault.status))
                    return
                if receiver._rate_limited():
                    receiver._record(
                        RecordedRequest(self.path, body, event, not errors, errors, 429, "rate limit")
                    )
                    self._send(429, _error_body(429))
                    return
                if errors:
                    receiver._record(RecordedRequest(self.path, body, event, False, errors, 400))
                    self._send(
                        400,
                        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                    )
                    return
                receiver._record(RecordedRequest(self.path, body, event, True, [], 202))
                self._send(202, _success(event))

            def _send(self, status: int, body: dict[str, Any], quiet: bool = False) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    if not quiet:
                        raise

        return Handler


def _success(event: Any) -> dict[str, Any]:
    key = event.get("dedup_key") if isinstance(event, dict) else None
    return {"status": "success", "message": "Event processed", "dedup_key": key or uuid.uuid4().hex}


def _error_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"status": "throttle event", "message": "Requests for this service are arriving too quickly."}
    if status >= 500:
        return {"status": "internal error", "message": "Internal server error"}
    return {"status": "invalid event", "message": "Event object is invalid", "errors": [f"scripted {status}"]}


# --- alerts, as PagerDuty groups events into them ---------------------------------------------------------

AlertAction = Literal["opened", "updated", "resolved", "acknowledged", "no open alert"]


@dataclass
class Alert:
    """A PagerDuty alert: opened by a trigger, updated by later triggers with its key, closed by a resolve."""

    number: int
    dedup_key: str
    detection: str | None  # payload.class of the trigger that opened it
    summary: str
    requests: list[int] = field(default_factory=list)  # indexes (in the request log) of events applied to it
    resolved: bool = False

    @property
    def triggers(self) -> int:
        return len(self.requests) - (1 if self.resolved else 0)


@dataclass(frozen=True)
class AlertView:
    """The alerts a request log produced, and for each request what it did (None: PagerDuty refused it)."""

    alerts: tuple[Alert, ...]
    actions: tuple[tuple[Alert | None, AlertAction] | None, ...]

    def alert_of(self, index: int) -> Alert | None:
        action = self.actions[index]
        return action[0] if action else None


def account_alerts(requests: Sequence[RecordedRequest]) -> AlertView:
    """Replay accepted events (valid, 202) as PagerDuty's Events API v2 documents dedup_key grouping: a
    trigger whose key names an open alert updates it; otherwise (no key, unknown key, or the key's alert
    resolved) it opens a new alert; a resolve closes the open alert with its key; acknowledge keeps it
    open."""
    alerts: list[Alert] = []
    open_by_key: dict[str, Alert] = {}
    actions: list[tuple[Alert | None, AlertAction] | None] = []
    for index, request in enumerate(requests):
        event = request.event
        if not (request.valid and request.response_status == 202 and isinstance(event, dict)):
            actions.append(None)
            continue
        key = event.get("dedup_key")
        current = open_by_key.get(key) if isinstance(key, str) else None
        action = event.get("event_action")
        if action == "trigger":
            if current is None:
                payload = event.get("payload", {})
                current = Alert(
                    number=len(alerts) + 1,
                    dedup_key=key if isinstance(key, str) else f"generated-{index}",
                    detection=payload.get("class"),
                    summary=str(payload.get("summary", "")),
                )
                alerts.append(current)
                open_by_key[current.dedup_key] = current
                done: AlertAction = "opened"
            else:
                done = "updated"
        elif current is None:
            actions.append((None, "no open alert"))
            continue
        elif action == "resolve":
            current.resolved = True
            del open_by_key[current.dedup_key]
            done = "resolved"
        else:
            done = "acknowledged"
        current.requests.append(index)
        actions.append((current, done))
    return AlertView(tuple(alerts), tuple(actions))


def incidents_with_several_alerts(
    view: AlertView, incidents: Mapping[str, Iterable[int]]
) -> dict[str, list[Alert]]:
    """Incident name -> its alerts, for each incident whose requests (indexes) opened or updated more than one
    alert: the same incident reached the responder twice."""
    found: dict[str, list[Alert]] = {}
    for name, indexes in incidents.items():
        distinct: dict[int, Alert] = {}
        for index in indexes:
            action = view.actions[index]
            if action is not None and action[0] is not None and action[1] in ("opened", "updated"):
                distinct[action[0].number] = action[0]
        if len(distinct) > 1:
            found[name] = sorted(distinct.values(), key=lambda alert: alert.number)
    return found
