"""Suppressions: parsing errors that say what to fix, and matching that narrows exactly."""

from __future__ import annotations

import json
from datetime import date

import pytest

from detections.suppressions import (
    Suppression,
    for_detection,
    is_suppressed,
    parse_suppressions,
    suppressions_json,
)
from testkit.alarms import cloudtrail_record

VALID = {
    "detection": "root-account-usage",
    "principalArnPattern": "arn:aws:iam::*:role/BreakGlass",
    "sourceCidr": "203.0.113.0/24",
    "eventName": "ConsoleLogin",
    "expires": "2026-12-31",
    "reason": "Quarterly break-glass drill, SEC-123",
}
TODAY = date(2026, 11, 24)


def test_parses_the_documented_json_shape() -> None:
    (suppression,) = parse_suppressions([VALID])
    assert suppression == Suppression(
        detection="root-account-usage",
        reason="Quarterly break-glass drill, SEC-123",
        expires=date(2026, 12, 31),
        principal_arn_pattern="arn:aws:iam::*:role/BreakGlass",
        source_cidr="203.0.113.0/24",
        event_name="ConsoleLogin",
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"expires": "31/12/2026"},
            r"suppressions\[1\]\.expires: '31/12/2026' is not a date; use YYYY-MM-DD",
        ),
        ({"expires": "2026-02-30"}, r"suppressions\[1\]\.expires: '2026-02-30' is not a valid date"),
        (
            {"sourceCidr": "10.0.0.1/8"},
            r"suppressions\[1\]\.sourceCidr: '10.0.0.1/8' is not a CIDR block .*network",
        ),
        ({"detection": "Root Usage"}, r"suppressions\[1\]\.detection: 'Root Usage' is not a detection id"),
        (
            {"principalArnPattern": "alice"},
            r"suppressions\[1\]\.principalArnPattern: 'alice' is not an ARN pattern",
        ),
        ({"reason": ""}, r"suppressions\[1\]\.reason: expected a non-empty string"),
        ({"Reason": "x"}, r"suppressions\[1\]: unknown key\(s\) \['Reason'\]; allowed keys are"),
    ],
)
def test_bad_entries_name_the_index_field_value_and_fix(change: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_suppressions([VALID, {**VALID, **change}])


def test_missing_required_key_is_named() -> None:
    entry = {k: v for k, v in VALID.items() if k != "expires"}
    with pytest.raises(ValueError, match=r"suppressions\[0\]: missing required key 'expires'"):
        parse_suppressions([entry])


def test_a_suppression_must_narrow_the_detection() -> None:
    entry = {"detection": "root-account-usage", "expires": "2026-12-31", "reason": "too noisy"}
    with pytest.raises(ValueError, match="must narrow the detection"):
        parse_suppressions([entry])


def test_not_a_list_is_refused_with_the_expected_shape() -> None:
    with pytest.raises(ValueError, match="expected a JSON array"):
        parse_suppressions({"detection": "x"})


def test_matches_only_when_every_given_field_matches() -> None:
    (suppression,) = parse_suppressions([VALID])
    record = cloudtrail_record(
        eventName="ConsoleLogin",
        sourceIPAddress="203.0.113.99",
        userIdentity={"type": "AssumedRole", "arn": "arn:aws:iam::123456789012:role/BreakGlass"},
    )
    assert is_suppressed(record, [suppression], TODAY) is suppression
    assert is_suppressed({**record, "sourceIPAddress": "198.51.100.1"}, [suppression], TODAY) is None
    assert is_suppressed({**record, "eventName": "GetUser"}, [suppression], TODAY) is None
    other_principal = {
        **record,
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/eve"},
    }
    assert is_suppressed(other_principal, [suppression], TODAY) is None


def test_assumed_role_sessions_match_through_their_issuing_role() -> None:
    (suppression,) = parse_suppressions(
        [
            {
                "detection": "iam-policy-changes",
                "principalArnPattern": "arn:aws:iam::123456789012:role/Deployer",
                "expires": "2027-01-01",
                "reason": "pipeline",
            }
        ]
    )
    record = cloudtrail_record(
        userIdentity={
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/Deployer/session-42",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/Deployer"}
            },
        }
    )
    assert is_suppressed(record, [suppression], TODAY, detection_id="iam-policy-changes") is suppression


def test_expiry_is_inclusive_and_then_the_suppression_stops_applying() -> None:
    (suppression,) = parse_suppressions(
        [{**VALID, "expires": "2026-11-24", "principalArnPattern": None, "sourceCidr": None}]
    )
    record = cloudtrail_record(eventName="ConsoleLogin")
    assert is_suppressed(record, [suppression], date(2026, 11, 24)) is suppression
    assert is_suppressed(record, [suppression], date(2026, 11, 25)) is None


def test_only_the_named_detections_suppressions_apply() -> None:
    suppressions = parse_suppressions(
        [
            VALID,
            {
                **VALID,
                "detection": "iam-policy-changes",
                "eventName": "Put*",
                "principalArnPattern": None,
                "sourceCidr": None,
            },
        ]
    )
    record = cloudtrail_record(eventName="PutUserPolicy")
    assert is_suppressed(record, suppressions, TODAY, detection_id="root-account-usage") is None
    assert is_suppressed(record, suppressions, TODAY, detection_id="iam-policy-changes") is suppressions[1]
    assert for_detection(suppressions, "iam-policy-changes") == (suppressions[1],)


def test_a_service_name_as_source_is_never_inside_a_cidr() -> None:
    (suppression,) = parse_suppressions([{**VALID, "principalArnPattern": None, "eventName": None}])
    assert (
        is_suppressed(cloudtrail_record(sourceIPAddress="cloudtrail.amazonaws.com"), [suppression], TODAY)
        is None
    )


def test_serializing_suppressions_round_trips_through_the_parser() -> None:
    parsed = parse_suppressions([VALID, {**VALID, "sourceCidr": None, "eventName": "Put*"}])

    assert parse_suppressions(json.loads(suppressions_json(parsed))) == parsed


def test_no_suppressions_serialize_as_an_empty_json_array() -> None:
    assert suppressions_json(()) == "[]"
