"""The three CIS / Security Hub patterns singled out by the semantics notes (4.3), on CloudTrail events."""

from __future__ import annotations

import json

import pytest

from detections.filter_pattern import compile_pattern

# CloudTrail user guide "Authorization Failures" / Security Hub CloudWatch.2 (spacing differs only).
UNAUTHORIZED_API_CALLS = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'
UNAUTHORIZED_API_CALLS_SH = '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}'
# CIS 1.2 "console sign-in without MFA" (Security Hub CloudWatch.3 base text).
CONSOLE_LOGIN_WITHOUT_MFA = '{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != "Yes") }'
# Security Hub CloudWatch.1 "root user usage".
ROOT_USAGE = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }'
)


def event(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "eventVersion": "1.08",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"},
    }
    base.update(fields)
    return base


def assert_match(pattern: str, record: dict[str, object], expected: bool) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.matches_json(record) is expected
    assert compiled.matches(json.dumps(record)) is expected


@pytest.mark.parametrize("pattern", [UNAUTHORIZED_API_CALLS, UNAUTHORIZED_API_CALLS_SH])
@pytest.mark.parametrize(
    ("error_code", "expected"),
    [
        ("Client.UnauthorizedOperation", True),  # EC2's code: suffix match
        ("AccessDenied", True),  # S3's code: the prefix with nothing after it
        ("AccessDeniedException", True),  # IAM/KMS code: prefix match
        ("Client.AccessDenied", False),  # AccessDenied* is a prefix match, not contains
        ("accessdenied", False),  # case sensitive
        ("ThrottlingException", False),
    ],
)
def test_unauthorized_api_calls(pattern: str, error_code: str, expected: bool) -> None:
    assert_match(pattern, event(errorCode=error_code), expected)


def test_unauthorized_api_calls_ignores_successful_calls_without_error_code() -> None:
    assert_match(UNAUTHORIZED_API_CALLS, event(), False)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "No"}}, True),
        ({"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "Yes"}}, False),
        # Missing MFAUsed: != on a missing field is false (DataBiosphere/azul#5884, re-verified in PR #8228).
        ({"eventName": "ConsoleLogin", "additionalEventData": {"LoginTo": "https://console"}}, False),
        ({"eventName": "ConsoleLogin"}, False),
        ({"eventName": "GetSigninToken", "additionalEventData": {"MFAUsed": "No"}}, False),
    ],
)
def test_console_login_without_mfa(fields: dict[str, object], expected: bool) -> None:
    assert_match(CONSOLE_LOGIN_WITHOUT_MFA, event(**fields), expected)


@pytest.mark.parametrize(
    ("identity", "event_type", "expected"),
    [
        ({"type": "Root", "arn": "arn:aws:iam::111122223333:root"}, "AwsApiCall", True),
        ({"type": "Root", "arn": "arn:aws:iam::111122223333:root"}, "AwsConsoleSignIn", True),
        # invokedBy present: an AWS service acted for root, so not a human root user.
        ({"type": "Root", "invokedBy": "support.amazonaws.com"}, "AwsApiCall", False),
        ({"type": "Root"}, "AwsServiceEvent", False),
        ({"type": "root"}, "AwsApiCall", False),  # "root" != "Root"
        ({"type": "IAMUser"}, "AwsApiCall", False),
    ],
)
def test_root_usage(identity: dict[str, object], event_type: str, expected: bool) -> None:
    assert_match(ROOT_USAGE, event(userIdentity=identity, eventType=event_type), expected)


def test_root_usage_is_false_when_event_type_is_missing() -> None:
    # `$.eventType != "AwsServiceEvent"` on a missing field is false (missing-field rule).
    record = event(userIdentity={"type": "Root"})
    del record["eventType"]
    assert_match(ROOT_USAGE, record, False)
