"""Conformance table: every grammar feature of CloudWatch Logs filter patterns, mostly with AWS examples.

Each row is (pattern, log event message, expected match, the rule it proves + source). Source keys:
  MAIN  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
  JSON  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html
        (same text at docs.amazonaws.cn)
  REGEX https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html
        (and MAIN#regex-expressions)
  OLD21 awsdocs/amazon-cloudwatch-logs-user-guide@5f9d4b2 doc_source/FilterAndPatternSyntax.md (2018-21)
  OLD22 awsdocs/amazon-cloudwatch-logs-user-guide@5bd7d24 doc_source/FilterAndPatternSyntax.md (2022)
  API   TestMetricFilter / PutMetricFilter API reference (botocore logs/2014-03-28)
  CDK   https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_logs.FilterPattern.html (AWS's generator)
  CT    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-alarms-for-cloudtrail.html
  SH    https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html
  AZUL  DataBiosphere/azul#5884 (real-AWS test of != on a missing field)
  INF   our decision where AWS is silent; the reason is in detections/filter_pattern.py next to the code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from detections.filter_pattern import compile_pattern


@dataclass(frozen=True)
class Row:
    pattern: str
    message: str
    expected: bool
    rule: str

    def __str__(self) -> str:  # readable pytest ids
        return f"{self.pattern!r} on {self.message[:40]!r}"


def j(value: object) -> str:
    """A JSON log event as CloudTrail delivers it to CloudWatch Logs (compact)."""
    return json.dumps(value, separators=(",", ":"))


APACHE_404 = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
APACHE_200 = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 200 1534'
APACHE_GIF = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 999'
APACHE_FIELDS = "ip, user, username, timestamp, request"
ERROR_LINE = "ERROR 09/25/2014 12:00:02 Failed to process request"
HTTP_SERVER = '{ ($.component = "HttpServer") && (($.error IS TRUE) || ($.latency > 1000)) }'

ROWS: tuple[Row, ...] = (
    # --- classification and match-everything ------------------------------------------------------------
    Row(
        "", "any event at all", True, "empty pattern matches every event (API: 'If not provided, all events')"
    ),
    Row('" "', "nospaceatall", True, 'MAIN "Match everything": `" "` matches events without a space too'),
    Row('""', "anything", True, 'OLD21: the filter pattern "" matches all log events'),
    Row("   ", "anything", True, "INF: whitespace-only pattern has no terms, so nothing constrains"),
    Row(
        '"[ERROR]"',
        "[ERROR] disk full",
        True,
        "INF: quoted, a leading '[' is a term, not a delimited pattern",
    ),
    # --- unstructured terms ---------------------------------------------------------------------------------
    Row("ERROR", "[ERROR 400] BAD REQUEST", True, "MAIN single term"),
    Row("ERROR ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS", True, "MAIN: all terms must appear (AND)"),
    Row("ERROR ARGUMENTS", "[ERROR 400] BAD REQUEST", False, "MAIN: all terms must appear (AND)"),
    Row("ERROR", "Exiting with ERRORCODE: -1", True, "OLD21: a term matches as a substring"),
    Row('"ERROR" "Exception"', "[ERROR] Caught IllegalArgumentException", True, "OLD21: quoted terms AND"),
    Row("error", "[ERROR 400] BAD REQUEST", False, "MAIN: filter patterns are case sensitive"),
    Row('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER ERROR", True, "MAIN: exact phrase in quotes"),
    Row('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL ERROR SERVER", False, "MAIN: phrase, not words"),
    Row("ERROR -ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS", False, "MAIN: -term excludes"),
    Row("ERROR -ARGUMENTS", "[ERROR 500] INTERNAL SERVER ERROR", True, "MAIN: -term excludes"),
    Row("-ERROR", "INFO all good", True, "Lightsail GetContainerLog docs: only exclusions -> rest"),
    Row("-ERROR", "ERROR broken", False, "Lightsail GetContainerLog docs: only exclusions -> rest"),
    Row("?ERROR ?ARGUMENTS", "[ERROR 400] BAD REQUEST", True, "MAIN: ?term is OR"),
    Row("?ERROR ?ARGUMENTS", "[WARN 419] MISSING ARGUMENTS", True, "MAIN: ?term is OR"),
    Row("?ERROR ?ARGUMENTS", "[INFO] OK", False, "MAIN: ?term is OR"),
    Row("?ERROR ?ARGUMENTS REQUEST", "[INFO] REQUEST served", True, "MAIN: ? terms ignored when mixed"),
    Row(
        "?ERROR ?ARGUMENTS REQUEST",
        "[ERROR 419] MISSING ARGUMENTS",
        False,
        "MAIN: ? terms ignored when mixed",
    ),
    Row(
        '?"ERROR" "MainThread" ?"WARN" "Deadlock"', "MainThread Deadlock", True, "MAIN mixed rule (not CDK's)"
    ),
    Row('?"ERROR" "MainThread" ?"WARN" "Deadlock"', "ERROR MainThread", False, "MAIN mixed rule (not CDK's)"),
    Row("ConsoleLogin", j({"eventName": "ConsoleLogin"}), True, "INF: term patterns see the raw JSON text"),
    # --- standalone regex -----------------------------------------------------------------------------------
    Row("%AUTHORIZED%", "UNAUTHORIZED REQUEST", True, "REGEX: unanchored search"),
    Row("%^AUTHORIZED%", "UNAUTHORIZED REQUEST", False, "REGEX: ^ anchors"),
    Row("%REQUEST$%", "UNAUTHORIZED REQUEST", True, "REGEX: $ anchors"),
    Row("%[Ee]rror|[Ff]ail%", "Request failed", True, "REGEX example: classes and alternation"),
    Row("%[Ee]rror|[Ff]ail%", "Error 12", True, "REGEX example: classes and alternation"),
    Row("%[Ee]rror|[Ff]ail%", "ERROR 12", False, "REGEX: case-sensitive (the example relies on it)"),
    Row(r"%\x28%", "call(1)", True, r"REGEX: write '(' as \x28"),
    Row(r"%\d{3}%", "status 404", True, r"REGEX: \d and {m,n} quantifier"),
    Row(r"%\d{3}%", "status 40", False, r"REGEX: \d and {m,n} quantifier"),
    Row(r"%^\w+\s\S+$%", "hello world!", True, r"REGEX: \w \s \S"),
    Row("%ab+c?%", "xabbbz", True, "REGEX: + and ? quantifiers"),
    Row("%[^0-9]%", "12345", False, "REGEX: negated class [^...]"),
    # --- JSON: selectors and string values ------------------------------------------------------------------
    Row('{ $.eventType = "UpdateTrail" }', j({"eventType": "UpdateTrail"}), True, "JSON example"),
    Row('{ $.eventType = "UpdateTrail" }', j({"eventType": "CreateTrail"}), False, "JSON example"),
    Row(
        "{ $.sourceIPAddress != 123.123.* }", j({"sourceIPAddress": "111.111.111.111"}), True, "JSON example"
    ),
    Row("{ $.sourceIPAddress != 123.123.* }", j({"sourceIPAddress": "123.123.0.1"}), False, "JSON example"),
    Row(
        "{ $.eventSource = s3.amazonaws.com }",
        j({"eventSource": "s3.amazonaws.com"}),
        True,
        "CT: unquoted dots",
    ),
    Row(
        "{ $.requestParameters.instanceType = *.8xlarge }",
        j({"requestParameters": {"instanceType": "c5.8xlarge"}}),
        True,
        "CT: leading * is a suffix match",
    ),
    Row(
        "{ $.requestParameters.instanceType = *.8xlarge }",
        j({"requestParameters": {"instanceType": "c5.xlarge"}}),
        False,
        "CT: leading * is a suffix match",
    ),
    Row(
        '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }',
        j({"user": {"id": 1}, "users": [{"email": "John.Doe@example.com"}]}),
        True,
        "MAIN/JSON example: index",
    ),
    Row(
        '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }',
        j({"user": {"id": 1}, "users": [{"email": "x"}, {"email": "John.Doe@example.com"}]}),
        False,
        "MAIN/JSON: [0] is the first element only",
    ),
    Row("{ $.coordinates[0][1] = 45 }", j({"coordinates": [[6, 45], [7, 46]]}), True, "JSON: nested arrays"),
    Row(
        "{ $.coordinates[0] = 6 }",
        j({"coordinates": [[6, 45]]}),
        False,
        "JSON: selector on an array -> no match",
    ),
    Row(
        "{ $.users = 1 }", j({"users": [1, 2, 3]}), False, "OLD21 special considerations: array never matches"
    ),
    Row(
        "{ $.users != 1 }",
        j({"users": [1, 2, 3]}),
        False,
        "OLD21 special considerations: array never matches",
    ),
    Row('{ $.user != "x" }', j({"user": {"id": 1}}), False, "JSON: selector on an object -> no match"),
    Row('{ $.arrayKey[*] = "value" }', j({"arrayKey": ["a", "value"]}), True, "JSON: [*] is any element"),
    Row('{ $.arrayKey[*] = "value" }', j({"arrayKey": ["a", "b"]}), False, "JSON: [*] is any element"),
    Row('{ $.* = "value" }', j({"other": "value"}), True, "JSON: .* is any field"),
    Row(
        '{ $.users[*].name = "bob" }',
        j({"users": [{"name": "al"}, {"name": "bob"}]}),
        True,
        "JSON: [*] then key",
    ),
    Row(
        "{ $.['cluster.name'] = \"prod\" }", j({"cluster.name": "prod"}), True, "JSON: bracket key with a dot"
    ),
    Row(
        "{ $.['cluster.name'] = \"prod\" }",
        j({"cluster": {"name": "prod"}}),
        False,
        "JSON: bracket key is 1 key",
    ),
    Row("{ $.eventName = ConsoleLogin }", j({"eventName": "ConsoleLogin"}), True, "JSON: unquoted == quoted"),
    Row(
        '{$.eventName="ConsoleLogin"}',
        j({"eventName": "ConsoleLogin"}),
        True,
        "JSON: whitespace is free (SH)",
    ),
    Row(
        '{ $.EventName = "ConsoleLogin" }',
        j({"eventName": "ConsoleLogin"}),
        False,
        "INF: keys case-sensitive",
    ),
    Row(
        '{ $.userIdentity.type = "root" }',
        j({"userIdentity": {"type": "Root"}}),
        False,
        "MAIN: case sensitive",
    ),
    # --- JSON: wildcards in values ------------------------------------------------------------------------
    Row('{ $.eventName = "*Event" }', j({"eventName": "MyEvent"}), True, "OLD21/CDK: * at start = suffix"),
    Row('{ $.eventName = "Event*" }', j({"eventName": "EventBus"}), True, "OLD21/CDK: * at end = prefix"),
    Row('{ $.eventName = "*ven*" }', j({"eventName": "MyEvents"}), True, "OLD21/CDK: *x* = contains"),
    Row('{ $.eventName = "Ev*ent" }', j({"eventName": "Ev*ent"}), True, "OLD21: mid-string * is literal"),
    Row('{ $.eventName = "Ev*ent" }', j({"eventName": "EvXent"}), False, "OLD21: mid-string * is literal"),
    Row(
        '{ $.errorCode = "AccessDenied*" }',
        j({"errorCode": "AccessDenied"}),
        True,
        "INF: * matches empty rest",
    ),
    Row("{ $.latency = * }", j({"latency": 12}), True, "OLD22/CDK exists(): = * on a number"),
    Row('{ $.eventType = "*" }', j({"eventType": "AwsApiCall"}), True, 'OLD22/CDK exists(): = "*"'),
    Row("{ $.latency = * }", j({"other": 1}), False, "CDK exists(): missing field"),
    # --- JSON: numbers --------------------------------------------------------------------------------------
    Row(HTTP_SERVER, j({"component": "HttpServer", "error": False, "latency": 1500}), True, "CDK example"),
    Row(HTTP_SERVER, j({"component": "HttpServer", "error": True, "latency": 10}), True, "CDK example"),
    Row(HTTP_SERVER, j({"component": "HttpServer", "error": False, "latency": 10}), False, "CDK example"),
    Row(HTTP_SERVER, j({"component": "Db", "error": True, "latency": 1500}), False, "CDK example"),
    Row("{ $.value = 1e-3 }", j({"value": 0.001}), True, "OLD21 grammar: exponent; numeric equality"),
    Row("{ $.value = +1000 }", j({"value": 1000}), True, "OLD21 grammar: sign"),
    Row("{ $.value >= -1.5 }", j({"value": -1.5}), True, "OLD21 grammar: negative decimal"),
    Row("{ $.value < 10e3 }", j({"value": 9999}), True, "OLD21 grammar: 10e3"),
    Row("{ $.value <= 2 }", j({"value": 2.5}), False, "numeric <="),
    Row("{ $.value != 5 }", j({"value": 6}), True, "numeric !="),
    Row("{ $.code = 200 }", j({"code": "200"}), False, "INF: number operand vs string leaf does not compare"),
    Row("{ $.flag = 1 }", j({"flag": True}), False, "INF: JSON true is not the number 1"),
    # --- JSON: IS NULL / NOT EXISTS / IS TRUE / IS FALSE ----------------------------------------------------
    Row(
        "{ $.SomeObject IS NULL }", j({"SomeObject": None}), True, "JSON/OLD21: IS NULL only when set to null"
    ),
    Row("{ $.SomeObject IS NULL }", j({}), False, "JSON/OLD21: IS NULL only when set to null"),
    Row("{ $.SomeObject IS NULL }", j({"SomeObject": 0}), False, "JSON/OLD21: IS NULL only when set to null"),
    Row("{ $.SomeOtherObject NOT EXISTS }", j({}), True, "JSON: NOT EXISTS when absent"),
    Row("{ $.SomeOtherObject NOT EXISTS }", j({"SomeOtherObject": None}), False, "INF: a null field exists"),
    Row("{ $.SomeOtherObject NOT EXISTS }", j({"SomeOtherObject": {"a": 1}}), False, "JSON: object exists"),
    Row("{ $.ThisFlag IS TRUE }", j({"ThisFlag": True}), True, "OLD21 ThisFlag example"),
    Row("{ $.ThisFlag IS TRUE }", j({"ThisFlag": "true"}), False, "CDK booleanValue: JSON boolean only"),
    Row("{ $.ThisFlag IS FALSE }", j({"ThisFlag": False}), True, "OLD21 IS FALSE"),
    Row("{ $.ThisFlag IS FALSE }", j({}), False, "CDK: field must exist"),
    # --- JSON: && || precedence ---------------------------------------------------------------------------
    Row(
        "{ $.a = 1 || $.b = 1 && $.c = 1 }",
        j({"a": 1, "b": 0, "c": 0}),
        True,
        "JSON: && binds tighter than ||",
    ),
    Row(
        "{ ($.a = 1 || $.b = 1) && $.c = 1 }",
        j({"a": 1, "b": 0, "c": 0}),
        False,
        "JSON: parentheses override",
    ),
    Row("{ (($.a = 1)) }", j({"a": 1}), True, "JSON: nested parentheses"),
    # --- JSON: missing fields and non-JSON events -----------------------------------------------------------
    Row('{ $.x != "Yes" }', j({"y": 1}), False, "AZUL: != on a missing field is false"),
    Row(
        '{ ($.x != "Yes") || ($.x NOT EXISTS) }',
        j({"y": 1}),
        True,
        "AZUL PR #8228: the documented workaround",
    ),
    Row("{ $.x < 5 }", j({}), False, "AZUL rule applied to numeric comparisons"),
    Row("{ $.a = 1 }", "a = 1 but not JSON", False, "CDK: only matches if the event is a JSON event"),
    Row("{ $.a NOT EXISTS }", "plain text", False, "CDK: only matches if the event is a JSON event"),
    Row("{ $.a NOT EXISTS }", "42", False, "INF: a bare JSON scalar is not a structured event"),
    # --- JSON: regex values --------------------------------------------------------------------------------
    Row("{ $.eventType = %Trail% }", j({"eventType": "UpdateTrail"}), True, "REGEX: regex as JSON value"),
    Row("{ $.eventType != %Trail% }", j({"eventType": "CreateBucket"}), True, "REGEX with !="),
    Row("{ $.eventType = %^Trail% }", j({"eventType": "UpdateTrail"}), False, "REGEX anchors in JSON"),
    Row('{ $.foo = "%bar%" }', j({"foo": "bar"}), False, "aws-cdk#30451: quotes turn regex off"),
    Row('{ $.foo = "%bar%" }', j({"foo": "%bar%"}), True, "aws-cdk#30451: quotes turn regex off"),
    # --- space-delimited ------------------------------------------------------------------------------------
    Row("[w1=ERROR, w2]", ERROR_LINE, True, "MAIN example [w1=ERROR, w2]"),
    Row("[w1=ERROR, w2]", "WARN 09/25/2014 12:00:02 slow", False, "MAIN example [w1=ERROR, w2]"),
    Row("[w1=ERROR]", ERROR_LINE, False, "MAIN: a blank field must follow the last condition (INF why)"),
    Row(f"[{APACHE_FIELDS}, status_code = 4*, bytes]", APACHE_404, True, "OLD22: status_code = 4*"),
    Row(f"[{APACHE_FIELDS}, status_code = 4*, bytes]", APACHE_200, False, "OLD22: status_code = 4*"),
    Row(f"[{APACHE_FIELDS} = *.html*, status_code, bytes]", APACHE_404, True, "OLD22: request = *.html*"),
    Row(f"[{APACHE_FIELDS} = *.html*, status_code, bytes]", APACHE_GIF, False, "OLD22: request = *.html*"),
    Row(f"[{APACHE_FIELDS}, status_code, bytes > 1000]", APACHE_404, True, "MAIN: bytes > 1000"),
    Row(f"[{APACHE_FIELDS}, status_code, bytes > 1000]", APACHE_GIF, False, "MAIN: bytes > 1000"),
    Row("[..., status_code, bytes]", APACHE_404, True, "MAIN: ... is any number of fields"),
    Row("[..., status_code = 404, bytes]", APACHE_200, False, "MAIN: ... then numeric equality"),
    Row(
        f"[{APACHE_FIELDS}, status_code = 404 || status_code = 410, bytes]",
        APACHE_404,
        True,
        "MAIN: || same field",
    ),
    Row(f"[{APACHE_FIELDS}, status_code = 404 || status_code = 410, bytes]", APACHE_200, False, "MAIN"),
    Row("[w1!=ERROR && w1!=WARNING, w2]", "INFO started", True, "MAIN: && on the same field"),
    Row("[w1!=ERROR && w1!=WARNING, w2]", "WARNING disk", False, "MAIN: && on the same field"),
    Row(r"[ip=%127\.0\.0\.[1-9]%, ...]", APACHE_404, True, "REGEX: regex as a delimited field value"),
    Row(r"[ip=%127\.0\.0\.[1-9]%, ...]", "10.0.0.1 - bob", False, "REGEX: regex as a delimited field value"),
    Row(r"[method, url=%/service/resource/[0-9]+$%, status]", "GET /service/resource/123 200", True, "MAIN"),
    Row(r"[method, url=%/service/resource/[0-9]+$%, status]", "GET /service/resource/abc 200", False, "MAIN"),
    Row("[a, b, c]", "only two", False, "INF: fewer tokens than fields -> no match"),
    Row('[a, b = "x y", c]', 'one "x y" three', True, 'MAIN: text inside "..." is one field'),
    Row("[a, b = ERROR, c]", "one error three", False, "MAIN: case sensitive"),
)


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_conformance_row(row: Row) -> None:
    # Given the pattern, when AWS would evaluate the raw message, then the documented result follows.
    assert compile_pattern(row.pattern).matches(row.message) is row.expected, row.rule


def _is_json_object(message: str) -> bool:
    try:
        return isinstance(json.loads(message), dict)
    except ValueError:
        return False


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r.pattern.startswith("{") and _is_json_object(r.message)], ids=str
)
def test_matches_json_agrees_with_matches_on_json_rows(row: Row) -> None:
    # The replay fast path (already-parsed JSON) must give the same answer as parsing the message.
    parsed = json.loads(row.message)
    assert compile_pattern(row.pattern).matches_json(parsed) is row.expected, row.rule


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [
        ("", "all"),
        ('" "', "all"),
        ("ERROR", "terms"),
        ("-ERROR", "terms"),
        ("{ $.a = 1 }", "json"),
        ("  { $.a = 1 }", "json"),
        ("[a, b]", "delimited"),
        ("%abc%", "regex"),
        ('"[ERROR]"', "terms"),
    ],
)
def test_dialect_is_chosen_by_first_character(pattern: str, kind: str) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.kind == kind
    assert compiled.source == pattern


def test_extracted_values_name_every_named_field_like_test_metric_filter() -> None:
    # TestMetricFilter returns extractedValues keyed "$field"; [...] and "..." fields lose their delimiters.
    pattern = compile_pattern("[ip, user, username, timestamp, request, status_code, bytes]")
    assert pattern.extracted_values(APACHE_404) == {
        "$ip": "127.0.0.1",
        "$user": "-",
        "$username": "frank",
        "$timestamp": "10/Oct/2000:13:25:15 -0700",
        "$request": "GET /index.html HTTP/1.0",
        "$status_code": "404",
        "$bytes": "1534",
    }


def test_extracted_values_skip_ellipsis_and_bind_trailing_fields_from_the_end() -> None:
    pattern = compile_pattern("[first, ..., status_code, bytes]")
    assert pattern.extracted_values(APACHE_404) == {
        "$first": "127.0.0.1",
        "$status_code": "404",
        "$bytes": "1534",
    }


def test_last_field_absorbs_the_rest_of_the_event() -> None:
    assert compile_pattern("[w1=ERROR, w2]").extracted_values(ERROR_LINE) == {
        "$w1": "ERROR",
        "$w2": "09/25/2014 12:00:02 Failed to process request",
    }


def test_extracted_values_are_empty_for_non_delimited_or_non_matching() -> None:
    assert compile_pattern('{ $.a = "x" }').extracted_values(j({"a": "x"})) == {}
    assert compile_pattern("ERROR").extracted_values("ERROR here") == {}
    assert compile_pattern("[w1=ERROR, w2]").extracted_values("INFO fine") == {}


def test_text_patterns_see_parsed_json_as_compact_text() -> None:
    record = {"eventName": "ConsoleLogin", "sourceIPAddress": "1.2.3.4"}
    assert compile_pattern('"\\"eventName\\":\\"ConsoleLogin\\""').matches_json(record)
    assert compile_pattern("%ConsoleLogin%").matches_json(record)
    assert not compile_pattern("DeleteTrail").matches_json(record)


def test_compile_pattern_is_cached() -> None:
    assert compile_pattern("{ $.a = 1 }") is compile_pattern("{ $.a = 1 }")


def test_pattern_of_exactly_1024_characters_is_accepted() -> None:
    text = "A" * 1024
    assert compile_pattern(text).matches("x" + text)
