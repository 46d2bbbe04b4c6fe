"""The built-in demo scenario: thirty simulated minutes of one AWS account's CloudTrail, with an intrusion.

Every record is a full CloudTrail management event as the trail delivers it to CloudWatch Logs (same fields,
same nesting, same value formats as real records). Addresses come from the documentation ranges
(203.0.113.0/24, 198.51.100.0/24, 192.0.2.0/24) and the account is the documentation account 111122223333,
so nothing here points at a real network or account.

The story, in simulated minutes from the start:

    00-29  background: application roles describing, decrypting, assuming roles; an engineer signs in with MFA
    05     four failed console sign-ins from 203.0.113.45 (password spraying)
    07     the root user signs in to the console from 203.0.113.45 without MFA, and looks around
    09     root creates an access key for another user (ci-deployer) and attaches AdministratorAccess to it
    11     the stolen key is used from 198.51.100.23: SSH and RDP opened to 0.0.0.0/0 on a security group,
           a network ACL entry allowing everything from anywhere
    13     a bucket's public access block is removed and its policy made public ("Principal": "*")
    14     probing what else the key can do: calls denied by a service control policy
    15     a database EBS snapshot is shared with an outside account; VPC flow logs are deleted
    16     AWS Config recording is stopped
    18     the customer data KMS key is scheduled for deletion
    20     the attacker tries to take the account out of the organization (denied)
    24     CloudTrail logging is stopped: the trail goes silent until the end of the scenario

Records are built by code (deterministic: ids come from a seeded generator) so the scenario can be read as a
story and changed in one place; ``python -m demo --write-scenario PATH`` writes it out as JSON Lines.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ACCOUNT_ID = "111122223333"
ACCOUNT_ALIAS = "example-corp-prod"
REGION = "us-east-1"
ORGANIZATION_ID = "o-a1b2c3d4e5"
TRAIL_NAME = "security-baseline"

ATTACKER_CONSOLE_IP = "203.0.113.45"
ATTACKER_API_IP = "198.51.100.23"
OFFICE_IP = "192.0.2.10"

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ENGINEER_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
ATTACKER_SDK_UA = (
    "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.3 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36"
)
CONSOLE_UA = "AWS Internal"
APP_SDK_UA = (
    "aws-sdk-java/2.29.6 Linux/5.10.228-219.884.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.13+11-LTS "
    "Java/17.0.13 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache "
    "cfg/retry-mode/legacy"
)
LAMBDA_SDK_UA = (
    "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy "
    "Botocore/1.34.145"
)

DEFAULT_START = datetime(2026, 3, 14, 9, 0, 0, tzinfo=UTC)
DURATION_MINUTES = 30
STOP_LOGGING_MINUTE = 24

# Detections the attack chain must page for, by catalogue id. The demo fails (non-zero exit) when one of these
# does not reach PagerDuty as a valid page. Checked against the catalogue at run time so a renamed detection
# shows up as a clear error rather than a silent pass.
EXPECTED_DETECTIONS: tuple[str, ...] = (
    "console-authentication-failures",
    "root-console-login",
    "root-account-usage",
    "access-key-created-for-user-or-root",
    "iam-policy-changes",
    "security-group-changes",
    "network-acl-changes",
    "s3-block-public-access-removed",
    "s3-bucket-policy-changes",
    "unauthorized-api-calls",
    "ebs-snapshot-shared",
    "network-logging-deleted",
    "aws-config-changes",
    "kms-cmk-disabled-or-scheduled-for-deletion",
    "organizations-changes",
    "cloudtrail-configuration-changes",
)


@dataclass(frozen=True)
class Scenario:
    """Records in delivery order, the simulated window they cover and what the story must page for."""

    name: str
    records: tuple[dict[str, Any], ...]
    start: datetime
    end: datetime
    expected_detections: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _console_date(moment: datetime) -> str:
    # The odd "Mar 14, 2026, 9:11:03 AM" form IAM and KMS use inside responseElements.
    return moment.strftime("%b %d, %Y, %I:%M:%S %p").replace(" 0", " ")


class _Ids:
    """Deterministic ids in AWS's own formats, so two runs of the demo produce the same records."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def upper(self, length: int, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") -> str:
        return "".join(self._random.choice(alphabet) for _ in range(length))

    def hex(self, length: int) -> str:
        return "".join(self._random.choice("0123456789abcdef") for _ in range(length))

    def s3_request_id(self) -> str:
        return self.upper(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@dataclass(frozen=True)
class _Principal:
    """The userIdentity block of one actor, minus what changes per call (the console session's date)."""

    identity: dict[str, Any]

    def for_call(
        self, at: datetime, *, mfa: bool = False, session_start: datetime | None = None
    ) -> dict[str, Any]:
        identity = json.loads(json.dumps(self.identity))
        if "sessionContext" in identity:
            attributes = identity["sessionContext"].setdefault("attributes", {})
            attributes["creationDate"] = _iso(session_start or (at - timedelta(minutes=12)))
            attributes["mfaAuthenticated"] = "true" if mfa else "false"
        return identity


def _assumed_role(role: str, session: str, role_id: str, key_id: str) -> _Principal:
    return _Principal(
        {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT_ID,
            "accessKeyId": key_id,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role}",
                    "accountId": ACCOUNT_ID,
                    "userName": role,
                },
                "attributes": {},
            },
        }
    )


def _iam_user(name: str, user_id: str, key_id: str, *, console: bool = False) -> _Principal:
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": user_id,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}",
        "accountId": ACCOUNT_ID,
        "accessKeyId": key_id,
        "userName": name,
    }
    if console:
        identity["sessionContext"] = {"attributes": {}}
    return _Principal(identity)


ROOT = _Principal(
    {
        "type": "Root",
        "principalId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:root",
        "accountId": ACCOUNT_ID,
        "accessKeyId": "ASIAQRSTUVWXYZROOT01",
        "sessionContext": {"attributes": {}},
    }
)
ROOT_SIGNIN = _Principal(
    {
        "type": "Root",
        "principalId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:root",
        "accountId": ACCOUNT_ID,
        "accessKeyId": "",
    }
)
ORDERS_SERVICE = _assumed_role(
    "orders-service-task", "8f3c2a1b9d4e4f0a", "AROAQRSTUVWXYZORDERS", "ASIAQRSTUVWXYZORD001"
)
REPORTS_LAMBDA = _assumed_role(
    "nightly-reports-lambda", "nightly-reports", "AROAQRSTUVWXYZREPORT", "ASIAQRSTUVWXYZREP001"
)
PLATFORM_ENGINEER = _assumed_role(
    "AWSReservedSSO_PlatformEngineer_3f5a9c2e7b1d4a60",
    "maria.silva@example.com",
    "AROAQRSTUVWXYZPLATFM",
    "ASIAQRSTUVWXYZMAR001",
)
CI_DEPLOYER_KEY = "AKIAQRSTUVWXYZCIDEP7"
CI_DEPLOYER = _iam_user("ci-deployer", "AIDAQRSTUVWXYZCIDEPL", CI_DEPLOYER_KEY)

SSO_ROLE = "AWSReservedSSO_PlatformEngineer_3f5a9c2e7b1d4a60"
CUSTOMER_BUCKET = "example-corp-customer-exports"
CUSTOMER_KEY_ID = "6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5"
WEB_SECURITY_GROUP = "sg-0a1b2c3d4e5f60718"
VPC_ID = "vpc-0f1e2d3c4b5a69788"
NETWORK_ACL = "acl-0123456789abcdef0"
DATABASE_SNAPSHOT = "snap-0a9b8c7d6e5f40312"
FLOW_LOG_ID = "fl-0123abcd4567ef890"
EXTERNAL_ACCOUNT_ID = "444455556666"


class _Builder:
    """Accumulates records; one method per kind of call keeps each record's shape in one place."""

    def __init__(self, start: datetime, seed: int) -> None:
        self.start = start
        self.ids = _Ids(seed)
        self.records: list[dict[str, Any]] = []

    def at(self, minute: int, second: int) -> datetime:
        return self.start + timedelta(minutes=minute, seconds=second)

    def api_call(
        self,
        when: datetime,
        principal: _Principal,
        *,
        source: str,
        name: str,
        ip: str,
        user_agent: str,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None,
        read_only: bool,
        mfa: bool = False,
        error: tuple[str, str] | None = None,
        resources: list[dict[str, Any]] | None = None,
        region: str = REGION,
        host: str | None = None,
        s3_request: bool = False,
        additional: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request_id = self.ids.s3_request_id() if s3_request else self.ids.uuid()
        record: dict[str, Any] = {
            "eventVersion": "1.10" if not s3_request else "1.09",
            "userIdentity": principal.for_call(when, mfa=mfa),
            "eventTime": _iso(when),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": user_agent,
        }
        if error is not None:
            record["errorCode"], record["errorMessage"] = error
        record["requestParameters"] = request
        record["responseElements"] = response
        if additional is not None:
            record["additionalEventData"] = additional
        record["requestID"] = request_id
        record["eventID"] = self.ids.uuid()
        record["readOnly"] = read_only
        if resources is not None:
            record["resources"] = resources
        record["eventType"] = "AwsApiCall"
        record["managementEvent"] = True
        record["recipientAccountId"] = ACCOUNT_ID
        record["eventCategory"] = "Management"
        service = source.split(".")[0]
        default_host = (
            f"{service}.amazonaws.com"
            if service in {"iam", "organizations"}
            else f"{service}.{region}.amazonaws.com"
        )
        record["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": host or default_host,
        }
        if user_agent == CONSOLE_UA:
            record["sessionCredentialFromConsole"] = "true"
        self.records.append(record)
        return record

    def console_login(
        self,
        when: datetime,
        identity: dict[str, Any],
        *,
        ip: str,
        user_agent: str,
        success: bool,
        mfa_used: bool,
    ) -> None:
        record: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": _iso(when),
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "awsRegion": REGION,
            "sourceIPAddress": ip,
            "userAgent": user_agent,
        }
        if not success:
            record["errorMessage"] = "Failed authentication"
        record["requestParameters"] = None
        record["responseElements"] = {"ConsoleLogin": "Success" if success else "Failure"}
        record["additionalEventData"] = {
            "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_a1b2c3d4e5f60718",
            "MobileVersion": "No",
            "MFAUsed": "Yes" if mfa_used else "No",
        }
        record["eventID"] = self.ids.uuid()
        record["readOnly"] = False
        record["eventType"] = "AwsConsoleSignIn"
        record["managementEvent"] = True
        record["recipientAccountId"] = ACCOUNT_ID
        record["eventCategory"] = "Management"
        record["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": "signin.aws.amazon.com",
        }
        self.records.append(record)


def _background(b: _Builder, minutes: range) -> None:
    """What a quiet account looks like: services reading config and keys, roles being assumed, an engineer."""
    for minute in minutes:
        when = b.at(minute, 4)
        b.api_call(
            when,
            ORDERS_SERVICE,
            source="kms.amazonaws.com",
            name="Decrypt",
            ip="10.20.31.118",
            user_agent=APP_SDK_UA,
            request={"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"service": "orders"}},
            response=None,
            read_only=True,
            resources=[
                {
                    "accountId": ACCOUNT_ID,
                    "type": "AWS::KMS::Key",
                    "ARN": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{CUSTOMER_KEY_ID}",
                }
            ],
            host=f"kms.{REGION}.amazonaws.com",
        )
        b.api_call(
            b.at(minute, 21),
            ORDERS_SERVICE,
            source="secretsmanager.amazonaws.com",
            name="GetSecretValue",
            ip="10.20.31.118",
            user_agent=APP_SDK_UA,
            request={"secretId": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:orders/db-Xy12Ab"},
            response=None,
            read_only=True,
        )
        if minute % 2 == 0:
            b.api_call(
                b.at(minute, 37),
                REPORTS_LAMBDA,
                source="sts.amazonaws.com",
                name="GetCallerIdentity",
                ip="10.20.45.7",
                user_agent=LAMBDA_SDK_UA,
                request=None,
                response=None,
                read_only=True,
            )
        if minute % 3 == 0:
            b.api_call(
                b.at(minute, 48),
                PLATFORM_ENGINEER,
                source="ec2.amazonaws.com",
                name="DescribeInstances",
                ip=OFFICE_IP,
                user_agent=CONSOLE_UA,
                request={
                    "instancesSet": {},
                    "filterSet": {
                        "items": [
                            {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}
                        ]
                    },
                },
                response=None,
                read_only=True,
                mfa=True,
            )
        if minute % 5 == 1:
            b.api_call(
                b.at(minute, 52),
                PLATFORM_ENGINEER,
                source="logs.amazonaws.com",
                name="DescribeLogGroups",
                ip=OFFICE_IP,
                user_agent=CONSOLE_UA,
                request={"limit": 50},
                response=None,
                read_only=True,
                mfa=True,
            )


def _engineer_signs_in(b: _Builder) -> None:
    b.console_login(
        b.at(1, 12),
        {
            "type": "AssumedRole",
            "principalId": "AROAQRSTUVWXYZPLATFM:maria.silva@example.com",
            "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{SSO_ROLE}/maria.silva@example.com",
            "accountId": ACCOUNT_ID,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAQRSTUVWXYZPLATFM",
                    "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/aws-reserved/sso.amazonaws.com/{SSO_ROLE}",
                    "accountId": ACCOUNT_ID,
                    "userName": SSO_ROLE,
                },
                "attributes": {"creationDate": _iso(b.at(1, 12)), "mfaAuthenticated": "false"},
            },
        },
        ip=OFFICE_IP,
        user_agent=ENGINEER_UA,
        success=True,
        mfa_used=False,  # federated sign-in: MFA happened at the identity provider, CloudTrail records "No"
    )


def _password_spraying(b: _Builder) -> None:
    for second, user in ((3, "admin"), (17, "maria.silva"), (31, "backup"), (46, "ci-deployer")):
        # CloudTrail hides the typed name when no such user exists (people type passwords into that box).
        identity: dict[str, Any] = {
            "type": "IAMUser",
            "principalId": "",
            "accountId": ACCOUNT_ID,
            "accessKeyId": "",
            "userName": "HIDDEN_DUE_TO_SECURITY_REASONS",
        }
        if user == "ci-deployer":
            identity |= {
                "principalId": "AIDAQRSTUVWXYZCIDEPL",
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci-deployer",
                "userName": user,
            }
        b.console_login(
            b.at(5, second),
            identity,
            ip=ATTACKER_CONSOLE_IP,
            user_agent=BROWSER_UA,
            success=False,
            mfa_used=False,
        )


def _root_takeover(b: _Builder) -> None:
    b.console_login(
        b.at(7, 2),
        ROOT_SIGNIN.identity,
        ip=ATTACKER_CONSOLE_IP,
        user_agent=BROWSER_UA,
        success=True,
        mfa_used=False,
    )
    session_start = b.at(7, 2)
    for second, (source, name, request) in zip(
        (40, 51),
        (
            ("iam.amazonaws.com", "GetAccountSummary", None),
            ("iam.amazonaws.com", "ListUsers", {"maxItems": 100}),
        ),
        strict=True,
    ):
        record = b.api_call(
            b.at(7, second),
            ROOT,
            source=source,
            name=name,
            ip=ATTACKER_CONSOLE_IP,
            user_agent=CONSOLE_UA,
            request=request,
            response=None,
            read_only=True,
        )
        record["userIdentity"]["sessionContext"]["attributes"]["creationDate"] = _iso(session_start)

    created = b.at(9, 14)
    record = b.api_call(
        created,
        ROOT,
        source="iam.amazonaws.com",
        name="CreateAccessKey",
        ip=ATTACKER_CONSOLE_IP,
        user_agent=CONSOLE_UA,
        request={"userName": "ci-deployer"},
        response={
            "accessKey": {
                "accessKeyId": CI_DEPLOYER_KEY,
                "status": "Active",
                "userName": "ci-deployer",
                "createDate": _console_date(created),
            }
        },
        read_only=False,
    )
    record["userIdentity"]["sessionContext"]["attributes"]["creationDate"] = _iso(session_start)
    record = b.api_call(
        b.at(9, 40),
        ROOT,
        source="iam.amazonaws.com",
        name="AttachUserPolicy",
        ip=ATTACKER_CONSOLE_IP,
        user_agent=CONSOLE_UA,
        request={"userName": "ci-deployer", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        response=None,
        read_only=False,
    )
    record["userIdentity"]["sessionContext"]["attributes"]["creationDate"] = _iso(session_start)


def _open_the_network(b: _Builder) -> None:
    b.api_call(
        b.at(11, 5),
        CI_DEPLOYER,
        source="sts.amazonaws.com",
        name="GetCallerIdentity",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request=None,
        response=None,
        read_only=True,
    )
    b.api_call(
        b.at(11, 20),
        CI_DEPLOYER,
        source="ec2.amazonaws.com",
        name="DescribeSecurityGroups",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
        response=None,
        read_only=True,
    )
    for second, (port, description) in ((33, (22, "ssh")), (34, (3389, "rdp"))):
        b.api_call(
            b.at(11, second),
            CI_DEPLOYER,
            source="ec2.amazonaws.com",
            name="AuthorizeSecurityGroupIngress",
            ip=ATTACKER_API_IP,
            user_agent=ATTACKER_SDK_UA,
            request={
                "groupId": WEB_SECURITY_GROUP,
                "ipPermissions": {
                    "items": [
                        {
                            "ipProtocol": "tcp",
                            "fromPort": port,
                            "toPort": port,
                            "groups": {},
                            "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": description}]},
                            "ipv6Ranges": {},
                            "prefixListIds": {},
                        }
                    ]
                },
            },
            response={
                "requestId": b.ids.uuid(),
                "_return": True,
                "securityGroupRuleSet": {
                    "items": [
                        {
                            "groupOwnerId": ACCOUNT_ID,
                            "groupId": WEB_SECURITY_GROUP,
                            "securityGroupRuleId": f"sgr-0{b.ids.hex(16)}",
                            "description": description,
                            "isEgress": False,
                            "ipProtocol": "tcp",
                            "fromPort": port,
                            "toPort": port,
                            "cidrIpv4": "0.0.0.0/0",
                        }
                    ]
                },
            },
            read_only=False,
        )
    b.api_call(
        b.at(11, 58),
        CI_DEPLOYER,
        source="ec2.amazonaws.com",
        name="CreateNetworkAclEntry",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={
            "networkAclId": NETWORK_ACL,
            "ruleNumber": 1,
            "egress": False,
            "ruleAction": "allow",
            "icmpTypeCode": {},
            "portRange": {},
            "aclProtocol": "-1",
            "cidrBlock": "0.0.0.0/0",
        },
        response={"requestId": b.ids.uuid(), "_return": True},
        read_only=False,
    )


def _expose_the_bucket(b: _Builder) -> None:
    host = f"{CUSTOMER_BUCKET}.s3.amazonaws.com"
    s3_extra = {
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": 0,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": "Q2xvdWRUcmFpbERlbW9SZWNvcmRGb3JMb2NhbERlbW9Pbmx5Tm90QVJlYWxJZDAx",
        "bytesTransferredOut": 0,
    }
    b.api_call(
        b.at(13, 8),
        CI_DEPLOYER,
        source="s3.amazonaws.com",
        name="DeleteBucketPublicAccessBlock",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={"publicAccessBlock": "", "bucketName": CUSTOMER_BUCKET, "Host": host},
        response=None,
        read_only=False,
        resources=[
            {"accountId": ACCOUNT_ID, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{CUSTOMER_BUCKET}"}
        ],
        host=host,
        s3_request=True,
        additional=s3_extra,
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{CUSTOMER_BUCKET}/*",
            }
        ],
    }
    b.api_call(
        b.at(13, 26),
        CI_DEPLOYER,
        source="s3.amazonaws.com",
        name="PutBucketPolicy",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={"bucketPolicy": policy, "bucketName": CUSTOMER_BUCKET, "Host": host, "policy": ""},
        response=None,
        read_only=False,
        resources=[
            {"accountId": ACCOUNT_ID, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{CUSTOMER_BUCKET}"}
        ],
        host=host,
        s3_request=True,
        additional={**s3_extra, "bytesTransferredIn": len(json.dumps(policy))},
    )


def _probe(b: _Builder) -> None:
    scp_denied = "with an explicit deny in a service control policy"
    for second, (source, name, request, error_code) in (
        (9, ("guardduty.amazonaws.com", "ListDetectors", {}, "AccessDenied")),
        (14, ("securityhub.amazonaws.com", "DescribeHub", {}, "AccessDenied")),
        (
            22,
            (
                "ec2.amazonaws.com",
                "RunInstances",
                {"instanceType": "p5.48xlarge", "minCount": 4, "maxCount": 4},
                "Client.UnauthorizedOperation",
            ),
        ),
    ):
        action = f"{source.split('.')[0]}:{name}"
        message = (
            "You are not authorized to perform this operation. User: "
            f"arn:aws:iam::{ACCOUNT_ID}:user/ci-deployer is not authorized to perform: {action} {scp_denied}"
            if error_code.startswith("Client.")
            else f"User: arn:aws:iam::{ACCOUNT_ID}:user/ci-deployer is not authorized to perform: {action} "
            f"on resource: arn:aws:{source.split('.')[0]}:{REGION}:{ACCOUNT_ID}:* {scp_denied}"
        )
        b.api_call(
            b.at(14, second),
            CI_DEPLOYER,
            source=source,
            name=name,
            ip=ATTACKER_API_IP,
            user_agent=ATTACKER_SDK_UA,
            request=request,
            response=None,
            read_only=name.startswith(("List", "Describe")),
            error=(error_code, message),
        )


def _exfiltrate_and_cover(b: _Builder) -> None:
    b.api_call(
        b.at(15, 11),
        CI_DEPLOYER,
        source="ec2.amazonaws.com",
        name="ModifySnapshotAttribute",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={
            "snapshotId": DATABASE_SNAPSHOT,
            "createVolumePermission": {"add": {"items": [{"userId": EXTERNAL_ACCOUNT_ID}]}},
            "attributeType": "CREATE_VOLUME_PERMISSION",
        },
        response={"requestId": b.ids.uuid(), "_return": True},
        read_only=False,
    )
    b.api_call(
        b.at(15, 49),
        CI_DEPLOYER,
        source="ec2.amazonaws.com",
        name="DeleteFlowLogs",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": FLOW_LOG_ID}}},
        response={
            "DeleteFlowLogsResponse": {
                "xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
                "requestId": b.ids.uuid(),
                "unsuccessful": "",
            }
        },
        read_only=False,
    )


def _blind_the_defences(b: _Builder) -> None:
    b.api_call(
        b.at(16, 30),
        CI_DEPLOYER,
        source="config.amazonaws.com",
        name="StopConfigurationRecorder",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={"configurationRecorderName": "default"},
        response=None,
        read_only=False,
    )
    scheduled = b.at(18, 12)
    b.api_call(
        scheduled,
        CI_DEPLOYER,
        source="kms.amazonaws.com",
        name="ScheduleKeyDeletion",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={"keyId": CUSTOMER_KEY_ID, "pendingWindowInDays": 7},
        response={
            "keyId": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{CUSTOMER_KEY_ID}",
            "deletionDate": _console_date(scheduled + timedelta(days=7)),
            "keyState": "PendingDeletion",
            "pendingWindowInDays": 7,
        },
        read_only=False,
        resources=[
            {
                "accountId": ACCOUNT_ID,
                "type": "AWS::KMS::Key",
                "ARN": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{CUSTOMER_KEY_ID}",
            }
        ],
    )
    b.api_call(
        b.at(20, 3),
        CI_DEPLOYER,
        source="organizations.amazonaws.com",
        name="LeaveOrganization",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request=None,
        response=None,
        read_only=False,
        error=(
            "AccessDeniedException",
            f"User: arn:aws:iam::{ACCOUNT_ID}:user/ci-deployer is not authorized to perform: "
            "organizations:LeaveOrganization with an explicit deny in a service control policy",
        ),
    )
    b.api_call(
        b.at(STOP_LOGGING_MINUTE, 9),
        CI_DEPLOYER,
        source="cloudtrail.amazonaws.com",
        name="StopLogging",
        ip=ATTACKER_API_IP,
        user_agent=ATTACKER_SDK_UA,
        request={"name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT_ID}:trail/{TRAIL_NAME}"},
        response=None,
        read_only=False,
        resources=[
            {
                "accountId": ACCOUNT_ID,
                "type": "AWS::CloudTrail::Trail",
                "ARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT_ID}:trail/{TRAIL_NAME}",
            }
        ],
    )


def attack_chain(start: datetime = DEFAULT_START, seed: int = 20260314) -> Scenario:
    """Build the built-in scenario starting at ``start`` (UTC). Same inputs, same records."""
    builder = _Builder(start, seed)
    # After StopLogging the trail delivers nothing more: traffic goes on, but is not recorded.
    _background(builder, range(STOP_LOGGING_MINUTE + 1))
    _engineer_signs_in(builder)
    _password_spraying(builder)
    _root_takeover(builder)
    _open_the_network(builder)
    _expose_the_bucket(builder)
    _probe(builder)
    _exfiltrate_and_cover(builder)
    _blind_the_defences(builder)
    cutoff = builder.at(STOP_LOGGING_MINUTE, 9)
    records = [r for r in builder.records if r["eventTime"] <= _iso(cutoff)]
    records.sort(key=lambda r: r["eventTime"])
    return Scenario(
        name="attack-chain",
        records=tuple(records),
        start=start,
        end=start + timedelta(minutes=DURATION_MINUTES),
        expected_detections=EXPECTED_DETECTIONS,
        notes=(
            f"CloudTrail logging stopped at minute {STOP_LOGGING_MINUTE}: nothing is delivered after it.",
        ),
    )


def iter_json_lines(records: tuple[dict[str, Any], ...]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, separators=(",", ":"))


def write_scenario(path: Path, scenario: Scenario | None = None) -> Path:
    """Write the scenario as JSON Lines (one CloudTrail record per line): a format ``--events`` reads."""
    scenario = scenario or attack_chain()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in iter_json_lines(scenario.records)), encoding="utf-8")
    return path
