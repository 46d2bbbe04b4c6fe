"""PatternIndex: the literal prefilter must never change a result, only skip work.

Equivalence is checked over thousands of records from a seeded random generator that mixes the literals
the patterns use with near-misses, wrong types (numbers, null, objects where strings are expected) and
missing keys. (A seeded generator rather than hypothesis keeps the test dependency-free and reproducible.)
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import pytest

from detections.filter_pattern import FilterPattern, PatternIndex, Step, compile_pattern, necessary_literals

PATTERNS: dict[str, str] = {
    "unauthorized": '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    "no-mfa": '{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != "Yes") }',
    "root": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }',
    "trail": "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) "
    "|| ($.eventName = StopLogging) }",
    "kms": "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) "
    "|| ($.eventName = ScheduleKeyDeletion)) }",
    "s3-policy": "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketPolicy) "
    "|| ($.eventName = DeleteBucketPolicy)) }",
    # OR across different paths: must stay unconstrained.
    "mixed-or": '{ ($.eventName = "DeleteTrail") || ($.userIdentity.type = "Root") }',
    # Contradictory AND: can never match, so it may be indexed under an empty set.
    "contradiction": '{ ($.eventName = "A") && ($.eventName = "B") }',
    # Wildcard and regex conditions give no literal, so this one is evaluated for every record.
    "wildcard": '{ ($.eventName = "Delete*") && ($.eventSource = %^s3\\.% ) }',
    "array": '{ $.resources[*].type = "AWS::KMS::Key" }',
    "bracket": "{ $.['cluster.name'] = \"prod\" && $.eventName = DeleteTrail }",
    "nested-literal": '{ $.requestParameters.bucketName = "audit-logs" && $.eventName = "DeleteBucket" }',
    "number": "{ $.responseElements.count = 3 }",
    "null": "{ $.errorCode IS NULL && $.eventName = StopLogging }",
    "terms": "DeleteTrail",
    "regex": "%Root%",
    "all": "",
    "delimited": "[first, ...]",
}

EVENT_NAMES = [
    "ConsoleLogin", "CreateTrail", "UpdateTrail", "DeleteTrail", "StopLogging", "DisableKey",
    "ScheduleKeyDeletion", "PutBucketPolicy", "DeleteBucketPolicy", "DeleteBucket", "DescribeInstances",
    "A", "B", "consolelogin", "DeleteTrailX", "", 7, None, {"nested": "DeleteTrail"}, ["DeleteTrail"],
]  # fmt: skip
EVENT_SOURCES = ["kms.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com", "s3x.amazonaws.com", None, 3]
ERROR_CODES = [
    "AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "Client.AccessDenied",
    "ThrottlingException", None,
]  # fmt: skip
IDENTITY_TYPES = ["Root", "IAMUser", "AssumedRole", "root", None, 1]


def random_record(rng: random.Random) -> dict[str, object]:
    record: dict[str, object] = {}

    def maybe(key: str, choices: Sequence[object], missing: float = 0.15) -> None:
        if rng.random() >= missing:
            record[key] = rng.choice(choices)

    maybe("eventName", EVENT_NAMES, 0.05)
    maybe("eventSource", EVENT_SOURCES)
    maybe("errorCode", ERROR_CODES, 0.6)
    maybe("eventType", ["AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn"])
    if rng.random() < 0.85:
        identity: dict[str, object] = {}
        if rng.random() < 0.9:
            identity["type"] = rng.choice(IDENTITY_TYPES)
        if rng.random() < 0.2:
            identity["invokedBy"] = "support.amazonaws.com"
        record["userIdentity"] = identity if rng.random() < 0.95 else "Root"
    if rng.random() < 0.5:
        record["additionalEventData"] = (
            {"MFAUsed": rng.choice(["Yes", "No", None])} if rng.random() < 0.8 else {}
        )
    if rng.random() < 0.3:
        record["requestParameters"] = {"bucketName": rng.choice(["audit-logs", "other", None])}
    if rng.random() < 0.2:
        record["resources"] = [{"type": rng.choice(["AWS::KMS::Key", "AWS::S3::Bucket"])} for _ in range(2)]
    if rng.random() < 0.2:
        record["cluster.name"] = rng.choice(["prod", "dev"])
    if rng.random() < 0.2:
        record["responseElements"] = {"count": rng.choice([3, 3.0, "3", True, 4])}
    return record


@pytest.fixture(scope="module")
def compiled() -> dict[str, FilterPattern]:
    return {key: compile_pattern(text) for key, text in PATTERNS.items()}


def test_match_json_equals_evaluating_every_pattern(compiled: dict[str, FilterPattern]) -> None:
    # Given a seeded generator of CloudTrail-like records with near-misses and wrong types
    rng = random.Random(20261124)
    index = PatternIndex(compiled)
    matched_any = 0
    for _ in range(4000):
        record = random_record(rng)
        # When the index evaluates them, then the answer is exactly the brute-force one, in insertion order
        expected = [key for key, pattern in compiled.items() if pattern.matches_json(record)]
        assert index.match_json(record) == expected, record
        matched_any += len(expected) > 3  # more than the always-matching text patterns
    assert matched_any > 400  # the generator really exercises the constrained patterns


@pytest.mark.parametrize("value", ["DeleteTrail", 5, None, [{"eventName": "DeleteTrail"}], True])
def test_match_json_on_non_object_values_equals_every_pattern(
    compiled: dict[str, FilterPattern], value: object
) -> None:
    # A parsed value that is not a JSON object: JSON patterns see no fields, text patterns see its JSON text.
    expected = [key for key, pattern in compiled.items() if pattern.matches_json(value)]
    assert PatternIndex(compiled).match_json(value) == expected


def test_match_message_equals_evaluating_every_pattern(compiled: dict[str, FilterPattern]) -> None:
    rng = random.Random(7)
    index = PatternIndex(compiled)
    messages = [json.dumps(random_record(rng)) for _ in range(1500)]
    messages += ["DeleteTrail from a plain text line", "Root login", "not json {", "42", "[1, 2]", "  "]
    for message in messages:
        expected = [key for key, pattern in compiled.items() if pattern.matches(message)]
        assert index.match_message(message) == expected, message


def test_most_patterns_are_constrained_by_literals(compiled: dict[str, FilterPattern]) -> None:
    index = PatternIndex(compiled)
    assert set(index.unconstrained_keys) == {
        "unauthorized", "mixed-or", "wildcard", "array", "number", "terms", "regex", "all", "delimited",
    }  # fmt: skip


def test_necessary_literals_are_derived_from_the_ast() -> None:
    def requirements(text: str) -> dict[str, frozenset[str]]:
        expression = compile_pattern(text).json_expression
        assert expression is not None
        return {
            ".".join(str(step.key) for step in path): literals
            for path, literals in necessary_literals(expression).items()
        }

    assert requirements(PATTERNS["kms"]) == {
        "eventSource": frozenset({"kms.amazonaws.com"}),
        "eventName": frozenset({"DisableKey", "ScheduleKeyDeletion"}),
    }
    assert requirements(PATTERNS["root"]) == {"userIdentity.type": frozenset({"Root"})}
    assert requirements(PATTERNS["mixed-or"]) == {}
    assert requirements(PATTERNS["unauthorized"]) == {}  # wildcards are not exact literals
    assert requirements(PATTERNS["contradiction"]) == {"eventName": frozenset()}
    assert requirements('{ $.eventName != "X" }') == {}
    assert requirements('{ $.a[*] = "X" }') == {}
    assert requirements("{ ($.a = X && $.b = Y) || ($.a = Z) }") == {"a": frozenset({"X", "Z"})}


def test_index_steps_are_hashable_paths() -> None:
    expression = compile_pattern("{ $.a[0].b = X }").json_expression
    assert expression is not None
    assert necessary_literals(expression) == {(Step("key", "a"), Step("index", 0), Step("key", "b")): {"X"}}
