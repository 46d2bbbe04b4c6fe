"""Builders for realistic CloudTrail records (the full shape a trail delivers), for table-driven tests."""

from __future__ import annotations

import itertools
from typing import Any

ACCOUNT = "111122223333"
_ids = itertools.count(1)


def iam_user(name: str = "alice", account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDACKCEVSQ6C2EXAMPLE",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "userName": name,
    }


def assumed_role(role: str = "deploy", session: str = "ci-run-42", account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROACKCEVSQ6C2EXAMPLE:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROACKCEVSQ6C2EXAMPLE",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2024-05-02T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def root(account: str = ACCOUNT, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        **extra,
    }


def record(
    event_name: str,
    event_source: str,
    *,
    identity: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    event_type: str = "AwsApiCall",
    additional_event_data: dict[str, Any] | None = None,
    read_only: bool = False,
    region: str = "eu-west-1",
    source_ip: str = "203.0.113.10",
    user_agent: str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
) -> dict[str, Any]:
    """One CloudTrail record; optional fields are left out when None, exactly as CloudTrail omits them."""
    number = next(_ids)
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity if identity is not None else iam_user(),
        "eventTime": f"2024-05-02T10:{number // 60 % 60:02d}:{number % 60:02d}Z",
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error_code is not None:
        event["errorCode"] = error_code
    if error_message is not None:
        event["errorMessage"] = error_message
    event["requestParameters"] = request
    event["responseElements"] = response
    if additional_event_data is not None:
        event["additionalEventData"] = additional_event_data
    event.update(
        {
            "requestID": f"8f2c1a52-0000-4000-8000-{number:012d}",
            "eventID": f"e1d2c3b4-0000-4000-8000-{number:012d}",
            "readOnly": read_only,
            "eventType": event_type,
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        }
    )
    return event


def api(event_name: str, service: str, **kwargs: Any) -> dict[str, Any]:
    """Shorthand: record(name, "<service>.amazonaws.com", ...)."""
    return record(event_name, f"{service}.amazonaws.com", **kwargs)


def console_login(
    identity: dict[str, Any],
    *,
    outcome: str = "Success",
    mfa: str | None = "No",
    error_message: str | None = None,
) -> dict[str, Any]:
    additional: dict[str, Any] = {
        "LoginTo": "https://console.aws.amazon.com/console/home",
        "MobileVersion": "No",
    }
    if mfa is not None:
        additional["MFAUsed"] = mfa
    return record(
        "ConsoleLogin",
        "signin.amazonaws.com",
        identity=identity,
        response={"ConsoleLogin": outcome},
        error_message=error_message,
        event_type="AwsConsoleSignIn",
        additional_event_data=additional,
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    )


DENIED = {"error_code": "AccessDenied", "error_message": "User is not authorized to perform this operation"}
