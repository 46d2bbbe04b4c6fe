"""Sigma rules (AWS CloudTrail) -> our rule files, through the filter-pattern engine's parsed form.

Development/CLI only: this module imports ``pysigma``, which the forwarder Lambda never imports (the Lambda
imports ``detections.catalogue`` and ``detections.filter_pattern``, never this module).

Pipeline, per Sigma rule:

1. pySigma parses the YAML and its condition into a tree (AND/OR/NOT over field = value expressions; the
   ``contains``/``startswith``/``endswith``/``all`` modifiers and ``1 of``/``all of`` are already expanded).
2. :func:`_to_expr` maps that tree onto a small boolean form (:class:`Leaf`, :class:`AllOf`, :class:`AnyOf`)
   with ``not`` pushed down to the leaves (De Morgan), refusing what a filter pattern cannot express.
3. :func:`_to_json_expr` builds the engine's AST (JsonCondition / JsonAnd / JsonOr); :func:`render` writes it
   as pattern text; ``compile_pattern`` must accept that text (1024 characters, regex dialect and counts,
   wildcard quotas) and parse it back into the same AST (:func:`shape`) or the rule is refused.
4. Cases are generated from the boolean form: one positive per disjunct (up to :data:`MAX_POSITIVES`) and,
   for the first positive, one near-miss per condition that violates just that condition.

Semantics the conversion keeps exact (checked by the differential test against pySigma's SQLite backend):

* ``not field = v`` is true in Sigma when the field is absent; a filter pattern's ``!=`` is false on an absent
  field, so a negated condition becomes ``($.f != v || $.f NOT EXISTS)``.
* ``field: null`` means null or absent: ``($.f IS NULL || $.f NOT EXISTS)``.
* ``cidr`` only on IPv4 octet boundaries (/0, /8, /16, /24, /32), where it is a string prefix; anything else
  would need a regex (5 per log group) and is refused.
* Sigma matches strings case-insensitively; CloudWatch Logs matches them case-sensitively. CloudTrail writes
  API names, sources and identity types in one fixed case, so the rules keep the case the Sigma rule gives;
  the differential test on real records is what shows whether that holds for a rule.

Severity from Sigma ``level``: critical -> critical, high -> error, medium -> warning, low and
informational -> info (PagerDuty severities, as the catalogue defines them).
"""

from __future__ import annotations

import ipaddress
import json
import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # stdlib regex parser, for sample strings
from collections.abc import Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from detections.filter_pattern import (
    FilterPattern,
    FilterPatternError,
    JsonAnd,
    JsonCondition,
    JsonExpr,
    JsonOperator,
    JsonOr,
    NumberValue,
    Operand,
    RegexValue,
    Selector,
    Step,
    StringValue,
    compile_pattern,
)

SEVERITY_BY_LEVEL: dict[str, str] = {
    "critical": "critical",
    "high": "error",
    "medium": "warning",
    "low": "info",
    "informational": "info",
}
MAX_POSITIVES = 8
MAX_NEAR_MISSES = 12
MIN_CASES = 3  # the catalogue's floor: three positives and three near-misses per built-in detection
ID_MAX_CHARS = 60  # the rule files' id limit (detections/rules loader)
MAX_DISJUNCTS = 256

_SELECTOR_PART = re.compile(r"[A-Za-z0-9_\-]+\Z")
_COMPARE_OPERATORS: dict[Any, JsonOperator] = {
    SigmaCompareExpression.CompareOperators.LT: "<",
    SigmaCompareExpression.CompareOperators.LTE: "<=",
    SigmaCompareExpression.CompareOperators.GT: ">",
    SigmaCompareExpression.CompareOperators.GTE: ">=",
}
_NEGATED_COMPARISON: dict[str, JsonOperator] = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


class Refusal(Exception):
    """A Sigma rule (or a condition of it) that a CloudWatch Logs filter pattern cannot express exactly."""


# ---------------------------------------------------------------------------------------------------------
# Boolean form
# ---------------------------------------------------------------------------------------------------------

LeafKind = Literal["string", "regex", "number", "null", "compare", "absent", "bool"]


@dataclass(frozen=True)
class Leaf:
    """One field condition. ``value``: wildcard text (``*`` only at the ends), regex source or number."""

    field: str
    kind: LeafKind
    value: str | int | float | None
    negated: bool = False
    operator: JsonOperator = "="  # for "compare"

    def negate(self) -> Leaf:
        return Leaf(self.field, self.kind, self.value, not self.negated, self.operator)

    def describe(self) -> str:
        if self.kind == "absent":
            return f"{self.field} {'exists' if self.negated else 'is absent'}"
        shown = {"null": "null", "regex": f"/{self.value}/"}.get(self.kind, json.dumps(self.value))
        operator = self.operator if self.kind == "compare" else "="
        return f"{'not ' if self.negated else ''}{self.field} {operator} {shown}"


@dataclass(frozen=True)
class AllOf:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Expr, ...]


Expr = Leaf | AllOf | AnyOf


def _negate(expr: Expr) -> Expr:
    if isinstance(expr, Leaf):
        return expr.negate()
    if isinstance(expr, AllOf):
        return AnyOf(tuple(_negate(item) for item in expr.items))
    return AllOf(tuple(_negate(item) for item in expr.items))


def _to_expr(node: object, negated: bool = False) -> Expr:
    if isinstance(node, ConditionNOT):
        return _to_expr(node.args[0], not negated)
    if isinstance(node, ConditionAND | ConditionOR):
        items = tuple(_to_expr(arg) for arg in node.args)
        expr: Expr = AllOf(items) if isinstance(node, ConditionAND) else AnyOf(items)
        return _negate(expr) if negated else expr
    if isinstance(node, ConditionValueExpression):
        raise Refusal(
            "keyword search (a value without a field): a JSON filter pattern can only test fields; "
            "name the CloudTrail field the keyword is expected in"
        )
    if isinstance(node, ConditionFieldEqualsValueExpression):
        leaf = _leaf(node.field, node.value)
        return leaf.negate() if negated else leaf
    raise Refusal(f"condition element {type(node).__name__} has no filter-pattern equivalent")


# Top-level fields of a CloudTrail record ("CloudTrail record contents", AWS CloudTrail User Guide:
# https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
CLOUDTRAIL_FIELDS = frozenset(
    [
        "eventTime",
        "eventVersion",
        "userIdentity",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "requestID",
        "eventID",
        "eventType",
        "apiVersion",
        "managementEvent",
        "readOnly",
        "resources",
        "recipientAccountId",
        "serviceEventDetails",
        "sharedEventID",
        "vpcEndpointId",
        "vpcEndpointAccountId",
        "eventCategory",
        "addendum",
        "sessionCredentialFromConsole",
        "edgeDeviceDetails",
        "tlsDetails",
        "insightDetails",
    ]
)
# Fields that hold an object or an array: "If a property selector points to an array or object, the filter
# pattern won't match" (filter pattern syntax), so a string or number condition on one can never fire.
CLOUDTRAIL_OBJECT_FIELDS = frozenset(
    [
        "userIdentity",
        "userIdentity.sessionContext",
        "userIdentity.sessionContext.attributes",
        "userIdentity.sessionContext.sessionIssuer",
        "userIdentity.sessionContext.webIdFederationData",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "serviceEventDetails",
        "resources",
        "tlsDetails",
        "edgeDeviceDetails",
        "insightDetails",
        "addendum",
    ]
)


def _check_field(field_name: str, value: object) -> None:
    top = field_name.split(".")[0]
    if top not in CLOUDTRAIL_FIELDS:
        raise Refusal(
            f"field {field_name!r}: {top!r} is not a field of a CloudTrail record, so the condition can "
            "never hold on one; the rule was written for another log shape"
        )
    if field_name in CLOUDTRAIL_OBJECT_FIELDS and not isinstance(value, SigmaNull):
        raise Refusal(
            f"field {field_name!r} holds an object in CloudTrail records, and a filter pattern never matches "
            "an object against a value; name the field inside it (e.g. requestParameters.<name>)"
        )


def _leaf(field_name: str, value: object) -> Leaf:
    _selector_steps(field_name)  # refuse field names a selector cannot address, early
    _check_field(field_name, value)
    if isinstance(value, SigmaString):
        return Leaf(field_name, "string", _wildcard_text(field_name, value))
    if isinstance(value, SigmaNumber):
        return Leaf(field_name, "number", value.number)
    if isinstance(value, SigmaNull):
        return Leaf(field_name, "null", None)
    if isinstance(value, SigmaRegularExpression):
        if value.flags:
            flags = ", ".join(sorted(str(flag.name).lower() for flag in value.flags))
            raise Refusal(
                f"{field_name}|re with flags ({flags}): CloudWatch regular expressions have no flags"
            )
        return Leaf(field_name, "regex", cloudwatch_regex(str(value.regexp.to_plain())))
    if isinstance(value, SigmaCIDRExpression):
        return Leaf(field_name, "string", _cidr_text(field_name, value.cidr))
    if isinstance(value, SigmaBool):
        return Leaf(field_name, "bool", value.boolean)
    if isinstance(value, SigmaExists):
        # Sigma's exists tests presence (a null value is present), which is exactly NOT EXISTS.
        return Leaf(field_name, "absent", None, negated=value.exists)
    if isinstance(value, SigmaCompareExpression):
        return Leaf(field_name, "compare", value.number.number, operator=_COMPARE_OPERATORS[value.op])
    raise Refusal(f"{field_name}: a {type(value).__name__} value (modifier) has no filter-pattern equivalent")


def _wildcard_text(field_name: str, value: SigmaString) -> str:
    parts = list(value.s)
    if any(part is SpecialChars.WILDCARD_SINGLE for part in parts):
        raise Refusal(
            f"{field_name}: value {value} uses '?' (one character); filter patterns have no such wildcard"
        )
    starts = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
    ends = len(parts) > 1 and parts[-1] is SpecialChars.WILDCARD_MULTI
    inner = parts[(1 if starts else 0) : (len(parts) - 1 if ends else len(parts))]
    if starts and len(parts) == 1:
        return "*"
    if any(not isinstance(part, str) for part in inner):
        raise Refusal(
            f"{field_name}: value {value} has a wildcard inside it; a filter pattern wildcard may only open "
            "or close a value"
        )
    core = "".join(str(part) for part in inner)
    if core == "" and (starts or ends):
        return "*"
    if (not starts and core.startswith("*")) or (not ends and core.endswith("*")):
        raise Refusal(
            f"{field_name}: value {value} begins or ends with a literal '*', which a filter pattern reads "
            "as a wildcard"
        )
    return f"{'*' if starts else ''}{core}{'*' if ends else ''}"


_REGEX_ALLOWED = frozenset(":_#=@/;,-^$?[]{}|\\*+.")
_REGEX_KEPT = _REGEX_ALLOWED | {"(", ")"}


def cloudwatch_regex(source: str) -> str:
    """The same regex in CloudWatch's character set: other literal ASCII characters become ``\\xhh``.

    Exact rewrites only: a space or an escaped punctuation character (``\\(``) is one literal character
    either way. Unescaped ``(``/``)`` (groups) are left alone, so the engine refuses them with its reason.
    """
    out = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\" and index + 1 < len(source):
            escaped = source[index + 1]
            if escaped.isascii() and not escaped.isalnum() and escaped not in _REGEX_ALLOWED:
                out.append(f"\\x{ord(escaped):02x}")
            else:
                out.append(source[index : index + 2])
            index += 2
            continue
        if char.isascii() and char.isprintable() and not char.isalnum() and char not in _REGEX_KEPT:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _cidr_text(field_name: str, cidr: str) -> str:
    network = ipaddress.ip_network(cidr, strict=False)
    if network.version != 4:
        raise Refusal(f"{field_name}|cidr {cidr}: IPv6 ranges cannot be written as a filter pattern prefix")
    if network.prefixlen % 8:
        raise Refusal(
            f"{field_name}|cidr {cidr}: /{network.prefixlen} is not on an octet boundary, so only a regular "
            "expression could express it (5 per log group); split it into /8, /16 or /24 ranges"
        )
    octets = str(network.network_address).split(".")[: network.prefixlen // 8]
    if network.prefixlen == 32:
        return ".".join(octets)
    return "".join(f"{octet}." for octet in octets) + "*"


def _selector_steps(field_name: str) -> tuple[Step, ...]:
    steps = []
    for part in field_name.split("."):
        if not _SELECTOR_PART.match(part):
            raise Refusal(
                f"field {field_name!r}: the part {part!r} cannot be addressed by a JSON selector "
                "(letters, digits, '_' and '-' only)"
            )
        steps.append(Step("key", part))
    return tuple(steps)


def _selector(field_name: str) -> Selector:
    return Selector("$." + field_name, _selector_steps(field_name), 0)


# ---------------------------------------------------------------------------------------------------------
# Boolean form -> the engine's AST -> text, and back through compile_pattern
# ---------------------------------------------------------------------------------------------------------


def _positive_operand(leaf: Leaf) -> tuple[JsonOperator, Operand | None]:
    if leaf.kind == "string":
        return "=", StringValue(str(leaf.value), True, 0)
    if leaf.kind == "regex":
        return "=", RegexValue(str(leaf.value), re.compile(str(leaf.value)), 0)
    assert isinstance(leaf.value, int | float)
    number = NumberValue(leaf.value, str(leaf.value), 0)
    return (leaf.operator if leaf.kind == "compare" else "="), number


def _leaf_json(leaf: Leaf) -> JsonExpr:
    selector = _selector(leaf.field)
    absent = JsonCondition(selector, "NOT EXISTS", None)
    if leaf.kind == "bool":
        if leaf.negated:
            raise Refusal(
                f"not {leaf.field}: {str(leaf.value).lower()}: a filter pattern cannot say 'anything but "
                "this boolean' exactly (strings, numbers and null differ); test the other boolean instead"
            )
        return JsonCondition(selector, "IS TRUE" if leaf.value else "IS FALSE", None)
    if leaf.kind == "absent":
        if leaf.negated:
            raise Refusal(
                f"{leaf.field}|exists: true: a filter pattern has no 'exists' test ('= *' misses objects, "
                "arrays and null); test the value instead"
            )
        return absent
    if leaf.kind == "null":
        if leaf.negated:  # present and not null: any scalar
            return JsonCondition(selector, "=", StringValue("*", True, 0))
        return JsonOr((JsonCondition(selector, "IS NULL", None), absent))
    operator, operand = _positive_operand(leaf)
    if not leaf.negated:
        return JsonCondition(selector, operator, operand)
    if leaf.kind == "string" and leaf.value == "*":
        # `!= "*"` matches nothing; "not any value" is "absent or null" (Sigma's '*' needs a non-null value).
        return JsonOr((absent, JsonCondition(selector, "IS NULL", None)))
    if leaf.kind == "compare":
        return JsonOr((JsonCondition(selector, _NEGATED_COMPARISON[operator], operand), absent))
    return JsonOr((JsonCondition(selector, "!=", operand), absent))


def _flatten(expr: JsonExpr) -> JsonExpr:
    if isinstance(expr, JsonCondition):
        return expr
    kind = type(expr)
    items: list[JsonExpr] = []
    for item in (_flatten(i) for i in expr.items):
        items.extend(item.items if isinstance(item, kind) else (item,))
    return items[0] if len(items) == 1 else kind(tuple(items))


def _to_json_expr(expr: Expr) -> JsonExpr:
    if isinstance(expr, Leaf):
        return _leaf_json(expr)
    items = tuple(_to_json_expr(item) for item in expr.items)
    return _flatten(JsonAnd(items) if isinstance(expr, AllOf) else JsonOr(items))


def _render_operand(operand: Operand) -> str:
    if isinstance(operand, StringValue):
        return '"' + operand.text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(operand, RegexValue):
        return f"%{operand.source}%"
    return operand.text


def _render(expr: JsonExpr) -> str:
    if isinstance(expr, JsonCondition):
        if expr.operand is None:
            return f"{expr.selector.text} {expr.operator}"
        return f"{expr.selector.text} {expr.operator} {_render_operand(expr.operand)}"
    joiner = " && " if isinstance(expr, JsonAnd) else " || "
    # Only compound operands get parentheses: the 1024-character limit is tight for value lists.
    return joiner.join(
        f"({_render(item)})" if isinstance(item, JsonAnd | JsonOr) else _render(item) for item in expr.items
    )


def render(expr: JsonExpr) -> str:
    """Pattern text for an AST built by :func:`_to_json_expr`."""
    return "{ " + _render(expr) + " }"


def shape(expr: JsonExpr) -> object:
    """The AST without positions or spelling, to compare a built AST with the parsed one."""
    if isinstance(expr, JsonCondition):
        operand = expr.operand
        value: object = None
        if isinstance(operand, StringValue):
            value = ("string", operand.text)
        elif isinstance(operand, RegexValue):
            value = ("regex", operand.source)
        elif isinstance(operand, NumberValue):
            value = ("number", operand.value)
        return (expr.selector.steps, expr.operator, value)
    return (type(expr).__name__, tuple(shape(item) for item in expr.items))


def _excerpt(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 5] + " ... "


def compile_expr(expr: Expr) -> FilterPattern:
    built = _to_json_expr(expr)
    text = render(built)
    try:
        pattern = compile_pattern(text)
    except FilterPatternError as error:
        raise Refusal(
            f"CloudWatch would reject the filter pattern: {error.reason} (pattern: {_excerpt(text)})"
        ) from None
    if pattern.json_expression is None or shape(pattern.json_expression) != shape(built):
        raise Refusal(
            f"internal: the pattern does not parse back into the conditions it was built from: {text}"
        )
    return pattern


# ---------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------


def _disjuncts(expr: Expr) -> list[tuple[Leaf, ...]]:
    if isinstance(expr, Leaf):
        return [(expr,)]
    if isinstance(expr, AnyOf):
        out = [d for item in expr.items for d in _disjuncts(item)]
    else:
        out = [()]
        for item in expr.items:
            out = [left + right for left in out for right in _disjuncts(item)]
            if len(out) > MAX_DISJUNCTS:
                out = out[:MAX_DISJUNCTS]
    return out[:MAX_DISJUNCTS]


def base_record() -> dict[str, Any]:
    """A plain successful IAM-user API call; generated cases overwrite or remove what the rule tests."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDACKCEVSQ6C2EXAMPLE",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "userName": "alice",
        },
        "eventTime": "2024-05-02T10:03:39Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
        "requestParameters": {},
        "responseElements": None,
        "requestID": "8f2c1a52-0000-4000-8000-000000000001",
        "eventID": "e1d2c3b4-0000-4000-8000-000000000001",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
    }


def _set(record: dict[str, Any], field_name: str, value: object) -> None:
    node = record
    *parents, last = field_name.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


def _get(record: dict[str, Any], field_name: str) -> object:
    node: object = record
    for part in field_name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _delete(record: dict[str, Any], field_name: str) -> None:
    node: object = record
    *parents, last = field_name.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def regex_sample(source: str) -> str | None:
    """A short string the regex finds (CloudWatch's subset: no groups), or None if this cannot build one."""

    def build(items: Iterable[tuple[Any, Any]]) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "ANY":
                out.append("a")
            elif name == "NOT_LITERAL":
                out.append("b" if chr(arg) == "a" else "a")
            elif name == "IN":
                out.append(_class_sample(arg))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, _high, body = arg
                out.append(build(body) * max(low, 1))
            elif name == "BRANCH":
                out.append(build(arg[1][0]))
            elif name == "AT":
                continue
            else:
                raise ValueError(name)
        return "".join(out)

    try:
        sample = build(sre_parse.parse(source))
    except (ValueError, TypeError):
        return None
    return sample if re.search(source, sample, re.ASCII) else None


def _class_sample(items: list[tuple[Any, Any]]) -> str:
    if items and str(items[0][0]) == "NEGATE":
        excluded = re.compile("[" + "".join(_class_text(i) for i in items[1:]) + "]", re.ASCII)
        return next(c for c in "a0_-zZ9" if not excluded.match(c))
    op, arg = items[0]
    name = str(op)
    if name == "LITERAL":
        return chr(arg)
    if name == "RANGE":
        return chr(arg[0])
    if name == "CATEGORY":
        return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "a"}.get(str(arg), "a")
    raise ValueError(name)


def _class_text(item: tuple[Any, Any]) -> str:
    op, arg = item
    name = str(op)
    if name == "LITERAL":
        return re.escape(chr(arg))
    if name == "RANGE":
        return f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}"
    if name == "CATEGORY":
        return {"CATEGORY_DIGIT": r"\d", "CATEGORY_SPACE": r"\s", "CATEGORY_WORD": r"\w"}.get(str(arg), "")
    raise ValueError(name)


def _satisfying_value(leaves: list[Leaf], current: object = None) -> object:
    """A value meeting every positive condition on one field (the result is verified by the caller).

    ``current``: the base record's value; a ``contains`` value is embedded in it, so a user agent still
    looks like one.
    """
    exact = [leaf for leaf in leaves if leaf.kind == "string" and "*" not in str(leaf.value)]
    if exact:
        return str(exact[0].value)
    for leaf in leaves:
        if leaf.kind in ("number", "null", "bool"):
            return leaf.value
        if leaf.kind == "compare":
            assert isinstance(leaf.value, int | float)
            return leaf.value + {"<": -1, ">": 1}.get(leaf.operator, 0)
        if leaf.kind == "regex":
            return regex_sample(str(leaf.value))
    prefix = "".join(str(leaf.value)[:-1] for leaf in leaves if _mode(leaf) == "prefix")
    middle = " ".join(str(leaf.value)[1:-1] for leaf in leaves if _mode(leaf) == "contains")
    suffix = "".join(str(leaf.value)[1:] for leaf in leaves if _mode(leaf) == "suffix")
    if middle and not prefix and not suffix and isinstance(current, str) and current:
        return f"{current} {middle}"
    value = " ".join(part for part in (prefix, middle, suffix) if part)
    return value or "present"


def _mode(leaf: Leaf) -> str:
    text = str(leaf.value)
    if text == "*":
        return "any"
    return {(True, True): "contains", (True, False): "suffix", (False, True): "prefix"}.get(
        (text.startswith("*"), text.endswith("*")), "exact"
    )


# A value that only makes a field present (near-misses of "absent" and "null"), realistic where known.
_PRESENT_VALUES = {
    "errorCode": "AccessDenied",
    "errorMessage": "User is not authorized to perform this operation",
}


def _present_value(field_name: str) -> str:
    return _PRESENT_VALUES.get(field_name, "present")


def _violating_value(leaf: Leaf) -> tuple[bool, object]:
    """(present, value) for a record that fails ``leaf`` (a positive condition)."""
    if leaf.kind in ("null", "absent"):
        return True, _present_value(leaf.field)
    if leaf.kind == "bool":
        return True, not leaf.value
    if leaf.kind in ("number", "compare"):
        assert isinstance(leaf.value, int | float)
        return True, leaf.value + {"<": 1, "<=": 1, ">": -1, ">=": -1}.get(leaf.operator, 1)
    if leaf.kind == "regex":
        compiled = re.compile(str(leaf.value), re.ASCII)
        return True, next((c for c in ("other", "", "0", "~") if not compiled.search(c)), "other")
    text = str(leaf.value)
    mode = _mode(leaf)
    if mode == "any":
        return False, None
    core = text.strip("*")
    return True, {"exact": core + "Other", "prefix": "other-" + core, "suffix": core + "-other"}.get(
        mode, "other"
    )


@dataclass
class Case:
    expect: Literal["match", "no-match"]
    case: str
    record: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({"expect": self.expect, "case": self.case, "record": self.record})


def _record_for(disjunct: tuple[Leaf, ...]) -> dict[str, Any]:
    record = base_record()
    by_field: dict[str, list[Leaf]] = {}
    for leaf in disjunct:
        by_field.setdefault(leaf.field, []).append(leaf)
    for field_name, leaves in by_field.items():
        positive = [leaf for leaf in leaves if not leaf.negated]
        if any(leaf.kind == "absent" for leaf in positive):
            _delete(record, field_name)
        elif positive:
            _set(record, field_name, _satisfying_value(positive, _get(record, field_name)))
        elif all(compile_expr(leaf).matches_json(record) for leaf in leaves):
            continue  # the base record's own value already satisfies "not ...": keep it realistic
        elif any(leaf.kind == "null" for leaf in leaves):
            _set(record, field_name, _present_value(field_name))
        else:
            _delete(record, field_name)
    return record


def _assumed_role(record: dict[str, Any]) -> dict[str, Any]:
    variant = deepcopy(record)
    variant["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": "AROACKCEVSQ6C2EXAMPLE:session",
        "arn": "arn:aws:sts::111122223333:assumed-role/operator/session",
        "accountId": "111122223333",
        "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROACKCEVSQ6C2EXAMPLE",
                "arn": "arn:aws:iam::111122223333:role/operator",
                "accountId": "111122223333",
                "userName": "operator",
            },
            "attributes": {"creationDate": "2024-05-02T09:00:00Z", "mfaAuthenticated": "true"},
        },
    }
    return variant


def _other_region(record: dict[str, Any]) -> dict[str, Any]:
    variant = deepcopy(record)
    variant.update(
        awsRegion="ap-southeast-2", sourceIPAddress="198.51.100.24", eventID=variant["eventID"][:-1] + "2"
    )
    return variant


def _near_miss(positive: dict[str, Any], leaf: Leaf) -> dict[str, Any]:
    near = deepcopy(positive)
    if leaf.negated:
        _set(near, leaf.field, _satisfying_value([leaf.negate()]))
        return near
    present, value = _violating_value(leaf)
    if present:
        _set(near, leaf.field, value)
    else:
        _delete(near, leaf.field)
    return near


def generate_cases(expr: Expr, pattern: FilterPattern) -> list[Case]:
    """Positives and near-misses, at least :data:`MIN_CASES` of each where the rule allows it.

    Positives: one per disjunct (up to MAX_POSITIVES), then the first one made by an assumed role and from
    another region and address when the rule does not test those. Near-misses: for each positive, one per
    condition, violating just that condition (each condition once). A candidate goes in only if the engine
    agrees with the intent; the labels are then proved against the independent Sigma evaluator by the
    differential test.
    """
    positives: list[tuple[str, tuple[Leaf, ...], dict[str, Any]]] = []
    for disjunct in _disjuncts(expr):
        record = _record_for(disjunct)
        if pattern.matches_json(record):
            positives.append(
                ("satisfies " + " and ".join(leaf.describe() for leaf in disjunct), disjunct, record)
            )
        if len(positives) >= MAX_POSITIVES:
            break
    if not positives:
        raise Refusal(
            "the importer could not build a record that satisfies the rule, so it has no positive case"
        )
    first_case, first_disjunct, first_record = positives[0]
    for why, make in (
        ("made by an assumed role", _assumed_role),
        ("from another region and address", _other_region),
    ):
        if len(positives) >= MIN_CASES:
            break
        variant = make(first_record)
        if pattern.matches_json(variant):
            positives.append((f"{first_case}, {why}", first_disjunct, variant))
    cases = [Case("match", why, record) for why, _, record in positives]
    violated: set[str] = set()
    for _, disjunct, record in positives:
        for leaf in disjunct:
            if leaf.describe() in violated or len(violated) >= MAX_NEAR_MISSES:
                continue
            near = _near_miss(record, leaf)
            if not pattern.matches_json(near):
                violated.add(leaf.describe())
                cases.append(Case("no-match", f"near-miss: violates only '{leaf.describe()}'", near))
    return cases


# ---------------------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------------------


@dataclass
class ImportedRule:
    rule_id: str
    sigma_id: str
    source: str
    title: str
    severity: str
    level: str
    pattern: str
    mitre_attack: tuple[str, ...]
    references: tuple[str, ...]
    tags: tuple[str, ...]
    description: str
    runbook: str
    cases: list[Case] = field(default_factory=list)
    expression: Expr | None = None

    def toml(self) -> str:
        lines = [
            f"# Imported from Sigma rule {self.sigma_id} ({self.source}) by "
            "`python -m detections import-sigma`.",
            f"id = {_toml_string(self.rule_id)}",
            f"title = {_toml_string(self.title)}",
            f"description = {_toml_string(self.description)}",
            f"severity = {_toml_string(self.severity)}",
            "controls = []",
            f"mitre_attack = [{', '.join(_toml_string(m) for m in self.mitre_attack)}]",
            'resolve_policy = "manual"',
            "summary_template = "
            + _toml_string(
                f"{self.title} by {{principal}} from {{source_ip}} in account {{account}} ({{region}}); "
                "{count} event(s)"
            ),
            "",
            f"pattern = {_toml_string(self.pattern)}",
            "",
            f"runbook = {_toml_string(self.runbook)}",
            "",
            "[sigma]",
            f"id = {_toml_string(self.sigma_id)}",
            f"level = {_toml_string(self.level)}",
            f"tags = [{', '.join(_toml_string(t) for t in self.tags)}]",
            f"references = [{', '.join(_toml_string(r) for r in self.references)}]",
        ]
        return "\n".join(lines) + "\n"

    def cases_jsonl(self) -> str:
        return "".join(case.to_json() + "\n" for case in self.cases)


def _toml_string(text: str) -> str:
    if "'" not in text and "\n" not in text and all(c.isprintable() for c in text):
        return f"'{text}'"  # literal string: pattern backslashes stay readable
    return json.dumps(text)  # JSON string escapes are valid TOML basic-string escapes


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:ID_MAX_CHARS].rstrip("-")


def mitre_ids(tags: Iterable[object]) -> tuple[str, ...]:
    ids = []
    for tag in tags:
        namespace, name = getattr(tag, "namespace", ""), str(getattr(tag, "name", ""))
        if namespace == "attack" and re.fullmatch(r"t\d{4}(\.\d{3})?", name):
            ids.append(name.upper())
    return tuple(dict.fromkeys(ids))


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _runbook(rule: SigmaRule, sigma_id: str) -> str:
    falsepositives = [str(fp) for fp in (rule.falsepositives or []) if str(fp).strip()]
    known = "; ".join(falsepositives) if falsepositives else "none listed by the rule"
    return (
        f"Imported Sigma rule (generic runbook, derived from the rule's text; review before relying on it). "
        f"What it means: {_sentence(str(rule.description or rule.title))} "
        f"Known false positives (from the Sigma rule): {known}. "
        "Steps: identify the principal (userIdentity.arn), source IP and user agent of the event; ask the "
        "owner whether the change was planned; if not, revert the change, revoke the principal's sessions "
        "and keys, and review the principal's other CloudTrail events around the same time. "
        f"Sigma rule: {sigma_id}."
    )


def convert_rule(rule: SigmaRule, source: str) -> ImportedRule:
    logsource = rule.logsource
    if (logsource.product, logsource.service) != ("aws", "cloudtrail"):
        raise Refusal(
            f"logsource product={logsource.product} service={logsource.service}: only aws/cloudtrail rules "
            "describe CloudTrail records"
        )
    conditions = rule.detection.parsed_condition
    if len(conditions) != 1:
        raise Refusal(f"{len(conditions)} conditions: write one condition (combine them with 'or')")
    expr = _to_expr(conditions[0].parsed)
    pattern = compile_expr(expr)
    sigma_id = str(rule.id) if rule.id else "(no id)"
    level = str(rule.level.name).lower() if rule.level else "medium"
    references = tuple(str(r) for r in (rule.references or []))
    description = (
        f"{_sentence(str(rule.description or rule.title))} Imported from Sigma rule {sigma_id} "
        f'("{rule.title}", level {level}).' + (f" References: {', '.join(references)}." if references else "")
    )
    imported = ImportedRule(
        rule_id=slug(str(rule.title)),
        sigma_id=sigma_id,
        source=source,
        title=str(rule.title),
        severity=SEVERITY_BY_LEVEL[level],
        level=level,
        pattern=pattern.source,
        mitre_attack=mitre_ids(rule.tags or []),
        references=references,
        tags=tuple(str(tag) for tag in (rule.tags or [])),
        description=description,
        runbook=_runbook(rule, sigma_id),
        expression=expr,
    )
    imported.cases = generate_cases(expr, pattern)
    return imported


@dataclass(frozen=True)
class Outcome:
    source: str
    title: str
    rule: ImportedRule | None
    refusal: str | None


def sigma_files(paths: Iterable[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            yield path


def import_file(path: Path) -> list[Outcome]:
    """Convert every rule in one YAML file; a rule that cannot be converted becomes a refusal."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        return [Outcome(str(path), "-", None, f"cannot read the file: {error.strerror}")]
    try:
        collection = SigmaCollection.from_yaml(text)
    except SigmaError as error:
        return [Outcome(str(path), "-", None, f"not a Sigma rule pySigma accepts: {error}")]
    except Exception as error:  # YAML errors arrive as several types; each one is a refusal of the file
        return [Outcome(str(path), "-", None, f"not valid YAML: {error}")]
    outcomes = []
    for rule in collection.rules:
        if not isinstance(rule, SigmaRule):
            outcomes.append(
                Outcome(
                    str(path),
                    str(getattr(rule, "title", "-")),
                    None,
                    "correlation rule (count/aggregation over events): a metric filter counts single "
                    "records; use the alarm's threshold and period instead",
                )
            )
            continue
        try:
            outcomes.append(Outcome(str(path), str(rule.title), convert_rule(rule, path.name), None))
        except Refusal as refusal:
            outcomes.append(Outcome(str(path), str(rule.title), None, str(refusal)))
        except SigmaError as error:
            reason = f"pySigma: {error}"
            if "pipe syntax" in str(error):
                reason = (
                    "aggregation in the condition ('| count() ...'): a metric filter counts single records; "
                    "express the threshold as the alarm's threshold and period instead"
                )
            outcomes.append(Outcome(str(path), str(rule.title), None, reason))
    return outcomes
