"""``investigate``: who did what, when, from where. The query model, as pure functions.

Every filter of the command compiles into ONE CloudWatch Logs filter pattern, written in the language of our
engine (``detections.filter_pattern``). The same compiled pattern decides locally (trail files, S3 objects,
Event History results) and is sent as ``filterPattern`` to FilterLogEvents, so every source answers the same
question. Detection patterns and ``--pattern`` are combined from their parsed form (``json_expression``),
rendered back to text by :func:`render_json`, never by pasting their source text.

The time range is not part of the pattern (a filter pattern cannot compare timestamps): it is the
StartTime/EndTime of the API calls, the date prefixes of the trail files, and a local ``eventTime`` check.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from detections.filter_pattern import (
    FilterPattern,
    FilterPatternError,
    JsonAnd,
    JsonCondition,
    JsonExpr,
    JsonOr,
    NumberValue,
    RegexValue,
    StringValue,
    compile_pattern,
)
from lambdas.forwarder.enrichment import affected_resources, principal_of

#: CloudTrail Event History keeps management events of the last 90 days (LookupEvents).
EVENT_HISTORY_DAYS = 90
DEFAULT_RANGE = timedelta(hours=24)

_RELATIVE = re.compile(r"(\d+)([smhdw])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Access key ids: AKIA (long-term) and ASIA (temporary), 16 or more upper-case alphanumerics in all.
_ACCESS_KEY_ID = re.compile(r"(AKIA|ASIA)[A-Z0-9]{12,124}\Z")
# CloudTrail's eventTime: "2026-11-24T10:02:03Z". Strings of this shape order like the instants they name.
_EVENT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class UsageError(ValueError):
    """Bad input, named by its option, with the fix. The command prints it and exits with status 2."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")


# ---------------------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------------------


def parse_time(text: str, option: str, now: datetime) -> datetime:
    """``7d``, ``36h``, ``90m``, ``2w`` (before ``now``) or ISO 8601 (naive: UTC); an aware UTC datetime."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        return now - timedelta(seconds=int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)])
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            option,
            f"{text!r} is neither a relative time (7d, 36h, 90m, 2w) nor ISO 8601 (2026-11-24 or "
            "2026-11-24T10:00:00Z); use one of those forms",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @functools.cached_property
    def start_text(self) -> str:
        return self.start.strftime(_EVENT_TIME_FORMAT)

    @functools.cached_property  # computed once: contains_event_time runs for every record
    def end_text(self) -> str:
        return self.end.strftime(_EVENT_TIME_FORMAT)

    def contains_event_time(self, event_time: object) -> bool:
        """Whether a record's ``eventTime`` is in [start, end] (string order; eventTime is second-precise)."""
        return isinstance(event_time, str) and self.start_text <= event_time[:19] + "Z" <= self.end_text

    def days(self) -> list[datetime]:
        """Every UTC day the range touches (for the trail's YYYY/MM/DD prefixes)."""
        day = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        found = []
        while day <= self.end:
            found.append(day)
            day += timedelta(days=1)
        return found


def time_range(since: str | None, until: str | None, now: datetime) -> TimeRange:
    end = parse_time(until, "--until", now) if until else now
    start = parse_time(since, "--since", now) if since else end - DEFAULT_RANGE
    if start >= end:
        raise UsageError(
            "--since",
            f"{start:%Y-%m-%dT%H:%M:%SZ} is not before --until {end:%Y-%m-%dT%H:%M:%SZ}, so the range is "
            "empty; give a --since earlier than --until",
        )
    return TimeRange(start, end)


# ---------------------------------------------------------------------------------------------------------
# Filters -> one filter pattern
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the user asked for; each field is one command-line option (lists: repeated options, OR'ed)."""

    event_names: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    source_ips: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    detection_patterns: tuple[FilterPattern, ...] = ()
    pattern: FilterPattern | None = None


@dataclass(frozen=True)
class Query:
    filters: Filters
    patterns: tuple[FilterPattern, ...]  # their union; one pattern unless a detection needs more (see below)
    time: TimeRange

    def matches(self, record: Mapping[str, object]) -> bool:
        if not self.time.contains_event_time(record.get("eventTime")):
            return False
        patterns = self.patterns
        if len(patterns) == 1:
            return patterns[0].matches_json(record)
        return any(pattern.matches_json(record) for pattern in patterns)


def quote(value: str) -> str:
    """A double-quoted filter-pattern string (only \\" and \\\\ are escapes in the engine and in AWS)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def is_access_key_id(value: str) -> bool:
    return _ACCESS_KEY_ID.match(value) is not None


def principal_condition(value: str) -> str:
    """An ARN (the caller, or the role/user that issued its session), an access key id, or a name."""
    if value.startswith("arn:"):
        return (
            f"$.userIdentity.arn = {quote(value)} || "
            f"$.userIdentity.sessionContext.sessionIssuer.arn = {quote(value)}"
        )
    if is_access_key_id(value):
        return f"$.userIdentity.accessKeyId = {quote(value)}"
    return (
        f"$.userIdentity.userName = {quote(value)} || "
        f"$.userIdentity.sessionContext.sessionIssuer.userName = {quote(value)} || "
        f"$.userIdentity.arn = {quote('*/' + value)}"
    )


def resource_condition(value: str) -> str:
    """In ``resources[].ARN`` or a top-level request parameter: an ARN exactly, a name as the ARN's tail."""
    in_arn = quote(value) if value.startswith("arn:") else quote("*/" + value)
    return f"$.resources[*].ARN = {in_arn} || $.requestParameters.* = {quote(value)}"


def _any_of(selector: str, values: Sequence[str]) -> str:
    return " || ".join(f"{selector} = {quote(v)}" for v in values)


def render_json(expression: JsonExpr) -> str:
    """Filter-pattern text of a parsed JSON expression (inside the braces); compiles back to the same AST."""
    if isinstance(expression, JsonCondition):
        selector = expression.selector.text
        operand = expression.operand
        if operand is None:
            return f"{selector} {expression.operator}"
        return f"{selector} {expression.operator} {_render_operand(operand)}"
    joiner = " && " if isinstance(expression, JsonAnd) else " || "
    return joiner.join(
        f"({render_json(item)})" if isinstance(item, JsonAnd | JsonOr) else render_json(item)
        for item in expression.items
    )


def _render_operand(operand: StringValue | NumberValue | RegexValue) -> str:
    if isinstance(operand, StringValue):
        return quote(operand.text) if operand.quoted else operand.text
    if isinstance(operand, NumberValue):
        return operand.text
    return f"%{operand.source}%"


def _json_part(pattern: FilterPattern, option: str) -> str:
    if pattern.json_expression is None:
        raise UsageError(
            option,
            f"{pattern.source!r} is a {pattern.kind} pattern; only JSON patterns ({{ $.field = value }}) "
            "combine with other filters into one filter pattern. Use a JSON pattern, or give it alone",
        )
    return render_json(pattern.json_expression)


def compile_filters(filters: Filters) -> tuple[FilterPattern, ...]:
    """AND of every option given (values of one option OR'ed) as one filter pattern.

    One pattern whenever CloudWatch Logs accepts it. A detection whose patterns OR'ed together exceed a
    pattern's limits (1,024 characters) becomes one pattern per detection pattern, each AND'ed with the
    other filters: their union is the same question (FilterLogEvents is then called once per pattern).
    """
    parts: list[str] = []
    if filters.event_names:
        parts.append(_any_of("$.eventName", filters.event_names))
    parts.extend(resource_condition(v) for v in filters.resources)
    if filters.principals:
        parts.append(" || ".join(principal_condition(v) for v in filters.principals))
    if filters.source_ips:
        parts.append(_any_of("$.sourceIPAddress", filters.source_ips))
    if filters.accounts:
        parts.append(_any_of("$.recipientAccountId", filters.accounts))
    if filters.regions:
        parts.append(_any_of("$.awsRegion", filters.regions))
    if filters.pattern is not None:
        if not parts and not filters.detection_patterns:
            return (filters.pattern,)  # alone, any dialect works: it is sent and matched as given
        parts.append(_json_part(filters.pattern, "--pattern"))
    alternatives = [_json_part(p, "--detection") for p in filters.detection_patterns]
    if not parts and not alternatives:
        return (compile_pattern(""),)
    if alternatives:
        try:
            return (_compile_and([*parts, " || ".join(f"({a})" for a in alternatives)]),)
        except UsageError:
            if len(alternatives) == 1:
                raise
        return tuple(_compile_and([*parts, alternative]) for alternative in alternatives)
    return (_compile_and(parts),)


def _compile_and(parts: Sequence[str]) -> FilterPattern:
    text = "{ " + " && ".join(f"({part})" for part in parts) + " }"
    try:
        return compile_pattern(text)
    except FilterPatternError as error:
        raise UsageError(
            "filters",
            f"together they make a filter pattern CloudWatch Logs would reject ({error.reason}, at position "
            f"{error.position} of {text!r}); give fewer values (patterns allow 1,024 characters and three "
            "wildcard selectors: --resource uses two)",
        ) from error


def parse_pattern_option(text: str) -> FilterPattern:
    try:
        return compile_pattern(text)
    except FilterPatternError as error:
        pointer = " " * error.position + "^"
        raise UsageError(
            "--pattern",
            f"invalid filter pattern at position {error.position}: {error.reason}\n  {text}\n  {pointer}\n"
            "fix the pattern (see README, Filter patterns)",
        ) from None


# ---------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------

COLUMNS = (
    "time",
    "principal",
    "type",
    "mfa",
    "session_issuer",
    "event",
    "result",
    "account",
    "region",
    "source_ip",
    "user_agent",
    "resources",
)


def row_of(record: Mapping[str, object]) -> dict[str, str]:
    """One output row: when, who, what, where, on which resources (the page's own principal and resources)."""
    principal = principal_of(record)
    mfa = principal["mfa_used"]
    return {
        "time": _text(record.get("eventTime")),
        "principal": principal["arn"] or principal["user_name"] or "-",
        "type": principal["type"] or "-",
        "mfa": "-" if mfa is None else ("yes" if mfa else "no"),
        "session_issuer": principal["session_issuer"] or "-",
        "event": _text(record.get("eventName")),
        "result": _text(record.get("errorCode")) if record.get("errorCode") else "Success",
        "account": _text(record.get("recipientAccountId")),
        "region": _text(record.get("awsRegion")),
        "source_ip": _text(record.get("sourceIPAddress")),
        "user_agent": _text(record.get("userAgent")),
        "resources": " ".join(affected_resources(record)) or "-",
    }


def _text(value: object) -> str:
    return value if isinstance(value, str) and value else "-"
