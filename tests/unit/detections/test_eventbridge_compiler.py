"""The EventBridge compile target: translations, refusals, quotas, the envelope and the CLI.

Verdicts are checked with event-ruler (an independent matcher, in-process) where the operator is inside its
subset; the whole catalogue is compared with moto's EventBridge in
tests/integration/test_eventbridge_differential.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from detections.__main__ import main
from detections.catalogue import CATALOGUE, Detection, get_detection
from detections.fast_path import FastPathError, decide, plan
from detections.targets import cloudtrail_fields
from detections.targets.eventbridge import (
    EVENT_PATTERN_MAX_CHARS,
    EventBridgeRefusal,
    compile_patterns,
    eventbridge_envelope,
    forwarding_patterns,
)
from tests.eventbridge_oracles import event_ruler_matches, event_ruler_supports


def detail(pattern: str) -> dict[str, Any]:
    return compile_patterns([pattern]).pattern["detail"]


def refusal(pattern: str) -> str:
    with pytest.raises(EventBridgeRefusal) as raised:
        compile_patterns([pattern])
    return raised.value.reason


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{$.eventName = "ConsoleLogin"}', {"eventName": ["ConsoleLogin"]}),
        ("{$.errorCode = AccessDenied*}", {"errorCode": [{"prefix": "AccessDenied"}]}),
        ("{$.errorCode = *Unauthorized}", {"errorCode": [{"suffix": "Unauthorized"}]}),
        ("{$.errorCode = *Den*ied*}", {"errorCode": [{"wildcard": "*Den\\*ied*"}]}),
        ('{$.eventType != "AwsServiceEvent"}', {"eventType": [{"anything-but": ["AwsServiceEvent"]}]}),
        ("{$.eventName != Get*}", {"eventName": [{"anything-but": {"prefix": "Get"}}]}),
        ("{$.errorCode NOT EXISTS}", {"errorCode": [{"exists": False}]}),
        ("{$.errorCode IS NULL}", {"errorCode": [None]}),
        ("{$.readOnly IS FALSE}", {"readOnly": [False]}),
        ("{$.requestParameters.userName = *}", {"requestParameters": {"userName": [{"exists": True}]}}),
        ("{($.eventName = A) || ($.eventName = B)}", {"eventName": ["A", "B"]}),
        ("{($.eventType != A) && ($.eventType != B)}", {"eventType": [{"anything-but": ["A", "B"]}]}),
        ("{(($.eventName = A) || ($.eventName = B)) && ($.eventName != B)}", {"eventName": ["A"]}),
        (
            "{($.eventName = A) || ($.eventSource = s)}",
            {"$or": [{"eventName": ["A"]}, {"eventSource": ["s"]}]},
        ),
        (
            "{$.errorCode NOT EXISTS && (($.eventName = A && $.readOnly IS TRUE) || $.eventName = B)}",
            {
                "errorCode": [{"exists": False}],
                "$or": [{"eventName": ["A"], "readOnly": [True]}, {"eventName": ["B"]}],
            },
        ),
    ],
)
def test_translations(pattern: str, expected: dict[str, Any]) -> None:
    assert detail(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("{$.eventName = %^Get%}", "regular expression"),
        ("{$.requestParameters.items[0].group = all}", "index or wildcard selector"),
        ("{$.requestParameters.*.x = all}", "index or wildcard selector"),
        ("{$.requestParameters.bucketName = b}", "not documented"),
        ("{($.eventName = A) && ($.eventName = B)}", "contradict"),
        ("{($.eventName = A*) && ($.eventName = *B)}", "cannot express"),
        ("{$.eventName != *}", "never matches"),
        ("{$.readOnly = yes}", "never matches"),
        ("{$.eventName IS TRUE}", "never matches"),
        ("{$.eventName > 3}", "never matches"),
        ("ConsoleLogin", "only JSON patterns"),
    ],
)
def test_refusals_name_the_reason(pattern: str, reason: str) -> None:
    assert reason in refusal(pattern)


def test_not_equal_is_refused_on_a_nullable_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        cloudtrail_fields.CLOUDTRAIL_FIELDS,
        "userIdentity.invokedBy",
        cloudtrail_fields.FieldSpec("string", True),
    )
    assert "anything-but matches null" in refusal("{$.userIdentity.invokedBy != x}")
    assert detail("{$.userIdentity.invokedBy = *}") == {"userIdentity": {"invokedBy": [{"wildcard": "*"}]}}


def test_numbers_compile_to_numeric_on_number_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cloudtrail_fields.CLOUDTRAIL_FIELDS, "n", cloudtrail_fields.FieldSpec("number"))
    assert detail("{$.n >= 3}") == {"n": [{"numeric": [">=", 3]}]}
    assert detail("{$.n != 3}") == {"n": [{"anything-but": [3]}]}
    assert "numeric range" in refusal("{$.n > 6e9}")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({}, False),  # a missing field: both false (the semantics notes' AZUL report; aws/event-ruler#126)
        ({"eventType": "AwsApiCall"}, True),
        ({"eventType": "AwsServiceEvent"}, False),
        ({"eventType": None}, True),  # explicit null: anything-but matches, the filter pattern does not
    ],
)
def test_anything_but_agrees_with_not_equal_on_missing_fields_and_not_on_null(
    record: dict[str, Any], expected: bool
) -> None:
    pattern = {"detail": detail('{$.eventType != "AwsServiceEvent"}')}
    assert event_ruler_matches(pattern, {"detail": record}) is expected
    engine = compile_patterns(['{$.eventType != "AwsServiceEvent"}'])
    assert engine.clauses  # the compiled form the unions are built from
    if record.get("eventType", "") is None:
        # Why '!=' compiles only on fields CloudTrail never writes as null.
        assert not cloudtrail_fields.CLOUDTRAIL_FIELDS["eventType"].nullable


def test_exists_false_is_true_for_an_object_which_the_filter_pattern_calls_present() -> None:
    """Why NOT EXISTS compiles only on documented scalar fields."""
    assert event_ruler_matches({"detail": {"x": [{"exists": False}]}}, {"detail": {"x": {"y": 1}}})


def test_the_union_of_additional_patterns_drops_alternatives_the_first_already_covers() -> None:
    route_tables = get_detection("route-table-changes")
    assert len(route_tables.all_patterns) == 2
    assert (
        compile_patterns(route_tables.all_patterns).pattern
        == compile_patterns([route_tables.pattern]).pattern
    )


def test_pattern_size_quota_is_enforced() -> None:
    # Each filter pattern fits CloudWatch's 1,024 characters; their union does not fit EventBridge's 2,048.
    patterns = [
        "{" + " || ".join(f"($.eventName = P{p}Name{i:02d}WithALongSuffix)" for i in range(20)) + "}"
        for p in range(4)
    ]
    with pytest.raises(EventBridgeRefusal, match=f"quota is {EVENT_PATTERN_MAX_CHARS}"):
        compile_patterns(patterns)


def test_forwarding_patterns_fit_the_quota_and_separate_read_only_listeners() -> None:
    fast = [d.compiled for d in plan(CATALOGUE) if d.enabled and d.compiled]
    patterns = forwarding_patterns(fast)
    assert all(p.size <= EVENT_PATTERN_MAX_CHARS for p in patterns)
    assert [p.needs_read_only_events for p in patterns].count(True) >= 1
    assert not all(p.needs_read_only_events for p in patterns)


def _detection(**changes: Any) -> Detection:
    return replace(get_detection("root-account-usage"), **changes)


def test_fast_path_defaults_follow_severity_and_exactness() -> None:
    assert decide(_detection()).enabled
    assert decide(_detection()).rule_state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    warning = decide(_detection(severity="warning"))
    assert not warning.enabled and "warning severity" in warning.reason
    inexact = decide(get_detection("ec2-ami-shared"))
    assert not inexact.enabled and "index" in inexact.reason
    assert decide(get_detection("cloudtrail-configuration-changes")).rule_state == "ENABLED"


def test_fast_path_flag_overrides_the_default_and_a_forced_inexact_one_is_an_error() -> None:
    assert not decide(_detection(fast_path=False)).enabled
    assert decide(_detection(severity="info", fast_path=True)).enabled
    with pytest.raises(FastPathError, match=r"ec2-ami-shared.*set fast_path = false"):
        decide(replace(get_detection("ec2-ami-shared"), fast_path=True))


def test_a_detection_resolved_by_its_alarms_ok_has_no_fast_path() -> None:
    # The OK resolves the alarm's alert; an alert a fast page opened first would never close
    resolved_on_ok = decide(_detection(resolve_policy="resolve_on_ok"))
    assert not resolved_on_ok.enabled and "resolve_on_ok" in resolved_on_ok.reason
    with pytest.raises(
        FastPathError, match=r'root-account-usage.*set resolve_policy = "manual" or fast_path'
    ):
        decide(_detection(resolve_policy="resolve_on_ok", fast_path=True))
    assert all(
        not decide(detection).enabled
        for detection in CATALOGUE
        if detection.resolve_policy == "resolve_on_ok"
    )


def test_more_than_thirty_wildcard_rules_is_an_error_naming_the_fix() -> None:
    wildcard = [_detection(id=f"w{i}", pattern="{$.errorCode = *Denied*}") for i in range(31)]
    with pytest.raises(FastPathError, match=r"31 fast-path rules use wildcards.*set fast_path = false on 1"):
        plan(wildcard)


def test_envelope_is_what_cloudtrail_publishes() -> None:
    record = {
        "eventType": "AwsConsoleSignIn",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "eventID": "e1",
        "eventTime": "2024-05-01T10:00:00Z",
        "awsRegion": "eu-west-1",
        "recipientAccountId": "111122223333",
    }
    envelope = eventbridge_envelope(record)
    assert envelope is not None
    assert envelope["detail-type"] == "AWS Console Sign In via CloudTrail"
    assert (envelope["source"], envelope["account"], envelope["region"]) == (
        "aws.signin",
        "111122223333",
        "eu-west-1",
    )
    assert envelope["detail"] == record
    assert eventbridge_envelope({**record, "eventType": "AwsCloudTrailInsight"}) is None


def test_event_ruler_subset_is_recognised() -> None:
    assert event_ruler_supports({"detail": {"a": ["x", {"exists": False}, {"anything-but": ["y"]}]}})
    assert not event_ruler_supports({"detail": {"a": [{"prefix": "x"}]}})
    assert not event_ruler_supports({"detail": {"$or": [{"a": ["x"]}, {"b": ["y"]}]}})


def test_cli_prints_the_pattern_or_the_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eventbridge-pattern", "root-console-login"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == compile_patterns(get_detection("root-console-login").all_patterns).pattern
    assert "fast path: on" in err
    assert main(["eventbridge-pattern", "ec2-ami-shared"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "index or wildcard selector" in err
    assert main(["eventbridge-pattern", "no-such-detection"]) == 2
