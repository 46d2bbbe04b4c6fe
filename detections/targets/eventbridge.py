"""Compile target: CloudWatch Logs filter patterns to EventBridge event patterns over CloudTrail events.

CloudTrail publishes each management event to EventBridge in the region of the call, wrapped in an envelope
whose ``detail`` is the CloudTrail record (``eventbridge_envelope`` builds the same envelope from a record).
``compile_patterns`` turns the engine's parsed form of one or more filter patterns (their union) into an event
pattern over ``detail.*`` that matches exactly the records the filter pattern matches, or raises
``EventBridgeRefusal`` with the reason.

Where the two languages agree (filter-pattern semantics: /work/shared/reference notes §4.2; EventBridge:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html), for a field that
holds a scalar (see ``cloudtrail_fields``):

* ``= "x"`` / ``x*`` / ``*x`` / ``*x*``  ->  ``"x"`` / ``prefix`` / ``suffix`` / ``wildcard`` (strings only in
  both; a missing field or null matches neither).
* ``= *`` (any present string, number or boolean) -> ``exists: true``, which also matches an explicit null, so
  only on fields CloudTrail never writes as null; otherwise ``wildcard: "*"`` on a string field.
* ``!= "x"`` -> ``anything-but``. Both are false on a *missing* field (AZUL #5884 for CloudWatch Logs;
  aws/event-ruler#126 for EventBridge), but ``anything-but`` matches an explicit null and any number or
  boolean, where the filter pattern matches only a string. So ``!=`` compiles only on a non-nullable string
  field.
* ``NOT EXISTS`` -> ``exists: false``: EventBridge also says "absent" for a path that holds an object (no
  leaf there), which the filter pattern calls present; a documented scalar field never holds an object.
* ``IS NULL`` / ``IS TRUE`` / ``IS FALSE`` -> ``[null]`` / ``[true]`` / ``[false]``; numbers -> ``numeric``.
* ``&&`` -> fields of one object (two conditions on one field are merged where the result is exact, e.g. two
  ``anything-but`` lists, else refused); ``||`` -> one field's value list when the alternatives differ in one
  field only, else ``$or``.

Refused: regular expressions, index and wildcard selectors (EventBridge matches any array element; a filter
pattern's ``[0]`` matches only the first), fields whose shape is not documented, conditions that can never
match, and anything over the quotas. The AST has no negation of a group, so "NOT over a group" cannot arise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detections.filter_pattern import (
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
from detections.targets.cloudtrail_fields import field_spec

__all__ = [
    "DETAIL_TYPE_BY_EVENT_TYPE",
    "EVENT_PATTERN_MAX_CHARS",
    "MAX_WILDCARD_RULES_PER_BUS",
    "CompiledEventPattern",
    "EventBridgeRefusal",
    "compile_patterns",
    "eventbridge_envelope",
    "forwarding_patterns",
    "pattern_text",
]

#: CloudTrail ``eventType`` -> the EventBridge ``detail-type`` CloudTrail publishes it under
#: (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html). Other event types
#: (Insights, network activity) are not management events on the default bus and never reach these rules.
DETAIL_TYPE_BY_EVENT_TYPE: dict[str, str] = {
    "AwsApiCall": "AWS API Call via CloudTrail",
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
}

#: EventBridge quota "Event pattern size": 2,048 characters by default (adjustable).
EVENT_PATTERN_MAX_CHARS = 2048
#: EventBridge quota "Rules containing wildcards": 30 rules per event bus, not adjustable
#: (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
MAX_WILDCARD_RULES_PER_BUS = 30
#: EventBridge numeric matching: values in [-5.0e9, 5.0e9] (eb-create-pattern-operators.html, numeric).
_NUMERIC_LIMIT = 5.0e9
#: A guard against patterns whose disjunctive form explodes (each alternative becomes a ``$or`` branch).
MAX_ALTERNATIVES = 64

# API names that read without changing anything: CloudTrail marks their events readOnly=true, and EventBridge
# delivers those only to rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
_READ_ONLY_VERBS = (
    "Get",
    "List",
    "Describe",
    "BatchGet",
    "Head",
    "Lookup",
    "Search",
    "Select",
    "Scan",
    "Query",
)

Path = tuple[str, ...]
Matcher = Any  # a JSON value of an EventBridge value list: a scalar, null or an operator object
Clause = dict[Path, list[Matcher]]


class EventBridgeRefusal(ValueError):
    """The filter pattern has no exact EventBridge equivalent; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CompiledEventPattern:
    """An exact EventBridge event pattern for one or more filter patterns, with what a rule needs to know."""

    pattern: dict[str, Any]
    detail_types: tuple[str, ...]
    needs_read_only_events: bool
    uses_wildcards: bool
    # The disjunctive form the pattern was emitted from, for unions and projections of several patterns.
    clauses: tuple[Clause, ...] = field(default=(), compare=False, repr=False)

    @property
    def text(self) -> str:
        return pattern_text(self.pattern)

    @property
    def size(self) -> int:
        return len(self.text)


def pattern_text(pattern: Mapping[str, Any]) -> str:
    """The compact JSON an EventBridge rule stores; its length is what the pattern-size quota counts."""
    return json.dumps(pattern, separators=(",", ":"), ensure_ascii=False)


def _key(matcher: Matcher) -> str:
    # JSON text as identity: Python's True == 1 and False == 0 would merge distinct JSON values.
    return json.dumps(matcher, sort_keys=True)


def _dedupe(matchers: Iterable[Matcher]) -> list[Matcher]:
    seen: dict[str, Matcher] = {}
    for matcher in matchers:
        seen.setdefault(_key(matcher), matcher)
    return list(seen.values())


# ---------------------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------------------


def _wildcard_escape(text: str) -> str:
    # EventBridge wildcard: '*' matches any run of characters; '\*' and '\\' are a literal star and backslash.
    return text.replace("\\", "\\\\").replace("*", "\\*")


def _condition(condition: JsonCondition) -> tuple[Path, list[Matcher]]:
    selector = condition.selector
    where = f"{selector.text} (position {selector.position})"
    if any(step.kind != "key" for step in selector.steps):
        raise EventBridgeRefusal(
            f"{where}: index or wildcard selector; EventBridge matches any element of an array, a filter "
            "pattern only the element it names"
        )
    path = tuple(str(step.key) for step in selector.steps)
    spec = field_spec(path)
    if spec is None:
        raise EventBridgeRefusal(
            f"{where}: the field's shape is not documented in detections/targets/cloudtrail_fields.py; if it "
            "could hold an array or object the two matchers disagree (add it there with its source)"
        )
    operator, operand = condition.operator, condition.operand
    if isinstance(operand, RegexValue):
        raise EventBridgeRefusal(f"{where}: regular expression; EventBridge has no regex operator")
    if operator == "NOT EXISTS":
        return path, [{"exists": False}]
    if operator == "IS NULL":
        return path, [None]
    if operator in ("IS TRUE", "IS FALSE"):
        if spec.type != "boolean":
            raise EventBridgeRefusal(f"{where}: {operator} on a {spec.type} field never matches")
        return path, [operator == "IS TRUE"]
    if isinstance(operand, NumberValue):
        return path, [_numeric(where, spec.type, operator, operand)]
    assert isinstance(operand, StringValue)
    return path, [_string(where, spec.type, spec.nullable, operator, operand)]


def _numeric(where: str, field_type: str, operator: str, operand: NumberValue) -> Matcher:
    if field_type != "number":
        raise EventBridgeRefusal(f"{where}: a numeric comparison on a {field_type} field never matches")
    if abs(operand.value) > _NUMERIC_LIMIT:
        raise EventBridgeRefusal(f"{where}: {operand.text} is outside EventBridge's numeric range ±5.0e9")
    if operator == "!=":
        return {"anything-but": [operand.value]}
    return {"numeric": [operator, operand.value]}


def _string(where: str, field_type: str, nullable: bool, operator: str, operand: StringValue) -> Matcher:
    mode, core = operand.mode, operand.core
    if operator == "=" and mode == "any":
        if not nullable:
            return {"exists": True}
        if field_type == "string":
            return {"wildcard": "*"}
        raise EventBridgeRefusal(f"{where}: '= *' on a nullable {field_type} field has no exact equivalent")
    if mode == "any":  # != *
        raise EventBridgeRefusal(f"{where}: '!= *' never matches")
    if field_type != "string":
        raise EventBridgeRefusal(f"{where}: a string comparison on a {field_type} field never matches")
    matcher: Matcher
    if mode == "exact":
        matcher = core
    elif mode == "prefix":
        matcher = {"prefix": core}
    elif mode == "suffix":
        matcher = {"suffix": core}
    else:
        matcher = {"wildcard": f"*{_wildcard_escape(core)}*"}
    if operator == "=":
        return matcher
    if nullable:
        raise EventBridgeRefusal(
            f"{where}: '!=' on a field CloudTrail may write as null; anything-but matches null, the filter "
            "pattern does not"
        )
    return {"anything-but": [matcher] if mode == "exact" else matcher}


# ---------------------------------------------------------------------------------------------------------
# Boolean structure: a disjunction of clauses, each an AND over fields of an OR over one field's values
# ---------------------------------------------------------------------------------------------------------


def _is_value(matcher: Matcher) -> bool:
    return not isinstance(matcher, dict)


def _anything_but_values(matchers: list[Matcher]) -> list[Matcher] | None:
    if len(matchers) == 1 and isinstance(matchers[0], dict) and set(matchers[0]) == {"anything-but"}:
        excluded = matchers[0]["anything-but"]
        if isinstance(excluded, list):
            return excluded
    return None


def _and_field(path: Path, left: list[Matcher], right: list[Matcher]) -> list[Matcher]:
    """Both value lists must hold for one field; EventBridge has one list per field, so merge or refuse."""
    if {_key(m) for m in left} == {_key(m) for m in right}:
        return left
    merged: list[Matcher] | None = None
    left_but, right_but = _anything_but_values(left), _anything_but_values(right)
    if all(map(_is_value, left)) and all(map(_is_value, right)):
        allowed = {_key(m) for m in right}
        merged = [m for m in left if _key(m) in allowed]
    elif all(map(_is_value, left)) and right_but is not None:
        merged = [m for m in left if _key(m) not in {_key(x) for x in right_but}]
    elif all(map(_is_value, right)) and left_but is not None:
        merged = [m for m in right if _key(m) not in {_key(x) for x in left_but}]
    elif left_but is not None and right_but is not None:
        return [{"anything-but": _dedupe([*left_but, *right_but])}]
    field = ".".join(path)
    if merged is None:
        raise EventBridgeRefusal(
            f"two conditions on $.{field} that one EventBridge value list cannot express: "
            f"{json.dumps(left)} and {json.dumps(right)}"
        )
    if not merged:
        raise EventBridgeRefusal(
            f"the conditions on $.{field} contradict each other; the pattern never matches"
        )
    return merged


def _and(left: Clause, right: Clause) -> Clause:
    result = dict(left)
    for path, matchers in right.items():
        result[path] = _and_field(path, result[path], matchers) if path in result else matchers
    return result


def _implies(stronger: Clause, weaker: Clause) -> bool:
    """Every event matching ``stronger`` matches ``weaker`` (each of weaker's fields is looser or equal)."""
    for path, matchers in weaker.items():
        if path not in stronger:
            return False
        allowed = {_key(m) for m in matchers}
        if not all(_key(m) in allowed for m in stronger[path]):
            return False
    return True


def _merge_one_field(a: Clause, b: Clause) -> Clause | None:
    """a OR b as one clause when they differ in the value list of one field only."""
    if a.keys() != b.keys():
        return None
    different = [path for path in a if {_key(m) for m in a[path]} != {_key(m) for m in b[path]}]
    if len(different) != 1:
        return None
    (path,) = different
    return {**a, path: _dedupe([*a[path], *b[path]])}


def _simplify(clauses: list[Clause]) -> list[Clause]:
    changed = True
    while changed:
        changed = False
        for i, a in enumerate(clauses):
            for j, b in enumerate(clauses):
                if i == j:
                    continue
                if _implies(b, a):  # b is redundant
                    del clauses[j]
                    changed = True
                    break
                merged = _merge_one_field(a, b)
                if merged is not None:
                    clauses[i] = merged
                    del clauses[j]
                    changed = True
                    break
            if changed:
                break
    return clauses


def _clauses(expression: JsonExpr) -> list[Clause]:
    if isinstance(expression, JsonCondition):
        path, matchers = _condition(expression)
        return [{path: matchers}]
    if isinstance(expression, JsonOr):
        return _simplify([clause for item in expression.items for clause in _clauses(item)])
    if isinstance(expression, JsonAnd):
        result: list[Clause] = [{}]
        for item in expression.items:
            alternatives = _clauses(item)
            if len(result) * len(alternatives) > MAX_ALTERNATIVES:
                raise EventBridgeRefusal(
                    f"more than {MAX_ALTERNATIVES} alternatives after distributing && over ||"
                )
            combined: list[Clause] = []
            for left in result:
                for right in alternatives:
                    try:
                        combined.append(_and(left, right))
                    except EventBridgeRefusal as refusal:
                        if "never matches" not in refusal.reason or len(result) * len(alternatives) == 1:
                            raise
                        # A contradictory combination contributes nothing to the disjunction.
            if not combined:
                raise EventBridgeRefusal("the pattern's conditions contradict each other; it never matches")
            result = _simplify(combined)
        return result
    raise EventBridgeRefusal(f"unsupported expression {type(expression).__name__}")


# ---------------------------------------------------------------------------------------------------------
# Emission
# ---------------------------------------------------------------------------------------------------------


def _nest(entries: Iterable[tuple[Path, list[Matcher]]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, matchers in sorted(entries, key=lambda entry: entry[0]):
        node = root
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = matchers
    return root


def _detail(clauses: Sequence[Clause]) -> dict[str, Any]:
    first = clauses[0]
    common = [
        (path, matchers)
        for path, matchers in first.items()
        if all(path in c and {_key(m) for m in c[path]} == {_key(m) for m in matchers} for c in clauses)
    ]
    common_paths = {path for path, _ in common}
    rests = [[(p, m) for p, m in c.items() if p not in common_paths] for c in clauses]
    detail = _nest(common)
    if len(clauses) > 1 and all(rests):
        detail["$or"] = [_nest(rest) for rest in rests]
    return detail


def _admits(matchers: list[Matcher], value: str) -> bool:
    """Whether a value list can admit the string ``value`` (exact values and anything-but lists decide;
    any other operator is assumed to admit it, which only widens the detail-types a rule listens to)."""
    for matcher in matchers:
        if _is_value(matcher):
            if matcher == value:
                return True
        elif set(matcher) == {"anything-but"} and isinstance(matcher["anything-but"], list):
            if value not in matcher["anything-but"]:
                return True
        else:
            return True
    return False


def _detail_types(clauses: Sequence[Clause]) -> tuple[str, ...]:
    needed = {
        detail_type
        for clause in clauses
        for event_type, detail_type in DETAIL_TYPE_BY_EVENT_TYPE.items()
        if ("eventType",) not in clause or _admits(clause[("eventType",)], event_type)
    }
    return tuple(dt for dt in DETAIL_TYPE_BY_EVENT_TYPE.values() if dt in needed)


def _needs_read_only(clause: Clause) -> bool:
    read_only = clause.get(("readOnly",))
    if read_only is not None and all(m is False for m in read_only):
        return False
    names = clause.get(("eventName",))
    if names is None:
        return True
    for matcher in names:
        name = (
            matcher
            if isinstance(matcher, str)
            else matcher.get("prefix")
            if isinstance(matcher, dict)
            else None
        )
        if not isinstance(name, str) or name.startswith(_READ_ONLY_VERBS):
            return True
    return False


def _uses_wildcards(value: Any) -> bool:
    if isinstance(value, dict):
        return "wildcard" in value or any(_uses_wildcards(v) for v in value.values())
    if isinstance(value, list):
        return any(_uses_wildcards(v) for v in value)
    return False


def compile_patterns(patterns: Sequence[str]) -> CompiledEventPattern:
    """The exact EventBridge equivalent of the union of filter patterns (a detection's ``all_patterns``)."""
    clauses: list[Clause] = []
    for text in patterns:
        try:
            parsed = compile_pattern(text)
        except FilterPatternError as error:
            raise EventBridgeRefusal(f"invalid filter pattern: {error}") from error
        if parsed.json_expression is None:
            raise EventBridgeRefusal(f"a {parsed.kind} filter pattern; only JSON patterns ({{...}}) compile")
        clauses.extend(_clauses(parsed.json_expression))
    compiled = _emit(_simplify(clauses))
    if compiled.size > EVENT_PATTERN_MAX_CHARS:
        raise EventBridgeRefusal(
            f"the event pattern is {compiled.size} characters; EventBridge's default quota is "
            f"{EVENT_PATTERN_MAX_CHARS} (shorten the pattern or raise the 'Event pattern size' quota)"
        )
    return compiled


def _emit(clauses: list[Clause]) -> CompiledEventPattern:
    detail_types = _detail_types(clauses)
    if not detail_types:
        raise EventBridgeRefusal("the pattern admits no event type CloudTrail publishes to EventBridge")
    detail = _detail(clauses)
    pattern: dict[str, Any] = {"detail-type": list(detail_types)}
    if detail:
        pattern["detail"] = detail
    return CompiledEventPattern(
        pattern=pattern,
        detail_types=detail_types,
        needs_read_only_events=any(_needs_read_only(c) for c in clauses),
        uses_wildcards=_uses_wildcards(pattern),
        clauses=tuple(clauses),
    )


#: Fields a forwarding pattern keeps: dropping a clause's other conditions only widens it.
_ROUTING_FIELDS = frozenset({("eventSource",), ("eventName",), ("userIdentity", "type"), ("eventType",)})


def forwarding_patterns(compiled: Sequence[CompiledEventPattern]) -> list[CompiledEventPattern]:
    """The fewest patterns, each within the size quota, that together match every event ``compiled`` match.

    For the rules that forward another region's events to the home region. Each alternative keeps only its
    routing fields (event source and name, identity type, event type): a superset, which the home region's
    per-detection rules narrow exactly. Alternatives that need read-only events go to their own rules, so only
    those rules listen to every read-only call of the region. The exact union would be several times the
    2,048-character quota, hence several patterns rather than one.
    """
    groups: dict[bool, list[Clause]] = {True: [], False: []}
    for one in compiled:
        for clause in one.clauses:
            groups[_needs_read_only(clause)].append(
                {path: matchers for path, matchers in clause.items() if path in _ROUTING_FIELDS}
            )
    patterns: list[CompiledEventPattern] = []
    for clauses in (groups[True], groups[False]):
        batch: list[Clause] = []
        for clause in _simplify(clauses):
            if batch and _emit(_simplify([*batch, clause])).size > EVENT_PATTERN_MAX_CHARS:
                patterns.append(_emit(_simplify(batch)))
                batch = []
            batch.append(clause)
            if _emit([clause]).size > EVENT_PATTERN_MAX_CHARS:
                raise EventBridgeRefusal(
                    f"one alternative alone exceeds the {EVENT_PATTERN_MAX_CHARS}-character pattern quota: "
                    f"{pattern_text(_emit([clause]).pattern)[:200]}..."
                )
        if batch:
            patterns.append(_emit(_simplify(batch)))
    return patterns


def eventbridge_envelope(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The EventBridge event CloudTrail publishes for ``record``; None for event types it does not publish.

    Shape from events-ref-cloudtrail.html: ``source`` is "aws." + the service prefix of ``eventSource``
    (``iam.amazonaws.com`` -> ``aws.iam``), ``detail`` is the record unchanged.
    """
    detail_type = DETAIL_TYPE_BY_EVENT_TYPE.get(str(record.get("eventType")))
    if detail_type is None:
        return None
    event_source = str(record.get("eventSource", ""))
    identity = record.get("userIdentity")
    account = record.get("recipientAccountId") or (
        identity.get("accountId") if isinstance(identity, Mapping) else None
    )
    return {
        "version": "0",
        "id": str(record.get("eventID", "")),
        "detail-type": detail_type,
        "source": f"aws.{event_source.split('.', 1)[0]}",
        "account": str(account or ""),
        "time": str(record.get("eventTime", "")),
        "region": str(record.get("awsRegion", "")),
        "resources": [],
        "detail": dict(record),
    }
