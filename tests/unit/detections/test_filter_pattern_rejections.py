"""Patterns CloudWatch Logs rejects: FilterPatternError names the 0-based position and the problem."""

from __future__ import annotations

import pytest

from detections.filter_pattern import FilterPatternError, compile_pattern

# (pattern, expected position, words the reason must contain, why AWS rejects it)
REJECTIONS: tuple[tuple[str, int, str, str], ...] = (
    ("{ $.a = 1", 9, "must end with '}'", "AWS: If a filter pattern starts with '{' it must end with '}'"),
    ("{}", 1, "property selector", "JSON pattern needs a condition"),
    ("{ a = 1 }", 2, "property selector", "selectors start with $"),
    ("{ $ = 1 }", 3, "after '$'", "selector needs at least one step"),
    ("{ $. = 1 }", 4, "property name", "empty property name"),
    ("{ $.a[x] = 1 }", 5, "array index", "index must be digits, * or a quoted key"),
    ("{ $.a['b = 1 }", 5, "unterminated bracket", "bracket key not closed"),
    ("{ $.a IS NOT NULL }", 9, "'IS NOT' is not supported", "JSON doc: IS NOT is not supported"),
    ("{ $.a EXISTS }", 6, "'EXISTS' is not supported", "JSON doc: EXISTS is not supported"),
    ("{ $.a IS MAYBE }", 9, "NULL, TRUE or FALSE", "IS takes NULL/TRUE/FALSE"),
    ("{ $.a NOT THERE }", 10, "EXISTS", "NOT must be followed by EXISTS"),
    ("{ $.a == 1 }", 6, "'=='", "no == operator"),
    ("{ $.a ~ 1 }", 6, "comparison operator", "unknown operator"),
    ("{ $.a = 'Root' }", 8, "single quotes", "terraform-provider-aws#2945: single quotes fail"),
    ('{ $.a = "Root }', 8, "unterminated quoted string", "unterminated string"),
    ('{ $.a > "10" }', 8, "must be a number", "numeric comparison needs a number"),
    ("{ $.a >= abc }", 9, "must be a number", "numeric comparison needs a number"),
    ("{ $.a = }", 8, "expected a value", "missing value"),
    ("{ $.a = 1 & $.b = 2 }", 10, "'&&' or '||'", "single & is not an operator"),
    ("{ $.a = 1 | $.b = 2 }", 10, "'&&' or '||'", "single | is not an operator"),
    ("{ ($.a = 1 }", 11, "')'", "unbalanced parenthesis"),
    ("{ $.a = 1 $.b = 2 }", 10, "'&&', '||' or '}'", "conditions need a logical operator"),
    ("{ $.a = 1 } trailing", 20, "must end with '}'", "AWS: a '{' pattern must end with '}'"),
    ("{ $.a = 1 }}", 11, "after the closing '}'", "nothing after the pattern"),
    ("{ $.a.*[*] = 1 }", 7, "at most one wildcard", "JSON doc: one wildcard per property selector"),
    (
        "{ $.a[*] = 1 && $.b[*] = 1 && $.c.* = 1 && $.d[*] = 1 }",
        43,
        "at most 3",
        "JSON doc: at most three wildcard selectors in a compound pattern",
    ),
    ("{ $.a = %x% || $.b = %y% || $.c = %z% }", 34, "at most 2", "MAIN quota: 2 regex per filter pattern"),
    ("[a = %x%, b = %y%, c = %z%]", 23, "at most 2", "MAIN quota: 2 regex per filter pattern"),
    ("%something!%", 10, "'!' is not allowed", "MAIN/REGEX: %something!% would be rejected"),
    ("%(abc)%", 1, "no groups", "REGEX: ( and ) are not supported"),
    ("%a b%", 2, "' ' is not allowed", "REGEX: space is not in the allowed set (use \\s or \\x20)"),
    ("%caf\u00e9%", 4, "multi-byte", "REGEX: multi-byte characters are not supported"),
    ("%\\bword%", 1, "unsupported escape", "REGEX: only \\d \\D \\s \\S \\w \\W \\xhh escapes"),
    ("%\\x2%", 1, "two hex digits", "REGEX: \\xhh"),
    ("%%", 1, "empty regular expression", "nothing to match"),
    ("%[a-%", 1, "invalid regular expression", "unbalanced character class"),
    ("%abc", 0, "unterminated regular expression", "missing closing %"),
    ("%abc% ERROR", 6, "after the closing '%'", "a standalone regex is the whole pattern"),
    ("{ $.a = %x(% }", 10, "no groups", "REGEX rules apply inside JSON too"),
    ("{ $.a > %x% }", 8, "must be a number", "regex only with = / !="),
    ("[a, b", 5, "',' or ']'", "delimited pattern must close"),
    ("[]", 1, "field name", "at least one field"),
    ("[a, , b]", 4, "field name", "empty field"),
    ("[..., a, ...]", 9, "only one '...'", "CDK: a single ellipsis"),
    (
        "[status_code = 4* && bytes > 1000]",
        21,
        "same field",
        "awsdocs/amazon-cloudwatch-logs-user-guide#21: && across fields is rejected",
    ),
    ("[a = 1 || b = 2]", 10, "same field", "|| across fields is rejected"),
    ("[a > x]", 5, "must be a number", "numeric comparison needs a number"),
    ("[a] x", 4, "after the closing ']'", "nothing after the pattern"),
    ('"unterminated', 0, "unterminated quoted string", "term quote not closed"),
    ('ab"c', 2, "inside an unquoted term", "quote inside a bare term"),
    ('"a"b', 3, "whitespace after a quoted term", "terms are whitespace separated"),
    ("ERROR -", 6, "expected a term after '-'", "dangling exclusion"),
    ('ERROR -""', 6, "non-empty term", "an empty exclusion would exclude everything"),
    ("x" * 1025, 1024, "maximum is 1024", "API: filterPattern max length 1024"),
)


@pytest.mark.parametrize(
    ("pattern", "position", "reason", "why"), REJECTIONS, ids=[r[0][:40] for r in REJECTIONS]
)
def test_rejected_with_position_and_reason(pattern: str, position: int, reason: str, why: str) -> None:
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern(pattern)
    error = caught.value
    assert (error.position, reason in error.reason) == (position, True), f"{why}: got {error}"
    assert str(error) == f"Invalid filter pattern at position {position}: {error.reason}"


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        compile_pattern("{")


def test_non_string_pattern_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        compile_pattern(None)  # deliberately not a str (lru_cache types the wrapper's arguments as Hashable)


@pytest.mark.parametrize(
    "pattern",
    [
        "{ $.a[*] = 1 && $.b[*] = 1 && $.c.* = 1 }",  # exactly 3 wildcard selectors in a compound pattern
        "{ $.a = %x% || $.b = %y% }",  # exactly 2 regex
        r"%[a-z0-9:_#=@/;,\-]+\.\*\\%",  # every allowed symbol, escaped operators
        "{ $.a = 'x }".replace("'", '"').replace(" }", '" }'),  # quoted value with a space inside
        "[..., a]",
        "{ $.a[0][1].b = 1 }",
        "{ $.a-b_c = 1 }",
    ],
)
def test_limits_and_allowed_syntax_are_accepted(pattern: str) -> None:
    assert compile_pattern(pattern).source == pattern  # compiled, no FilterPatternError


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{ $.eventName = %Delete.*% }", 1),
        ("%AccessDenied|UnauthorizedOperation%", 1),
        ("{ $.a = %x% || $.b = %y% }", 2),
        ("{ ($.a = %x%) && ($.b != %y%) }", 2),
        ('{ $.errorCode = "*UnauthorizedOperation" }', 0),
        ('{ $.requestParameters.note = "100% sure, 50% done" }', 0),
        ("[ip, user, status=4*]", 0),
        ("[ip, user = %adm.*%, status = %5\\d\\d%]", 2),
        ("ERROR -DEBUG", 0),
    ],
)
def test_regex_count_comes_from_the_parsed_form_not_percent_signs(pattern: str, expected: int) -> None:
    assert compile_pattern(pattern).regex_count == expected
