"""Filter patterns as SQL predicates over Athena's CloudTrail table (Trino), built from the parsed form.

The row model (what one table row knows about one CloudTrail record)
--------------------------------------------------------------------
The table is the one AWS documents for CloudTrail in Athena
(https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html): the Hive
JSON SerDe over ``CloudTrailInputFormat``, one row per record, with three kinds of column (``COLUMNS``):

* **JSON-text columns** (``requestparameters``, ``responseelements``, ``additionaleventdata``,
  ``serviceeventdetails``, declared STRING): the value's JSON text. Below the column everything the engine
  sees survives: types (string vs number vs boolean), JSON null vs absent, arrays and indexes. So selectors
  *into* these columns compile exactly, with ``json_extract``/``json_extract_scalar``/``json_format``.
  The column itself loses null-vs-absent (both are SQL NULL): conditions on the bare column are refused.
* **Text columns** (top-level strings such as ``eventname``; leaves of the ``useridentity`` struct): the
  SerDe turns a JSON string into its text, but also a number or boolean into *its* text, and both an absent
  field and a JSON null into SQL NULL. The table alone cannot tell what the engine tells there. What makes
  these exact is the CloudTrail record contract: every one of these fields is documented as a String
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
  and .../cloudtrail-event-reference-user-identity.html) and is omitted, not nulled, when it does not apply.
  Under that contract ``NOT EXISTS`` is ``IS NULL``, ``!= "x"`` is ``<> 'x'`` and ``= *`` is ``IS NOT NULL``.
  Operators whose meaning depends on the cases the contract rules out (``IS NULL``, ``IS TRUE``/``FALSE``,
  numeric comparisons) are refused, not guessed. The contract is checked, not trusted: the proof in
  tests/unit/detections/test_sql_target.py loads records the way the SerDe would (numbers as text, null
  as NULL) and compares verdicts with the engine record by record, on the shared corpus and the catalogue's
  cases.
* **Everything else** (fields the documented table has no column for, ``resources``, ``readonly`` which the
  table declares STRING for a JSON boolean, ``tlsdetails``, ...): refused with the reason.

Keys: the engine's selectors are case-sensitive, Hive columns are not; a selector compiles only when its key
is CloudTrail's own spelling (``$.sourceIPAddress``, not ``$.sourceIpAddress``).

Semantics reproduced (see detections/filter_pattern.py): ``=``/``!=`` with strings compare JSON strings only
(never a number "200" vs 200); ``*`` at the ends is a prefix/suffix/contains test, alone it is "any present
scalar"; numbers compare JSON numbers only; regexes are unanchored searches; a missing field fails every
comparison; ``NOT EXISTS`` holds for an absent path only (a JSON null exists). Wildcard selectors (``[*]``,
``.*``) are refused (see ``_json_condition``). A detection with several patterns is the OR of them.

Three-valued logic: a test on a missing value is UNKNOWN (NULL), and the engine's answer there is always
"false". ``NOT`` is only put in front of a test whose UNKNOWN must stay "false" (``!=`` on a missing field
fails in the engine too), and AND/OR treat UNKNOWN like false, so wrapping the whole predicate in
``COALESCE(..., FALSE)`` gives the engine's verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp

from detections.catalogue import CATALOGUE, Detection
from detections.filter_pattern import (
    JsonAnd,
    JsonCondition,
    JsonExpr,
    JsonOr,
    NumberValue,
    RegexValue,
    Step,
    StringValue,
    compile_pattern,
)

__all__ = [
    "COLUMNS",
    "JSON_TEXT_FIELDS",
    "TEXT_FIELDS",
    "CompiledDetection",
    "SqlRefusal",
    "SqlUnsupported",
    "compile_catalogue",
    "compile_detection",
    "compile_expression",
]

DIALECT = "trino"

ColumnKind = Literal["text", "json_text"]

#: The documented table's columns, Hive types as the DDL spells them (the Glue table and the test table use
#: this one list). Order follows AWS's example.
_USER_IDENTITY_TYPE = (
    "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,"
    "accesskeyid:string,username:string,"
    "sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,"
    "sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,"
    "ec2roledelivery:string>>"
)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("eventversion", "string"),
    ("useridentity", _USER_IDENTITY_TYPE),
    ("eventtime", "string"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "string"),
    ("responseelements", "string"),
    ("additionaleventdata", "string"),
    ("requestid", "string"),
    ("eventid", "string"),
    ("readonly", "string"),
    ("resources", "array<struct<arn:string,accountid:string,type:string>>"),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("recipientaccountid", "string"),
    ("serviceeventdetails", "string"),
    ("sharedeventid", "string"),
    ("vpcendpointid", "string"),
)

#: CloudTrail's spelling of a record path -> the SQL expression of its text column (CloudTrail String fields).
TEXT_FIELDS: dict[tuple[str, ...], str] = {
    **{
        (key,): key.lower()
        for key in (
            "eventVersion",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "sourceIPAddress",
            "userAgent",
            "errorCode",
            "errorMessage",
            "requestID",
            "eventID",
            "eventType",
            "apiVersion",
            "recipientAccountId",
            "sharedEventID",
            "vpcEndpointId",
        )
    },
    **{
        ("userIdentity", key): f"useridentity.{key.lower()}"
        for key in ("type", "principalId", "arn", "accountId", "invokedBy", "accessKeyId", "userName")
    },
    **{
        ("userIdentity", "sessionContext", "attributes", key): (
            f"useridentity.sessioncontext.attributes.{key.lower()}"
        )
        for key in ("mfaAuthenticated", "creationDate")
    },
    **{
        ("userIdentity", "sessionContext", "sessionIssuer", key): (
            f"useridentity.sessioncontext.sessionissuer.{key.lower()}"
        )
        for key in ("type", "principalId", "arn", "accountId", "userName")
    },
    ("userIdentity", "sessionContext", "ec2RoleDelivery"): "useridentity.sessioncontext.ec2roledelivery",
}

#: CloudTrail's spelling of a top-level field -> its JSON-text column.
JSON_TEXT_FIELDS: dict[str, str] = {
    key: key.lower()
    for key in ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails")
}


class SqlUnsupported(ValueError):
    """A pattern (or part of one) the table cannot answer exactly; the message says why."""


@dataclass(frozen=True)
class CompiledDetection:
    detection_id: str
    predicate: exp.Expr

    def sql(self, dialect: str = DIALECT) -> str:
        return self.predicate.sql(dialect=dialect)


@dataclass(frozen=True)
class SqlRefusal:
    detection_id: str
    reason: str


# ---------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------


def compile_detection(detection: Detection) -> CompiledDetection | SqlRefusal:
    """The detection as one boolean SQL expression (OR of its patterns), or the reason it cannot be one."""
    parts: list[str] = []
    for number, text in enumerate(detection.all_patterns):
        try:
            parts.append(f"({compile_pattern_text(text)})")
        except SqlUnsupported as error:
            where = "pattern" if number == 0 else f"additional pattern {number}"
            return SqlRefusal(detection.id, f"{where}: {error}")
    predicate = sqlglot.parse_one(f"COALESCE({' OR '.join(parts)}, FALSE)", read=DIALECT)
    return CompiledDetection(detection.id, predicate)


def compile_catalogue(
    detections: Sequence[Detection] = CATALOGUE,
) -> tuple[list[CompiledDetection], list[SqlRefusal]]:
    compiled: list[CompiledDetection] = []
    refused: list[SqlRefusal] = []
    for detection in detections:
        result = compile_detection(detection)
        (compiled if isinstance(result, CompiledDetection) else refused).append(result)  # type: ignore[arg-type]
    return compiled, refused


def compile_pattern_text(text: str) -> str:
    """One pattern's predicate as Trino SQL text (parenthesised pieces, not yet wrapped in COALESCE)."""
    pattern = compile_pattern(text)
    if pattern.kind == "all":
        return "TRUE"
    if pattern.json_expression is None:
        raise SqlUnsupported(
            f"a {pattern.kind} pattern matches the record's raw JSON text, which the table does not hold"
        )
    return compile_expression(pattern.json_expression)


def compile_expression(expression: JsonExpr) -> str:
    if isinstance(expression, JsonCondition):
        return _condition(expression)
    joiner = " AND " if isinstance(expression, JsonAnd) else " OR "
    assert isinstance(expression, JsonAnd | JsonOr)
    return "(" + joiner.join(compile_expression(item) for item in expression.items) + ")"


# ---------------------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------------------


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql(dialect=DIALECT)


def _condition(condition: JsonCondition) -> str:
    steps = condition.selector.steps
    head = steps[0]
    if head.kind != "key":
        raise SqlUnsupported(f"{condition.selector.text}: a record is a row, not a JSON array or object")
    keys = tuple(str(step.key) for step in steps if step.kind == "key")
    if all(step.kind == "key" for step in steps) and keys in TEXT_FIELDS:
        return _text_column_condition(TEXT_FIELDS[keys], condition)
    column = JSON_TEXT_FIELDS.get(str(head.key))
    if column is not None:
        if len(steps) == 1:
            raise SqlUnsupported(
                f"{condition.selector.text}: the {column} column is NULL both when the field is absent and "
                "when it is null, and holds objects as text"
            )
        return _json_condition(column, steps[1:], condition)
    raise SqlUnsupported(
        f"{condition.selector.text}: the CloudTrail table has no text or JSON-text column for this path "
        "(or it is a struct, an array of structs or a non-string field)"
    )


def _text_column_condition(column: str, condition: JsonCondition) -> str:
    operator, operand = condition.operator, condition.operand
    if operator == "NOT EXISTS":
        return f"{column} IS NULL"
    if isinstance(operand, StringValue):
        if operand.mode == "any":
            return f"{column} IS NOT NULL" if operator == "=" else "FALSE"
        test = _string_test(column, operand.mode, operand.core)
        return test if operator == "=" else f"NOT {test}"
    if isinstance(operand, RegexValue):
        test = f"regexp_like({column}, {_lit(operand.source)})"
        return test if operator == "=" else f"NOT {test}"
    raise SqlUnsupported(
        f"{condition.selector.text} {operator}: the {column} column holds text; the table cannot tell a JSON "
        "null, number or boolean from absent or a string there"
    )


def _string_test(value: str, mode: str, core: str) -> str:
    literal = _lit(core)
    if mode == "exact":
        return f"{value} = {literal}"
    if mode == "prefix":
        return f"starts_with({value}, {literal})"
    if mode == "suffix":
        tail = f"substr({value}, length({value}) - {len(core) - 1})"
        return f"(length({value}) >= {len(core)} AND {tail} = {literal})"
    return f"strpos({value}, {literal}) > 0"


# ---------------------------------------------------------------------------------------------------------
# Selectors into JSON-text columns
# ---------------------------------------------------------------------------------------------------------

_EXACT_DOUBLE_INTEGER = 2**53
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _json_path(steps: Sequence[Step]) -> str:
    path = "$"
    for step in steps:
        if step.kind == "index":
            path += f"[{step.key}]"
            continue
        key = str(step.key)
        if _PLAIN_KEY.match(key):
            path += f".{key}"
        elif '"' in key or "\\" in key:
            raise SqlUnsupported(f'key {key!r}: a JSON path key with " or \\ is not expressible portably')
        else:
            path += f'["{key}"]'
    return path


def _json_condition(column: str, steps: Sequence[Step], condition: JsonCondition) -> str:
    if any(step.kind in ("any_key", "any_index") for step in steps):
        # Trino needs CAST(json AS ARRAY(JSON)/MAP(VARCHAR, JSON)) and any_match here; whether those casts
        # keep a JSON null element as JSON null (the engine's `[*] IS NULL` and `.* NOT EXISTS` depend on it)
        # cannot be proven offline, and DuckDB's equivalent cast turns it into SQL NULL. Refused, not guessed.
        raise SqlUnsupported(
            f"{condition.selector.text}: wildcard selectors ([*], .*) are not compiled: the JSON-container "
            "casts they need cannot be shown to keep JSON null elements exactly"
        )
    return _json_leaf(column, _json_path(steps), condition)


def _json_leaf(document: str, path: str, condition: JsonCondition) -> str:
    operator, operand = condition.operator, condition.operand
    value = f"json_extract({document}, {_lit(path)})"
    text = f"json_format({value})"  # canonical JSON text: its first character is the value's type
    scalar = f"json_extract_scalar({document}, {_lit(path)})"
    first = f"substr({text}, 1, 1)"
    is_string = f"{first} = '\"'"
    if operator == "NOT EXISTS":
        return f"{value} IS NULL"
    if operator == "IS NULL":
        return f"{text} = 'null'"
    if operator == "IS TRUE":
        return f"{text} = 'true'"
    if operator == "IS FALSE":
        return f"{text} = 'false'"
    if isinstance(operand, StringValue):
        if operand.mode == "any":
            return f"({first} NOT IN ('{{', '[', 'n'))" if operator == "=" else "FALSE"
        test = _string_test(scalar, operand.mode, operand.core)
        return f"({is_string} AND {'' if operator == '=' else 'NOT '}{test})"
    if isinstance(operand, RegexValue):
        test = f"regexp_like({scalar}, {_lit(operand.source)})"
        return f"({is_string} AND {'' if operator == '=' else 'NOT '}{test})"
    assert isinstance(operand, NumberValue)
    if not math.isfinite(float(operand.value)) or abs(operand.value) > _EXACT_DOUBLE_INTEGER:
        raise SqlUnsupported(
            f"{condition.selector.text} {operator} {operand.text}: "
            "beyond 2**53 a DOUBLE comparison is not exact"
        )
    sql_operator = "<>" if operator == "!=" else operator
    is_number = f"{first} IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"
    return f"({is_number} AND TRY_CAST({scalar} AS DOUBLE) {sql_operator} {float(operand.value)!r})"
