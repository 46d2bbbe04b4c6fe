"""CloudWatch Logs filter patterns: parser, validator and fast evaluator.

Implements the pattern language AWS documents for metric filters, subscription filters, FilterLogEvents and
TestMetricFilter (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

* ``""`` / whitespace / ``" "``          -> matches every event                       (kind "all")
* ``ERROR -DEBUG ?WARN "a phrase"``      -> unstructured terms                        (kind "terms")
* ``{ $.a.b = "x*" && $.n > 3 }``        -> JSON selectors                            (kind "json")
* ``[ip, user, ..., status = 4*]``       -> space-delimited fields                    (kind "delimited")
* ``%regex%``                            -> standalone regular expression             (kind "regex")

Patterns are parsed once into a small AST and then compiled into closures, so evaluating an event is a few
dict lookups and comparisons with no re-parsing.  ``PatternIndex`` adds a prefilter on literal equality
conditions (``$.eventName = "X"``) so that, for a catalogue of CloudTrail patterns, most patterns are never
evaluated for most records.

Where the AWS documentation is silent, the choice made here is written next to the code as "Undocumented:".
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_PATTERN_LENGTH",
    "FilterPattern",
    "FilterPatternError",
    "PatternIndex",
    "compile_pattern",
    "necessary_literals",
]

# API shape FilterPattern {min: 0, max: 1024} (PutMetricFilter, FilterLogEvents, TestMetricFilter, ...).
MAX_PATTERN_LENGTH = 1024
# "There is a quota of two regular expression patterns within a single filter pattern" (PutMetricFilter docs).
MAX_REGEX_PER_PATTERN = 2
# "At most one wildcard selector per property selector, and at most three wildcard selectors per filter
# pattern that uses compound expressions" (JSON filter pattern docs).
MAX_WILDCARDS_PER_SELECTOR = 1
MAX_WILDCARDS_PER_COMPOUND_PATTERN = 3

PatternKind = Literal["all", "terms", "json", "delimited", "regex"]


class FilterPatternError(ValueError):
    """A pattern CloudWatch Logs would reject, with the 0-based character position of the problem."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(f"Invalid filter pattern at position {position}: {reason}")


class _Missing:
    """Sentinel for "the selector resolved to nothing" (distinct from a JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

# Leaf types a present JSON value node can have; dict/list are "object or array" and never compare.
_SCALAR_TYPES = (str, int, float, bool)
_NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\Z")

# ---------------------------------------------------------------------------------------------------------
# Values shared by JSON and space-delimited patterns
# ---------------------------------------------------------------------------------------------------------

StringMode = Literal["any", "exact", "prefix", "suffix", "contains"]


@dataclass(frozen=True)
class StringValue:
    """A string operand. ``*`` is a wildcard only as the first and/or last character.

    Documented (2018-2021 guide): "``Ev*ent`` will only match the actual string ``Ev*ent``", and AWS CDK:
    "'*' wildcard may appear in the value ... at the start or at the end". So a mid-string ``*`` is literal.
    """

    text: str
    quoted: bool
    position: int

    @property
    def mode(self) -> StringMode:
        return _wildcard_split(self.text)[0]

    @property
    def core(self) -> str:
        return _wildcard_split(self.text)[1]


def _wildcard_split(text: str) -> tuple[StringMode, str]:
    starts, ends = text.startswith("*"), text.endswith("*")
    if text and text.strip("*") == "":
        return "any", ""
    if starts and ends:
        return "contains", text[1:-1]
    if starts:
        return "suffix", text[1:]
    if ends:
        return "prefix", text[:-1]
    return "exact", text


@dataclass(frozen=True)
class NumberValue:
    value: int | float
    text: str
    position: int


@dataclass(frozen=True)
class RegexValue:
    source: str
    compiled: re.Pattern[str]
    position: int


Operand = StringValue | NumberValue | RegexValue

# ---------------------------------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------------------------------

StepKind = Literal["key", "index", "any_key", "any_index"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    key: str | int | None = None


@dataclass(frozen=True)
class Selector:
    text: str
    steps: tuple[Step, ...]
    position: int

    @property
    def wildcard_count(self) -> int:
        return sum(1 for step in self.steps if step.kind in ("any_key", "any_index"))


JsonOperator = Literal["=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"]
_IS_KEYWORDS: tuple[tuple[str, JsonOperator], ...] = (
    ("NULL", "IS NULL"),
    ("TRUE", "IS TRUE"),
    ("FALSE", "IS FALSE"),
)


@dataclass(frozen=True)
class JsonCondition:
    selector: Selector
    operator: JsonOperator
    operand: Operand | None  # None for IS NULL / IS TRUE / IS FALSE / NOT EXISTS


@dataclass(frozen=True)
class JsonAnd:
    items: tuple[JsonExpr, ...]


@dataclass(frozen=True)
class JsonOr:
    items: tuple[JsonExpr, ...]


JsonExpr = JsonCondition | JsonAnd | JsonOr


@dataclass(frozen=True)
class Term:
    text: str
    prefix: Literal["", "-", "?"]
    position: int

    @property
    def matches_everything(self) -> bool:
        # Documented: the pattern `" "` matches every event, including one without a space, and the
        # (older) guide says `""` matches all events. So a term that is empty or only whitespace is
        # treated as "no constraint" rather than as a substring search.
        return self.text.strip() == ""


ComparisonOperator = Literal["=", "!=", "<", "<=", ">", ">="]
_OPERATORS_LONGEST_FIRST: tuple[ComparisonOperator, ...] = ("!=", "<=", ">=", "=", "<", ">")


@dataclass(frozen=True)
class FieldCondition:
    operator: ComparisonOperator
    operand: Operand


@dataclass(frozen=True)
class DelimitedField:
    """One ``[...]`` position: ``...``, a bare name, or a name with conditions.

    ``conditions`` is a disjunction of conjunctions (``a = 1 && a != 2 || a = 3``; && binds tighter).
    """

    name: str | None  # None for "..."
    conditions: tuple[tuple[FieldCondition, ...], ...]
    position: int

    @property
    def is_ellipsis(self) -> bool:
        return self.name is None


# ---------------------------------------------------------------------------------------------------------
# Regular expressions %...%
# ---------------------------------------------------------------------------------------------------------

# Documented allowed characters: alphanumerics, the symbols : _ # = @ / ; , - and the operators
# ^ $ ? [ ] { } | \ * + .  Parentheses (groups) and multi-byte characters are not supported; anything
# else must be written as \xhh.
_REGEX_SYMBOLS = frozenset(":_#=@/;,-^$?[]{}|\\*+.")
_REGEX_CLASS_ESCAPES = frozenset("dDsSwW")


def _compile_regex(body: str, position: int) -> re.Pattern[str]:
    """Validate a regex body (without the % delimiters) against AWS's rules; ``position`` is the body's."""
    if body == "":
        raise FilterPatternError(position, "empty regular expression '%%'")
    index = 0
    while index < len(body):
        char = body[index]
        where = position + index
        if char == "\\":
            if index + 1 >= len(body):
                raise FilterPatternError(where, "regular expression ends with a lone '\\'")
            escaped = body[index + 1]
            if escaped == "x":
                hex_digits = body[index + 2 : index + 4]
                if len(hex_digits) != 2 or not all(c in "0123456789abcdefABCDEF" for c in hex_digits):
                    raise FilterPatternError(where, "'\\x' must be followed by two hex digits (\\xhh)")
                index += 4
                continue
            if escaped.isascii() and escaped.isalnum():
                if escaped not in _REGEX_CLASS_ESCAPES:
                    raise FilterPatternError(
                        where, f"unsupported escape '\\{escaped}' (supported: \\d \\D \\s \\S \\w \\W \\xhh)"
                    )
            else:
                _check_regex_char(escaped, where + 1)
            index += 2
            continue
        _check_regex_char(char, where)
        index += 1
    try:
        # re.ASCII: \d, \w, \s mean the ASCII classes; AWS regex does not support multi-byte characters.
        return re.compile(body, re.ASCII)
    except re.error as error:
        offset = error.pos if error.pos is not None else 0
        raise FilterPatternError(position + offset, f"invalid regular expression: {error.msg}") from None


def _check_regex_char(char: str, where: int) -> None:
    if char.isascii() and (char.isalnum() or char in _REGEX_SYMBOLS):
        return
    if not char.isascii():
        raise FilterPatternError(where, "multi-byte characters are not supported in regular expressions")
    if char in "()":
        raise FilterPatternError(
            where,
            f"'{char}' is not supported in regular expressions (no groups); write it as \\x{ord(char):02x}",
        )
    raise FilterPatternError(
        where, f"character {char!r} is not allowed in a regular expression; write it as \\x{ord(char):02x}"
    )


# ---------------------------------------------------------------------------------------------------------
# Tokenizing helpers shared by the JSON and delimited parsers
# ---------------------------------------------------------------------------------------------------------


class _Cursor:
    """A position in the pattern text with small scanning helpers; all errors carry the absolute index."""

    def __init__(self, text: str, position: int = 0) -> None:
        self.text = text
        self.position = position
        self.regex_count = 0

    def skip_space(self) -> None:
        text, position = self.text, self.position
        while position < len(text) and text[position].isspace():
            position += 1
        self.position = position

    def peek(self, length: int = 1) -> str:
        return self.text[self.position : self.position + length]

    def at_end(self) -> bool:
        return self.position >= len(self.text)

    def error(self, reason: str, position: int | None = None) -> FilterPatternError:
        return FilterPatternError(self.position if position is None else position, reason)

    def describe_here(self) -> str:
        return "end of pattern" if self.at_end() else repr(self.text[self.position])

    def expect(self, token: str, what: str) -> None:
        self.skip_space()
        if not self.text.startswith(token, self.position):
            raise self.error(f"expected {what}, found {self.describe_here()}")
        self.position += len(token)

    def read_quoted(self) -> tuple[str, int]:
        """Read a double-quoted string at the cursor; returns (decoded text, start position).

        Undocumented: escapes. Only \\" and \\\\ are treated as escapes so that Windows paths and regex-like
        text keep their backslashes; every other backslash is literal.
        """
        start = self.position
        text = self.text
        index = start + 1
        chars: list[str] = []
        while index < len(text):
            char = text[index]
            if char == "\\" and index + 1 < len(text) and text[index + 1] in '"\\':
                chars.append(text[index + 1])
                index += 2
                continue
            if char == '"':
                self.position = index + 1
                return "".join(chars), start
            chars.append(char)
            index += 1
        raise self.error('unterminated quoted string (missing closing ")', start)

    def read_regex(self) -> RegexValue:
        start = self.position
        end = self.text.find("%", start + 1)
        if end < 0:
            raise self.error("unterminated regular expression (missing closing %)", start)
        self.regex_count += 1
        if self.regex_count > MAX_REGEX_PER_PATTERN:
            raise self.error(
                f"too many regular expressions: at most {MAX_REGEX_PER_PATTERN} are allowed per "
                "filter pattern",
                start,
            )
        body = self.text[start + 1 : end]
        compiled = _compile_regex(body, start + 1)
        self.position = end + 1
        return RegexValue(body, compiled, start)

    def read_operator(self, allowed: Sequence[ComparisonOperator]) -> tuple[ComparisonOperator, int]:
        self.skip_space()
        start = self.position
        for operator in _OPERATORS_LONGEST_FIRST:
            if self.text.startswith(operator, start):
                if operator == "=" and self.text.startswith("==", start):
                    raise self.error("'==' is not an operator; use '='", start)
                if operator not in allowed:
                    break
                self.position = start + len(operator)
                return operator, start
        raise self.error(
            f"expected a comparison operator ({', '.join(allowed)}), found {self.describe_here()}"
        )


def _number_or_string(token: str, position: int, quoted: bool) -> Operand:
    if not quoted and _NUMBER_RE.match(token):
        is_integer = "." not in token and "e" not in token.lower()
        return NumberValue(int(token) if is_integer else float(token), token, position)
    return StringValue(token, quoted, position)


def _check_operand(operator: str, operand: Operand, cursor: _Cursor) -> None:
    if operator in ("<", "<=", ">", ">=") and not isinstance(operand, NumberValue):
        raise cursor.error(f"'{operator}' compares numbers; the value must be a number", operand.position)


# ---------------------------------------------------------------------------------------------------------
# JSON patterns: parser
# ---------------------------------------------------------------------------------------------------------

_SELECTOR_NAME_RE = re.compile(r"[A-Za-z0-9_\-]+")
# Undocumented: which characters an unquoted value may contain. The docs say values that are not only
# alphanumerics/underscore "must" be quoted, yet AWS's own examples use unquoted dots and wildcards
# (`s3.amazonaws.com`, `123.123.*`, `*.8xlarge`). So an unquoted value runs until whitespace or a structural
# character; quote characters inside it are rejected (single quotes are not string delimiters).
_JSON_VALUE_STOP = frozenset("(){}&|")
_VALUE_FORBIDDEN = frozenset("\"'[]=!<>%,")


class _JsonParser:
    def __init__(self, text: str) -> None:
        self.cursor = _Cursor(text)
        self.selectors: list[Selector] = []
        self.compound = False

    def parse(self) -> JsonExpr:
        cursor = self.cursor
        cursor.skip_space()
        text = cursor.text
        if not text.rstrip().endswith("}"):
            raise cursor.error("a filter pattern that starts with '{' must end with '}'", len(text.rstrip()))
        cursor.expect("{", "'{'")
        expression = self._parse_or()
        cursor.expect("}", "'&&', '||' or '}'")
        cursor.skip_space()
        if not cursor.at_end():
            raise cursor.error(f"unexpected {cursor.describe_here()} after the closing '}}'")
        self._check_wildcard_quota()
        return expression

    def _check_wildcard_quota(self) -> None:
        if not self.compound:
            return
        seen = 0
        for selector in self.selectors:
            seen += selector.wildcard_count
            if seen > MAX_WILDCARDS_PER_COMPOUND_PATTERN:
                raise self.cursor.error(
                    f"too many wildcard selectors: a compound pattern may use at most "
                    f"{MAX_WILDCARDS_PER_COMPOUND_PATTERN}",
                    selector.position,
                )

    def _parse_or(self) -> JsonExpr:
        items = [self._parse_and()]
        while self._accept_logical("||"):
            items.append(self._parse_and())
        if len(items) == 1:
            return items[0]
        self.compound = True
        return JsonOr(tuple(items))

    def _parse_and(self) -> JsonExpr:
        items = [self._parse_atom()]
        while self._accept_logical("&&"):
            items.append(self._parse_atom())
        if len(items) == 1:
            return items[0]
        self.compound = True
        return JsonAnd(tuple(items))

    def _accept_logical(self, token: str) -> bool:
        cursor = self.cursor
        cursor.skip_space()
        if cursor.text.startswith(token, cursor.position):
            cursor.position += 2
            return True
        if cursor.peek() in ("&", "|") and cursor.peek(2) not in ("&&", "||"):
            raise cursor.error(f"expected '&&' or '||', found a single {cursor.peek()!r}")
        return False

    def _parse_atom(self) -> JsonExpr:
        cursor = self.cursor
        cursor.skip_space()
        if cursor.peek() == "(":
            cursor.position += 1
            expression = self._parse_or()
            cursor.expect(")", "'&&', '||' or ')'")
            return expression
        if cursor.peek() == "$":
            return self._parse_condition()
        raise cursor.error(
            f"expected a property selector starting with '$' or '(', found {cursor.describe_here()}"
        )

    def _parse_selector(self) -> Selector:
        cursor = self.cursor
        text = cursor.text
        start = cursor.position
        cursor.position += 1  # "$"
        steps: list[Step] = []
        while True:
            position = cursor.position
            char = cursor.peek()
            if char == "." and cursor.peek(2) == ".*":
                steps.append(Step("any_key"))
                cursor.position += 2
            elif char == "." and cursor.peek(2) == ".[":
                cursor.position += 1
                steps.append(self._parse_bracket())
            elif char == ".":
                match = _SELECTOR_NAME_RE.match(text, position + 1)
                if not match:
                    raise cursor.error(
                        "expected a property name after '.' (use $.['name'] for names with other characters)",
                        position + 1,
                    )
                steps.append(Step("key", match.group()))
                cursor.position = match.end()
            elif char == "[":
                steps.append(self._parse_bracket())
            else:
                break
            if sum(1 for s in steps if s.kind in ("any_key", "any_index")) > MAX_WILDCARDS_PER_SELECTOR:
                raise cursor.error(
                    "a property selector may contain at most one wildcard ('.*' or '[*]')", position
                )
        if not steps:
            raise cursor.error("expected '.' or '[' after '$' (e.g. $.eventName)", cursor.position)
        selector = Selector(text[start : cursor.position], tuple(steps), start)
        self.selectors.append(selector)
        return selector

    def _parse_bracket(self) -> Step:
        cursor = self.cursor
        text = cursor.text
        start = cursor.position  # at "["
        if text.startswith("[*]", start):
            cursor.position += 3
            return Step("any_index")
        if text.startswith("['", start):
            end = text.find("']", start + 2)
            if end < 0:
                raise cursor.error('unterminated bracket key: expected "\']"', start)
            cursor.position = end + 2
            return Step("key", text[start + 2 : end])
        match = re.compile(r"\[(\d+)\]").match(text, start)
        if not match:
            raise cursor.error("expected an array index like [0], [*] or a key like ['name']", start)
        cursor.position = match.end()
        return Step("index", int(match.group(1)))

    def _parse_condition(self) -> JsonCondition:
        cursor = self.cursor
        selector = self._parse_selector()
        cursor.skip_space()
        if cursor.text.startswith("IS", cursor.position):
            return self._parse_is(selector)
        if cursor.text.startswith("NOT", cursor.position):
            start = cursor.position
            cursor.position += 3
            cursor.skip_space()
            if not cursor.text.startswith("EXISTS", cursor.position):
                raise cursor.error("expected 'EXISTS' after 'NOT'")
            cursor.position += len("EXISTS")
            self._expect_keyword_end(start)
            return JsonCondition(selector, "NOT EXISTS", None)
        if cursor.text.startswith("EXISTS", cursor.position):
            raise cursor.error("'EXISTS' is not supported; use '= *' to test that a field is present")
        operator, _ = cursor.read_operator(("=", "!=", "<", "<=", ">", ">="))
        operand = self._parse_value()
        _check_operand(operator, operand, cursor)
        if isinstance(operand, RegexValue) and operator not in ("=", "!="):
            raise cursor.error("a regular expression can only be used with '=' or '!='", operand.position)
        return JsonCondition(selector, operator, operand)

    def _parse_is(self, selector: Selector) -> JsonCondition:
        cursor = self.cursor
        start = cursor.position
        cursor.position += 2
        cursor.skip_space()
        for keyword, operator in _IS_KEYWORDS:
            if cursor.text.startswith(keyword, cursor.position):
                cursor.position += len(keyword)
                self._expect_keyword_end(start)
                return JsonCondition(selector, operator, None)
        if cursor.text.startswith("NOT", cursor.position):
            raise cursor.error("'IS NOT' is not supported; use 'NOT EXISTS' or '!='")
        raise cursor.error(f"expected NULL, TRUE or FALSE after 'IS', found {cursor.describe_here()}")

    def _expect_keyword_end(self, start: int) -> None:
        cursor = self.cursor
        following = cursor.peek()
        if following and (following.isalnum() or following == "_"):
            raise cursor.error(
                f"unexpected {following!r} right after the keyword that starts at position {start}"
            )

    def _parse_value(self) -> Operand:
        cursor = self.cursor
        cursor.skip_space()
        char = cursor.peek()
        if char == '"':
            value, start = cursor.read_quoted()
            # Documented: quoting turns regex off; only '*' at the ends stays a wildcard.
            return StringValue(value, True, start)
        if char == "%":
            return cursor.read_regex()
        return self._read_bare_value()

    def _read_bare_value(self) -> Operand:
        cursor = self.cursor
        text = cursor.text
        start = cursor.position
        index = start
        while index < len(text) and not text[index].isspace() and text[index] not in _JSON_VALUE_STOP:
            index += 1
        token = text[start:index]
        if token == "":
            raise cursor.error(f"expected a value, found {cursor.describe_here()}")
        _reject_forbidden_value_chars(token, start)
        cursor.position = index
        return _number_or_string(token, start, quoted=False)


def _reject_forbidden_value_chars(token: str, start: int) -> None:
    for offset, char in enumerate(token):
        if char == "'":
            raise FilterPatternError(
                start + offset, "single quotes are not string delimiters; use double quotes"
            )
        if char in _VALUE_FORBIDDEN:
            raise FilterPatternError(
                start + offset, f"unexpected {char!r} in an unquoted value; quote the value"
            )


# ---------------------------------------------------------------------------------------------------------
# JSON patterns: compilation to closures
# ---------------------------------------------------------------------------------------------------------

JsonPredicate = Callable[[object], bool]


def _no_json_predicate(value: object) -> bool:
    """Stands in for the predicate of a text or "all" pattern, which PatternIndex never evaluates as JSON."""
    raise AssertionError("a pattern without a JSON predicate was evaluated as a JSON pattern")


Getter = Callable[[object], object]


def _compile_getter(steps: tuple[Step, ...]) -> Getter:
    """A function returning the single value at a wildcard-free path, or MISSING."""
    if all(step.kind == "key" for step in steps):
        keys = tuple(str(step.key) for step in steps)
        if len(keys) == 1:
            (k1,) = keys

            def get1(value: object) -> object:
                return value.get(k1, MISSING) if type(value) is dict else MISSING

            return get1
        if len(keys) == 2:
            k1, k2 = keys

            def get2(value: object) -> object:
                if type(value) is dict:
                    inner = value.get(k1, MISSING)
                    if type(inner) is dict:
                        return inner.get(k2, MISSING)
                return MISSING

            return get2

    def get_any(value: object) -> object:
        for step in steps:
            if step.kind == "key":
                if type(value) is not dict:
                    return MISSING
                value = value.get(step.key, MISSING)
                if value is MISSING:
                    return MISSING
            else:  # index
                index = step.key
                if type(value) is not list or not isinstance(index, int) or index >= len(value):
                    return MISSING
                value = value[index]
        return value

    return get_any


def _resolve_all(value: object, steps: tuple[Step, ...]) -> list[object]:
    """All values a path with wildcards reaches (existential semantics: any reached value may satisfy)."""
    current = [value]
    for step in steps:
        following: list[object] = []
        for node in current:
            if step.kind == "key":
                if type(node) is dict and step.key in node:
                    following.append(node[step.key])
            elif step.kind == "index":
                if type(node) is list and isinstance(step.key, int) and step.key < len(node):
                    following.append(node[step.key])
            elif step.kind == "any_index":
                if type(node) is list:
                    following.extend(node)
            elif type(node) is dict:  # any_key
                following.extend(node.values())
        current = following
        if not current:
            break
    return current


def _string_test(mode: StringMode, core: str, negate: bool) -> Callable[[object], bool]:
    """A test on a present leaf. Strings compare; objects/arrays/null never match, for = and != alike.

    Documented: "If a property selector points to an array or object, the filter pattern won't match".
    Undocumented: whether a string operand compares with a number leaf ("200" vs 200) — it does not here;
    numbers are compared by the numeric operators only (semantics notes §7: avoid relying on it). The one
    exception is the bare wildcard `*`, which matches any present string, number or boolean (CDK's
    `exists()` renders `$.x = "*"` and the older guide shows `{ $.latency = * }` on a numeric field).
    """
    if mode == "any":
        if negate:
            return lambda v: False
        return lambda v: type(v) in _SCALAR_TYPES
    if mode == "exact":
        if negate:
            return lambda v: type(v) is str and v != core
        return lambda v: v == core if type(v) is str else False
    if mode == "prefix":
        test: Callable[[str], bool] = lambda s: s.startswith(core)  # noqa: E731
    elif mode == "suffix":
        test = lambda s: s.endswith(core)  # noqa: E731
    else:
        test = lambda s: core in s  # noqa: E731
    if negate:
        return lambda v: type(v) is str and not test(v)
    return lambda v: type(v) is str and test(v)


def _number_test(operator: str, number: int | float) -> Callable[[object], bool]:
    # bool is a subclass of int in Python but a distinct JSON type: exact `type(v) is` tests exclude it.
    tests: dict[str, Callable[[object], bool]] = {
        "=": lambda v: (type(v) is int or type(v) is float) and v == number,
        "!=": lambda v: (type(v) is int or type(v) is float) and v != number,
        "<": lambda v: (type(v) is int or type(v) is float) and v < number,
        "<=": lambda v: (type(v) is int or type(v) is float) and v <= number,
        ">": lambda v: (type(v) is int or type(v) is float) and v > number,
        ">=": lambda v: (type(v) is int or type(v) is float) and v >= number,
    }
    return tests[operator]


def _regex_test(regex: re.Pattern[str], negate: bool) -> Callable[[object], bool]:
    search = regex.search  # documented: unanchored search; ^ and $ anchor
    if negate:
        return lambda v: type(v) is str and search(v) is None
    return lambda v: type(v) is str and search(v) is not None


def _leaf_test(condition: JsonCondition) -> Callable[[object], bool]:
    operator, operand = condition.operator, condition.operand
    if operator == "IS NULL":
        # Documented: "only true if the specified object is set to null".
        return lambda v: v is None
    if operator == "IS TRUE":
        return lambda v: v is True
    if operator == "IS FALSE":
        return lambda v: v is False
    if isinstance(operand, StringValue):
        return _string_test(operand.mode, operand.core, negate=operator == "!=")
    if isinstance(operand, RegexValue):
        return _regex_test(operand.compiled, negate=operator == "!=")
    assert isinstance(operand, NumberValue)
    return _number_test(operator, operand.value)


def _compile_condition(condition: JsonCondition) -> JsonPredicate:
    steps = condition.selector.steps
    has_wildcard = condition.selector.wildcard_count > 0
    if condition.operator == "NOT EXISTS":
        # Documented for absent paths. Undocumented for null: a field present with value null exists.
        if has_wildcard:
            return lambda record: not _resolve_all(record, steps)
        getter = _compile_getter(steps)
        return lambda record: getter(record) is MISSING
    leaf = _leaf_test(condition)
    if has_wildcard:
        # Undocumented: wildcard selectors are existential, i.e. the condition holds if any reached value
        # satisfies it (the docs describe [*] as "any element" and .* as "any field").
        return lambda record: any(leaf(v) for v in _resolve_all(record, steps))
    getter = _compile_getter(steps)
    operand = condition.operand
    if condition.operator == "=" and isinstance(operand, StringValue) and operand.mode == "exact":
        literal = operand.core
        # Hot path (eventName/eventSource equality): a str never equals a non-str, and MISSING never
        # equals a str, so plain == is exactly the documented rule.
        return lambda record: getter(record) == literal
    # A missing field makes =, != and numeric comparisons false (MISSING fails every leaf test).
    return lambda record: leaf(getter(record))


def _compile_json(expression: JsonExpr) -> JsonPredicate:
    if isinstance(expression, JsonCondition):
        return _compile_condition(expression)
    parts = tuple(_compile_json(item) for item in expression.items)
    if isinstance(expression, JsonAnd):
        if len(parts) == 2:
            a, b = parts
            return lambda record: a(record) and b(record)
        if len(parts) == 3:
            a, b, c = parts
            return lambda record: a(record) and b(record) and c(record)

        def all_of(record: object) -> bool:
            # An explicit loop: measurably cheaper per event than all() over a generator.
            for part in parts:  # noqa: SIM110
                if not part(record):
                    return False
            return True

        return all_of
    if len(parts) == 2:
        a, b = parts
        return lambda record: a(record) or b(record)

    def any_of(record: object) -> bool:
        for part in parts:  # noqa: SIM110 (see all_of)
            if part(record):
                return True
        return False

    return any_of


def _is_structured(value: object) -> bool:
    # Undocumented: what counts as a "JSON log event". Only objects (and arrays) are structured; a message
    # that is a bare JSON scalar ("5", "true") is treated as not JSON, so `NOT EXISTS` cannot match it.
    return type(value) is dict or type(value) is list


def _parse_json_message(message: str) -> object:
    """The parsed message, or MISSING when it is not a JSON object/array (then no JSON pattern matches)."""
    try:
        value = json.loads(message)
    except (ValueError, RecursionError):
        return MISSING
    return value if _is_structured(value) else MISSING


def _json_text(value: object) -> str:
    """Text form of an already-parsed event, for text (term/regex/delimited) patterns.

    CloudTrail delivers each record to CloudWatch Logs as compact JSON, so compact separators are the
    closest reconstruction of the raw message available once it has been parsed.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------------------
# Unstructured term patterns
# ---------------------------------------------------------------------------------------------------------


def _parse_terms(text: str) -> tuple[Term, ...]:
    cursor = _Cursor(text)
    terms: list[Term] = []
    while True:
        cursor.skip_space()
        if cursor.at_end():
            return tuple(terms)
        start = cursor.position
        peeked = cursor.peek()
        prefix: Literal["", "-", "?"] = "-" if peeked == "-" else "?" if peeked == "?" else ""
        cursor.position += len(prefix)
        if cursor.peek() == '"':
            value, _ = cursor.read_quoted()
            following = cursor.peek()
            if following and not following.isspace():
                raise cursor.error("expected whitespace after a quoted term")
        else:
            token_start = cursor.position
            while not cursor.at_end() and not cursor.peek().isspace():
                if cursor.peek() == '"':
                    raise cursor.error("unexpected '\"' inside an unquoted term; quote the whole term")
                cursor.position += 1
            value = text[token_start : cursor.position]
            if value == "" and prefix:
                raise cursor.error(f"expected a term after '{prefix}'", start)
        if prefix == "-" and value.strip() == "":
            raise cursor.error("an exclusion '-' needs a non-empty term", start)
        terms.append(Term(value, prefix, start))


def _compile_terms(terms: tuple[Term, ...]) -> Callable[[str], bool]:
    required = tuple(t.text for t in terms if t.prefix == "" and not t.matches_everything)
    excluded = tuple(t.text for t in terms if t.prefix == "-")
    optional = tuple(t for t in terms if t.prefix == "?")
    has_plain = any(t.prefix == "" for t in terms)
    # Documented (current MAIN text): "If you mix ? terms with plain or - terms, the ? terms are ignored":
    # `?ERROR ?ARGUMENTS REQUEST` behaves like `REQUEST`.
    use_optional = bool(optional) and not has_plain and not excluded
    any_of = tuple(t.text for t in optional)
    optional_always = any(t.matches_everything for t in optional)

    def match(message: str) -> bool:
        # Documented: case-sensitive; undocumented but shown by older AWS examples: substring, not word.
        for term in required:
            if term not in message:
                return False
        for term in excluded:
            if term in message:
                return False
        if use_optional and not optional_always:
            return any(term in message for term in any_of)
        return True

    return match


# ---------------------------------------------------------------------------------------------------------
# Space-delimited patterns
# ---------------------------------------------------------------------------------------------------------

_FIELD_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
_DELIMITED_VALUE_STOP = frozenset(",]&|")


class _DelimitedParser:
    def __init__(self, text: str) -> None:
        self.cursor = _Cursor(text)

    def parse(self) -> tuple[DelimitedField, ...]:
        cursor = self.cursor
        cursor.skip_space()
        cursor.expect("[", "'['")
        fields: list[DelimitedField] = []
        while True:
            cursor.skip_space()
            fields.append(self._parse_field())
            cursor.skip_space()
            if cursor.peek() == ",":
                cursor.position += 1
                continue
            if cursor.peek() == "]":
                cursor.position += 1
                break
            raise cursor.error(f"expected ',' or ']', found {cursor.describe_here()}")
        cursor.skip_space()
        if not cursor.at_end():
            raise cursor.error(f"unexpected {cursor.describe_here()} after the closing ']'")
        ellipses = [f for f in fields if f.is_ellipsis]
        if len(ellipses) > 1:
            # Undocumented for AWS; AWS CDK (AWS's own generator) allows a single '...', and with one it is
            # unambiguous which tokens each named field binds.
            raise cursor.error("only one '...' is allowed in a space-delimited pattern", ellipses[1].position)
        return tuple(fields)

    def _parse_field(self) -> DelimitedField:
        cursor = self.cursor
        start = cursor.position
        if cursor.peek(3) == "...":
            cursor.position += 3
            return DelimitedField(None, (), start)
        name = self._read_name()
        cursor.skip_space()
        if cursor.peek() in (",", "]", ""):
            return DelimitedField(name, (), start)
        alternatives: list[tuple[FieldCondition, ...]] = []
        conjunction = [self._parse_condition()]
        while True:
            cursor.skip_space()
            logical = cursor.peek(2)
            if logical not in ("&&", "||"):
                if cursor.peek() in ("&", "|"):
                    raise cursor.error(f"expected '&&' or '||', found a single {cursor.peek()!r}")
                break
            cursor.position += 2
            cursor.skip_space()
            other_start = cursor.position
            other = self._read_name()
            if other != name:
                # Observed on real AWS: `[..., status_code = 4* && bytes > 1000]` is rejected
                # (awsdocs/amazon-cloudwatch-logs-user-guide#21).
                raise cursor.error(
                    f"'{logical}' can only combine conditions on the same field ('{name}'), found '{other}'",
                    other_start,
                )
            if logical == "||":
                alternatives.append(tuple(conjunction))
                conjunction = []
            conjunction.append(self._parse_condition())
        alternatives.append(tuple(conjunction))
        return DelimitedField(name, tuple(alternatives), start)

    def _read_name(self) -> str:
        cursor = self.cursor
        match = _FIELD_NAME_RE.match(cursor.text, cursor.position)
        if not match:
            raise cursor.error(f"expected a field name or '...', found {cursor.describe_here()}")
        cursor.position = match.end()
        return match.group()

    def _parse_condition(self) -> FieldCondition:
        cursor = self.cursor
        operator, _ = cursor.read_operator(("=", "!=", "<", "<=", ">", ">="))
        cursor.skip_space()
        char = cursor.peek()
        operand: Operand
        if char == '"':
            value, start = cursor.read_quoted()
            operand = StringValue(value, True, start)
        elif char == "%":
            operand = cursor.read_regex()
            if operator not in ("=", "!="):
                raise cursor.error("a regular expression can only be used with '=' or '!='", operand.position)
        else:
            start = cursor.position
            text = cursor.text
            index = start
            while (
                index < len(text) and not text[index].isspace() and text[index] not in _DELIMITED_VALUE_STOP
            ):
                index += 1
            token = text[start:index]
            if token == "":
                raise cursor.error(f"expected a value, found {cursor.describe_here()}")
            _reject_forbidden_value_chars(token, start)
            cursor.position = index
            operand = _number_or_string(token, start, quoted=False)
        _check_operand(operator, operand, cursor)
        return FieldCondition(operator, operand)


@dataclass(frozen=True)
class _Token:
    value: str
    start: int


def _tokenize_event(message: str) -> list[_Token]:
    """Split an event on whitespace; text inside "..." or [...] is one field (delimiters stripped).

    Documented: "Text inside [...] or "..." in the event counts as one field."
    """
    tokens: list[_Token] = []
    index, length = 0, len(message)
    while index < length:
        char = message[index]
        if char.isspace():
            index += 1
            continue
        if char in '"[':
            closer = '"' if char == '"' else "]"
            end = message.find(closer, index + 1)
            if end >= 0:
                tokens.append(_Token(message[index + 1 : end], index))
                index = end + 1
                continue
        end = index
        while end < length and not message[end].isspace():
            end += 1
        tokens.append(_Token(message[index:end], index))
        index = end
    return tokens


def _field_condition_test(condition: FieldCondition) -> Callable[[str], bool]:
    operand, operator = condition.operand, condition.operator
    if isinstance(operand, StringValue):
        test = _string_test(operand.mode, operand.core, negate=operator == "!=")
        return lambda token: test(token)
    if isinstance(operand, RegexValue):
        return _regex_test(operand.compiled, negate=operator == "!=")
    number_test = _number_test(operator, operand.value)

    def numeric(token: str) -> bool:
        # A field compares numerically only when its text is a number; otherwise the condition is false.
        if not _NUMBER_RE.match(token):
            return False
        return number_test(float(token))

    return numeric


def _field_test(field: DelimitedField) -> Callable[[str], bool] | None:
    if not field.conditions:
        return None
    alternatives = [tuple(_field_condition_test(c) for c in conj) for conj in field.conditions]
    return lambda token: any(all(test(token) for test in conj) for conj in alternatives)


class _DelimitedMatcher:
    """Binds event tokens to the pattern's fields and evaluates their conditions."""

    def __init__(self, fields: tuple[DelimitedField, ...]) -> None:
        split = next((i for i, f in enumerate(fields) if f.is_ellipsis), None)
        self.has_ellipsis = split is not None
        self.before = fields if split is None else fields[:split]
        self.after = () if split is None else fields[split + 1 :]
        self.before_tests = [_field_test(f) for f in self.before]
        self.after_tests = [_field_test(f) for f in self.after]

    def bind(self, message: str) -> list[tuple[DelimitedField, str]] | None:
        tokens = _tokenize_event(message)
        if len(tokens) < len(self.before) + len(self.after):
            return None
        bound: list[tuple[DelimitedField, str]] = []
        for index, field in enumerate(self.before):
            value = tokens[index].value
            last_without_ellipsis = not self.has_ellipsis and index == len(self.before) - 1
            if last_without_ellipsis and len(tokens) > len(self.before):
                # Undocumented: the docs require "a blank indicator" after the last constrained field
                # (`[w1=ERROR, w2]` matches `ERROR 09/25/2014 ... request`). That is explained by the last
                # field absorbing the remaining text, so `[w1=ERROR]` alone does not match that event.
                value = message[tokens[index].start :].rstrip()
            bound.append((field, value))
        offset = len(tokens) - len(self.after)
        for index, field in enumerate(self.after):
            bound.append((field, tokens[offset + index].value))
        return bound

    def matches(self, message: str) -> bool:
        return self.extract(message) is not None

    def extract(self, message: str) -> dict[str, str] | None:
        bound = self.bind(message)
        if bound is None:
            return None
        tests = self.before_tests + self.after_tests
        extracted: dict[str, str] = {}
        for (field, value), test in zip(bound, tests, strict=True):
            if test is not None and not test(value):
                return None
            extracted[f"${field.name}"] = value
        return extracted


# ---------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------


class FilterPattern:
    """A compiled CloudWatch Logs filter pattern. Build it with ``compile_pattern``."""

    __slots__ = (
        "_extract",
        "_json_predicate",
        "_match_json",
        "_match_text",
        "json_expression",
        "kind",
        "regex_count",
        "source",
    )

    def __init__(
        self,
        source: str,
        kind: PatternKind,
        match_text: Callable[[str], bool],
        match_json: JsonPredicate,
        extract: Callable[[str], dict[str, str]] | None = None,
        json_expression: JsonExpr | None = None,
        json_predicate: JsonPredicate | None = None,
        regex_count: int = 0,
    ) -> None:
        self.source = source
        self.kind: PatternKind = kind
        self.json_expression = json_expression
        #: How many %regex% operands the parsed pattern has: what CloudWatch Logs counts against its quotas
        #: (2 per pattern, enforced when parsing; 5 regex-using filters per log group, counted by the stack).
        self.regex_count = regex_count
        self._match_text = match_text
        self._match_json = match_json
        self._extract = extract
        # The compiled JSON condition without the "is this a JSON object/array" guard, for PatternIndex,
        # which checks that once per event instead of once per pattern.
        self._json_predicate = json_predicate

    def matches(self, message: str) -> bool:
        """Whether a raw log event message matches (as a metric filter / FilterLogEvents would)."""
        return self._match_text(message)

    def matches_json(self, value: object) -> bool:
        """Whether an already-parsed JSON event matches. Text patterns see the event's compact JSON text."""
        return self._match_json(value)

    def extracted_values(self, message: str) -> dict[str, str]:
        """TestMetricFilter's extractedValues: ``{"$field": value}`` for space-delimited patterns, else {}."""
        if self._extract is None:
            return {}
        return self._extract(message)

    def __repr__(self) -> str:
        return f"FilterPattern(kind={self.kind!r}, source={self.source!r})"


@functools.lru_cache(maxsize=4096)
def compile_pattern(text: str) -> FilterPattern:
    """Parse, validate and compile a filter pattern; raises FilterPatternError if AWS would reject it."""
    if not isinstance(text, str):
        raise TypeError(f"filter pattern must be a str, not {type(text).__name__}")
    if len(text) > MAX_PATTERN_LENGTH:
        raise FilterPatternError(
            MAX_PATTERN_LENGTH, f"pattern is {len(text)} characters long; the maximum is {MAX_PATTERN_LENGTH}"
        )
    stripped = text.lstrip()
    # The dialect is chosen by the first character (AWS's own error text: "If a filter pattern starts with
    # '{' it must end with '}'"). Undocumented: leading whitespace; it is skipped here, as between terms.
    first = stripped[:1]
    if first == "{":
        return _build_json(text)
    if first == "[":
        return _build_delimited(text)
    if first == "%":
        return _build_regex(text)
    return _build_terms(text)


def _build_json(text: str) -> FilterPattern:
    expression = _JsonParser(text).parse()
    predicate = _compile_json(expression)

    def match_json(value: object) -> bool:
        return _is_structured(value) and predicate(value)

    def match_text(message: str) -> bool:
        value = _parse_json_message(message)
        return value is not MISSING and predicate(value)

    return FilterPattern(
        text,
        "json",
        match_text,
        match_json,
        json_expression=expression,
        json_predicate=predicate,
        regex_count=_json_regex_count(expression),
    )


def _json_regex_count(expression: JsonExpr) -> int:
    if isinstance(expression, JsonCondition):
        return int(isinstance(expression.operand, RegexValue))
    return sum(_json_regex_count(item) for item in expression.items)


def _build_delimited(text: str) -> FilterPattern:
    fields = _DelimitedParser(text).parse()
    matcher = _DelimitedMatcher(fields)
    regex_count = sum(
        isinstance(condition.operand, RegexValue)
        for field in fields
        for conjunction in field.conditions
        for condition in conjunction
    )

    def extract(message: str) -> dict[str, str]:
        return matcher.extract(message) or {}

    return FilterPattern(
        text,
        "delimited",
        matcher.matches,
        lambda value: matcher.matches(_json_text(value)),
        extract,
        regex_count=regex_count,
    )


def _build_regex(text: str) -> FilterPattern:
    cursor = _Cursor(text)
    cursor.skip_space()
    regex = cursor.read_regex()
    cursor.skip_space()
    if not cursor.at_end():
        raise cursor.error(f"unexpected {cursor.describe_here()} after the closing '%'")
    search = regex.compiled.search

    def match_text(message: str) -> bool:
        return search(message) is not None

    return FilterPattern(
        text, "regex", match_text, lambda value: match_text(_json_text(value)), regex_count=1
    )


def _build_terms(text: str) -> FilterPattern:
    terms = _parse_terms(text)
    matcher = _compile_terms(terms)
    if all(term.prefix == "" and term.matches_everything for term in terms):
        # "", whitespace, `" "` and `""`: documented to match every event.
        return FilterPattern(text, "all", lambda message: True, lambda value: True)
    return FilterPattern(text, "terms", matcher, lambda value: matcher(_json_text(value)))


# ---------------------------------------------------------------------------------------------------------
# PatternIndex: prefilter many JSON patterns by necessary literal equalities
# ---------------------------------------------------------------------------------------------------------

PathKey = tuple[Step, ...]
Requirements = dict[PathKey, frozenset[str]]


def necessary_literals(expression: JsonExpr) -> Requirements:
    """Conditions every matching event must satisfy: the value at path is a str in the given set.

    Derived generically from the AST: `$.p = "lit"` (exact, no wildcard, wildcard-free selector) requires
    p in {lit}; AND merges (intersecting sets on the same path); OR keeps only paths every branch constrains
    (union of sets). Anything else (wildcards, !=, numbers, regex, NOT EXISTS, ...) constrains nothing.
    """
    if isinstance(expression, JsonCondition):
        operand = expression.operand
        if (
            expression.operator == "="
            and isinstance(operand, StringValue)
            and operand.mode == "exact"
            and expression.selector.wildcard_count == 0
        ):
            return {expression.selector.steps: frozenset((operand.core,))}
        return {}
    parts = [necessary_literals(item) for item in expression.items]
    if isinstance(expression, JsonAnd):
        merged: Requirements = {}
        for part in parts:
            for path, literals in part.items():
                merged[path] = merged[path] & literals if path in merged else literals
        return merged
    common = set(parts[0])
    for part in parts[1:]:
        common &= set(part)
    return {path: frozenset().union(*(part[path] for part in parts)) for path in common}


class PatternIndex:
    """Evaluate many patterns per event, skipping those whose necessary literals the event lacks.

    Results are identical to evaluating every pattern; the order is the mapping's insertion order.
    """

    def __init__(self, patterns: Mapping[str, FilterPattern]) -> None:
        self._keys: tuple[str, ...] = tuple(patterns)
        self._patterns: tuple[FilterPattern, ...] = tuple(patterns.values())
        requirements = [
            necessary_literals(p.json_expression) if p.json_expression is not None else {}
            for p in self._patterns
        ]
        # Index each pattern under one path: the one most patterns share (fewest lookups per event), then
        # the one with the smallest literal set (most selective).
        popularity = Counter(path for requirement in requirements for path in requirement)
        tables: dict[PathKey, dict[str, list[int]]] = {}
        always: list[int] = []
        for position, requirement in enumerate(requirements):
            if not requirement:
                always.append(position)
                continue
            path = min(requirement, key=lambda p: (-popularity[p], len(requirement[p]), repr(p)))
            table = tables.setdefault(path, {})
            for literal in requirement[path]:
                table.setdefault(literal, []).append(position)
        self._always: tuple[int, ...] = tuple(always)
        self._tables: tuple[tuple[Getter, dict[str, tuple[int, ...]]], ...] = tuple(
            (_compile_getter(path), {literal: tuple(ids) for literal, ids in table.items()})
            for path, table in tables.items()
        )
        # Per pattern: how to evaluate it. JSON patterns run their compiled predicate on the parsed event;
        # text patterns (terms/regex/delimited) run on the message text; "all" needs no work.
        self._kinds: tuple[Literal["json", "all", "text"], ...] = tuple(
            "json" if p.kind == "json" else "all" if p.kind == "all" else "text" for p in self._patterns
        )
        self._has_json = "json" in self._kinds
        # Text and "all" patterns have no predicate; _evaluate never calls theirs (their kind is not "json").
        self._predicates: tuple[JsonPredicate, ...] = tuple(
            p._json_predicate or _no_json_predicate for p in self._patterns
        )
        self._text_matchers = tuple(p._match_text for p in self._patterns)

    @property
    def unconstrained_keys(self) -> tuple[str, ...]:
        """Keys evaluated for every event (no usable literal); useful to explain benchmark figures."""
        return tuple(self._keys[i] for i in self._always)

    def _candidates(self, record: object) -> Sequence[int]:
        if not self._tables:
            return self._always
        found: list[int] = list(self._always)
        for getter, table in self._tables:
            value = getter(record)
            if type(value) is str:
                ids = table.get(value)
                if ids:
                    found.extend(ids)
        if len(self._tables) > 1 or self._always:
            found.sort()
        return found

    def match_json(self, record: object) -> list[str]:
        """Keys of the patterns matching an already-parsed event, in insertion order."""
        if not _is_structured(record):
            return self._match_text_only(_json_text(record))
        return self._evaluate(record, None)

    def match_message(self, message: str) -> list[str]:
        """Keys of the patterns matching a raw message; JSON is parsed once for all JSON patterns."""
        record = _parse_json_message(message) if self._has_json else MISSING
        if record is MISSING:
            return self._match_text_only(message)
        return self._evaluate(record, message)

    def _match_text_only(self, text: str) -> list[str]:
        # Not a JSON event: no JSON pattern can match; text patterns see the text.
        keys, kinds = self._keys, self._kinds
        return [
            keys[i]
            for i, matcher in enumerate(self._text_matchers)
            if kinds[i] == "all" or (kinds[i] == "text" and matcher(text))
        ]

    def _evaluate(self, record: object, message: str | None) -> list[str]:
        keys, kinds, predicates = self._keys, self._kinds, self._predicates
        text = message  # computed lazily from the record when a text pattern needs it
        matched: list[str] = []
        for i in self._candidates(record):
            kind = kinds[i]
            if kind == "json":
                if predicates[i](record):
                    matched.append(keys[i])
            elif kind == "all":
                matched.append(keys[i])
            else:
                if text is None:
                    text = _json_text(record)
                if self._text_matchers[i](text):
                    matched.append(keys[i])
        return matched
