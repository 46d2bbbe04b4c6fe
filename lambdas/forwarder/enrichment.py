"""Pure enrichment: what the CloudTrail evidence behind an alarm says, and where a responder looks next.

No I/O and no environment reads here: evidence.py fetches the records, page.py composes the page from them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypedDict
from urllib.parse import quote

from detections.catalogue import SUMMARY_FIELDS
from detections.suppressions import Suppression, is_suppressed
from lambdas.forwarder.models import AlarmNotification, mapping_or_empty

# CloudTrail delivers to CloudWatch Logs "typically within 5 minutes" of the API call, with a tail of up to
# ~15 minutes under load; the metric (and so the alarm) follows the late event, so the events behind an
# alarm can be up to that much older than its evaluation window. 15 minutes before, 2 after (clock skew).
DELIVERY_DELAY_MARGIN = timedelta(minutes=15)
CLOCK_SKEW_MARGIN = timedelta(minutes=2)

MAX_DISTINCT = 25  # per list in the summary: enough to see the shape, bounded for the 512 KB event limit
MAX_SAMPLES = 5
MAX_SAMPLE_STRING = 32 * 1024
MAX_EVENT_ID_LINKS = 5

_RESOURCE_KEYS = (
    "bucketName",
    "groupId",
    "groupName",
    "name",
    "trailName",
    "keyId",
    "roleName",
    "userName",
    "policyArn",
    "policyName",
    "instanceId",
    "vpcId",
    "networkAclId",
    "routeTableId",
    "internetGatewayId",
    "customerGatewayId",
    "configurationRecorderName",
    "deliveryChannelName",
    "detectorId",
    "accessKeyId",
    "functionName",
    "dBInstanceIdentifier",
    "snapshotId",
    # What the data-store, snapshot, logging and analyzer detections act on (their APIs' own names).
    "tableName",
    "dBClusterIdentifier",
    "dBSnapshotIdentifier",
    "dBClusterSnapshotIdentifier",
    "imageId",
    "fileSystemId",
    "secretId",
    "logGroupName",
    "configRuleName",
    "analyzerName",
    "policyId",
)


# --- evidence --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)


def evaluation_window(
    notification: AlarmNotification,
    *,
    delivery_margin: timedelta = DELIVERY_DELAY_MARGIN,
    skew_margin: timedelta = CLOCK_SKEW_MARGIN,
) -> Window:
    """The span whose CloudTrail events can have moved the alarm: evaluated periods plus delivery delay."""
    end = notification.state_change_time
    start = end - timedelta(seconds=notification.evaluation_window_seconds) - delivery_margin
    return Window(start=start, end=end + skew_margin)


@dataclass
class Evidence:
    """What evidence.py fetched. ``complete`` is False when a bound, the time budget or an error cut it."""

    records: list[dict] = field(default_factory=list)
    complete: bool = True
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0


@dataclass(frozen=True)
class SuppressionOutcome:
    kept: tuple[dict, ...]
    suppressed: tuple[tuple[dict, Suppression], ...]

    @property
    def all_suppressed(self) -> bool:
        return bool(self.suppressed) and not self.kept


def apply_suppressions(
    records: Iterable[dict],
    suppressions: Sequence[Suppression],
    detection_id: str,
    today: datetime | None = None,
) -> SuppressionOutcome:
    day = (today or datetime.now(UTC)).date()
    kept, suppressed = [], []
    for record in records:
        match = is_suppressed(record, suppressions, day, detection_id=detection_id)
        if match is None:
            kept.append(record)
        else:
            suppressed.append((record, match))
    return SuppressionOutcome(tuple(kept), tuple(suppressed))


class Principal(TypedDict):
    """Who made a CloudTrail call, as the page shows it (None: the record does not say)."""

    arn: str | None
    type: str | None
    mfa_used: bool | None
    session_issuer: str | None
    access_key_id: str | None
    user_name: str | None


class EvidenceSummary(TypedDict):
    """The evidence block of the page: counts, time span and bounded most-frequent-first lists."""

    count: int
    first_seen: str | None
    last_seen: str | None
    principals: list[dict[str, object]]  # a Principal plus "events": how many records it made
    source_ips: list[str]
    user_agents: list[str]
    regions: list[str]
    accounts: list[str]
    event_sources: list[str]
    event_names: list[str]
    error_codes: list[str]
    resources: list[str]


def summarize(records: Sequence[Mapping[str, object]]) -> EvidenceSummary:
    """Who did what, when, from where: the evidence block of the page (bounded lists, most frequent first)."""
    times = sorted(t for t in (_str(r.get("eventTime")) for r in records) if t)
    principals: dict[str, Principal] = {}
    principal_counts: Counter[str] = Counter()
    for record in records:
        principal = principal_of(record)
        key = principal["arn"] or principal["type"] or "unknown"
        principal_counts[key] += 1
        principals.setdefault(key, principal)
    return {
        "count": len(records),
        "first_seen": times[0] if times else None,
        "last_seen": times[-1] if times else None,
        "principals": [
            {**principals[key], "events": n} for key, n in principal_counts.most_common(MAX_DISTINCT)
        ],
        "source_ips": _distinct(records, lambda r: r.get("sourceIPAddress")),
        "user_agents": _distinct(records, lambda r: r.get("userAgent")),
        "regions": _distinct(records, lambda r: r.get("awsRegion")),
        "accounts": _distinct(records, lambda r: r.get("recipientAccountId")),
        "event_sources": _distinct(records, lambda r: r.get("eventSource")),
        "event_names": _distinct(records, lambda r: r.get("eventName")),
        "error_codes": _distinct(records, lambda r: r.get("errorCode")),
        "resources": _distinct_many(records, affected_resources),
    }


def principal_of(record: Mapping[str, object]) -> Principal:
    identity = mapping_or_empty(record.get("userIdentity"))
    context = mapping_or_empty(identity.get("sessionContext"))
    attributes = mapping_or_empty(context.get("attributes"))
    issuer = mapping_or_empty(context.get("sessionIssuer"))
    additional = mapping_or_empty(record.get("additionalEventData"))
    mfa = attributes.get("mfaAuthenticated")
    if mfa is None and "MFAUsed" in additional:
        mfa = additional.get("MFAUsed")  # ConsoleLogin reports MFA here, not in the session context
    return {
        "arn": _str(identity.get("arn")),
        "type": _str(identity.get("type")),
        "mfa_used": _truthy(mfa),
        "session_issuer": _str(issuer.get("arn")),
        "access_key_id": _str(identity.get("accessKeyId")),
        "user_name": _str(identity.get("userName")) or _str(additional.get("UserName")),
    }


def affected_resources(record: Mapping[str, object]) -> list[str]:
    params = record.get("requestParameters")
    found: list[str] = []
    if isinstance(params, Mapping):
        for key in _RESOURCE_KEYS:
            value = params.get(key)
            if isinstance(value, str) and value:
                found.append(f"{key}={value}")
    resources = record.get("resources")
    if isinstance(resources, list):
        found.extend(_str(r.get("ARN")) or "" for r in resources if isinstance(r, Mapping) and r.get("ARN"))
    return found


def principal_display(principal: Mapping[str, object]) -> str:
    if principal.get("type") == "Root":
        return "root user"
    arn = _str(principal.get("arn"))
    if arn:
        return arn.split(":", 5)[-1] if ":" in arn else arn  # "user/alice", "assumed-role/Admin/bob"
    return _str(principal.get("user_name")) or _str(principal.get("type")) or "unknown principal"


def account_display(account_id: str, alias: str | None) -> str:
    return f"{alias} ({account_id})" if alias else account_id


def sample_events(records: Sequence[Mapping[str, object]], limit: int = MAX_SAMPLES) -> list[object]:
    return [trim_value(record, MAX_SAMPLE_STRING) for record in records[:limit]]


def trim_value(value: object, max_string: int, max_items: int = 50, depth: int = 0) -> object:
    """A copy of a JSON value with long strings cut and deep or long containers bounded."""
    if isinstance(value, str):
        return (
            value
            if len(value) <= max_string
            else value[:max_string] + f"...[{len(value) - max_string} chars cut]"
        )
    if depth > 8:
        return "[nested too deep: cut]"
    if isinstance(value, Mapping):
        items = list(value.items())
        trimmed = {str(k): trim_value(v, max_string, max_items, depth + 1) for k, v in items[:max_items]}
        if len(items) > max_items:
            trimmed["_cut"] = f"{len(items) - max_items} more keys"
        return trimmed
    if isinstance(value, list):
        out = [trim_value(v, max_string, max_items, depth + 1) for v in value[:max_items]]
        if len(value) > max_items:
            out.append(f"[{len(value) - max_items} more items cut]")
        return out
    return value


# --- deep links ------------------------------------------------------------------------------------------


class ConsolePlace(Protocol):
    """Where a console link points: an alarm notification, a trail event, or a :class:`Place`."""

    @property
    def region(self) -> str: ...
    @property
    def partition(self) -> str: ...


@dataclass(frozen=True)
class Place:
    region: str
    partition: str


def console_base(notification: ConsolePlace) -> str:
    region = notification.region
    if notification.partition == "aws-cn":
        return f"https://{region}.console.amazonaws.cn"
    if notification.partition == "aws-us-gov":
        return f"https://{region}.console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def alarm_link(notification: AlarmNotification) -> str:
    return (
        f"{console_base(notification)}/cloudwatch/home?region={notification.region}"
        f"#alarmsV2:alarm/{quote(notification.alarm_name, safe='')}"
    )


def logs_insights_link(
    notification: ConsolePlace, log_group: str, window: Window, event_ids: Sequence[str]
) -> str:
    """Logs Insights over the window; filtered to the evidence's event ids when we have them."""
    query = "fields @timestamp, eventName, userIdentity.arn, sourceIPAddress, errorCode, eventID"
    if event_ids:
        query += "\n| filter eventID in [" + ", ".join(json.dumps(i) for i in event_ids[:50]) + "]"
    query += "\n| sort @timestamp asc\n| limit 1000"

    # The console keeps its state in a JSURL-like fragment: values URL-encoded with '*' for '%', then the
    # whole "?queryDetail=..." encoded again with '$' for '%'.
    def inner(text: str) -> str:
        return quote(text, safe="").replace("%", "*")

    detail = (
        f"~(end~'{inner(iso_utc(window.end))}~start~'{inner(iso_utc(window.start))}~timeType~'ABSOLUTE~tz~'UTC"
        f"~editorString~'{inner(query)}~source~(~'{inner(log_group)}))"
    )
    fragment = quote("?queryDetail=" + detail, safe="~()'*").replace("%", "$")
    base = f"{console_base(notification)}/cloudwatch/home?region={notification.region}"
    return f"{base}#logsV2:logs-insights{fragment}"


def cloudtrail_event_links(notification: ConsolePlace, event_ids: Sequence[str]) -> list[str]:
    base = f"{console_base(notification)}/cloudtrailv2/home?region={notification.region}#/events"
    return [f"{base}/{quote(event_id, safe='')}" for event_id in event_ids[:MAX_EVENT_ID_LINKS]]


# --- template fields -------------------------------------------------------------------------------------


def summary_fields(
    *, title: str, records: Sequence[Mapping[str, object]], account: str, region: str, count: int
) -> dict[str, str]:
    """Values for the detection's summary_template; "unknown" when the evidence could not say."""
    principals = Counter(principal_display(principal_of(r)) for r in records)
    ips = Counter(_str(r.get("sourceIPAddress")) for r in records if r.get("sourceIPAddress"))
    names = Counter(_str(r.get("eventName")) for r in records if r.get("eventName"))
    values = {
        "title": title,
        "principal": _top(principals),
        "source_ip": _top(ips),
        "account": account,
        "region": region,
        "event_name": _top(names),
        "count": str(count),
    }
    # The catalogue's SUMMARY_FIELDS is the contract templates are checked against: fill exactly those.
    return {name: values[name] for name in SUMMARY_FIELDS}


def _top(counter: Counter) -> str:
    if not counter:
        return "unknown"
    (value, _), *rest = counter.most_common()
    return f"{value} (+{len(rest)} more)" if rest else str(value)


def _distinct(
    records: Iterable[Mapping[str, object]], get: Callable[[Mapping[str, object]], object]
) -> list[str]:
    counts = Counter(v for v in (get(r) for r in records) if isinstance(v, str) and v)
    return [value for value, _ in counts.most_common(MAX_DISTINCT)]


def _distinct_many(
    records: Iterable[Mapping[str, object]], get: Callable[[Mapping[str, object]], list[str]]
) -> list[str]:
    counts = Counter(v for r in records for v in get(r) if v)
    return [value for value, _ in counts.most_common(MAX_DISTINCT)]


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _truthy(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        return True if lowered in ("true", "yes") else False if lowered in ("false", "no") else None
    return None
