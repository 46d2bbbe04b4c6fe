"""Per detection: records it must match and near-misses it must not. Each case is (description, record).

Near-misses differ from a positive in one telling way (wrong event source, failed call, a field that makes the
change harmless, a neighbouring API), so a pattern that matched too much would fail here.
"""

from __future__ import annotations

from typing import Any

from testkit.cloudtrail import DENIED, api, assumed_role, console_login, iam_user, root

Case = tuple[str, dict[str, Any]]

POSITIVES: dict[str, list[Case]] = {}
NEGATIVES: dict[str, list[Case]] = {}


def cases(detection_id: str, positives: list[Case], negatives: list[Case]) -> None:
    POSITIVES[detection_id] = positives
    NEGATIVES[detection_id] = negatives


_ec2_sg_request = {
    "groupId": "sg-0123456789abcdef0",
    "ipPermissions": {
        "items": [
            {
                "ipProtocol": "tcp",
                "fromPort": 22,
                "toPort": 22,
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
            }
        ]
    },
}

# --- Compliance ------------------------------------------------------------------------------------------

cases(
    "root-account-usage",
    [
        ("root console sign-in", console_login(root(), mfa="Yes")),
        ("root creates an IAM user", api("CreateUser", "iam", identity=root(), request={"userName": "x"})),
        ("root lists buckets", api("ListBuckets", "s3", identity=root(), read_only=True)),
    ],
    [
        (
            "AWS service acting for root (invokedBy)",
            api("GetBucketAcl", "s3", identity=root(invokedBy="cloudtrail.amazonaws.com"), read_only=True),
        ),
        (
            "AwsServiceEvent for root",
            api("CredentialChallenge", "signin", identity=root(), event_type="AwsServiceEvent"),
        ),
        ("IAM user, not root", api("CreateUser", "iam", request={"userName": "x"})),
    ],
)
cases(
    "unauthorized-api-calls",
    [
        (
            "EC2 Client.UnauthorizedOperation",
            api(
                "RunInstances",
                "ec2",
                error_code="Client.UnauthorizedOperation",
                error_message="You are not authorized",
            ),
        ),
        ("AccessDenied", api("GetSecretValue", "secretsmanager", **DENIED)),
        (
            "AccessDeniedException",
            api("Decrypt", "kms", error_code="AccessDeniedException", error_message="not authorized"),
        ),
    ],
    [
        ("successful call", api("DescribeInstances", "ec2", read_only=True)),
        ("other error", api("GetBucketPolicy", "s3", error_code="NoSuchBucketPolicy")),
        ("'AccessDenied' not at the start", api("CreateBucket", "s3", error_code="Client.AccessDenied")),
    ],
)
cases(
    "console-signin-without-mfa",
    [
        ("IAM user, MFAUsed No", console_login(iam_user("bob"), mfa="No")),
        ("IAM user, MFAUsed lower-case yes", console_login(iam_user("bob"), mfa="yes")),
        ("IAM user, MFAUsed YES (case-sensitive compare)", console_login(iam_user("carol"), mfa="YES")),
    ],
    [
        ("with MFA", console_login(iam_user("bob"), mfa="Yes")),
        (
            "failed sign-in",
            console_login(iam_user("bob"), outcome="Failure", error_message="Failed authentication"),
        ),
        ("root without MFA (CloudWatch.1's job)", console_login(root(), mfa="No")),
    ],
)
cases(
    "iam-policy-changes",
    [
        (
            "AttachRolePolicy",
            api(
                "AttachRolePolicy",
                "iam",
                request={"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            ),
        ),
        ("PutUserPolicy", api("PutUserPolicy", "iam", request={"userName": "bob", "policyName": "inline"})),
        ("CreatePolicyVersion", api("CreatePolicyVersion", "iam", request={"setAsDefault": True})),
    ],
    [
        ("read a policy", api("GetPolicy", "iam", read_only=True)),
        ("create a role (not in CIS 4.4)", api("CreateRole", "iam", request={"roleName": "app"})),
        ("list attached policies", api("ListAttachedRolePolicies", "iam", read_only=True)),
    ],
)
cases(
    "cloudtrail-configuration-changes",
    [
        ("StopLogging", api("StopLogging", "cloudtrail", request={"name": "security-baseline"})),
        ("DeleteTrail", api("DeleteTrail", "cloudtrail", request={"name": "security-baseline"})),
        ("UpdateTrail", api("UpdateTrail", "cloudtrail", request={"name": "t", "isMultiRegionTrail": False})),
    ],
    [
        ("GetTrailStatus", api("GetTrailStatus", "cloudtrail", read_only=True)),
        ("PutEventSelectors (not in CIS 4.5)", api("PutEventSelectors", "cloudtrail")),
        ("LookupEvents", api("LookupEvents", "cloudtrail", read_only=True)),
    ],
)
cases(
    "console-authentication-failures",
    [
        (
            "IAM user wrong password",
            console_login(iam_user("bob"), outcome="Failure", error_message="Failed authentication"),
        ),
        (
            "root wrong password",
            console_login(root(), outcome="Failure", error_message="Failed authentication"),
        ),
        (
            "without MFA field",
            console_login(
                iam_user("eve"), outcome="Failure", mfa=None, error_message="Failed authentication"
            ),
        ),
    ],
    [
        ("successful sign-in", console_login(iam_user("bob"))),
        (
            "unknown user (different message)",
            console_login(
                iam_user("nobody"), outcome="Failure", error_message="No username found in supplied account"
            ),
        ),
        ("failed login without errorMessage", console_login(iam_user("bob"), outcome="Failure")),
    ],
)
cases(
    "kms-cmk-disabled-or-scheduled-for-deletion",
    [
        ("DisableKey", api("DisableKey", "kms", request={"keyId": "1234abcd"})),
        (
            "ScheduleKeyDeletion",
            api("ScheduleKeyDeletion", "kms", request={"keyId": "1234abcd", "pendingWindowInDays": 7}),
        ),
        ("ScheduleKeyDeletion denied (CIS counts attempts)", api("ScheduleKeyDeletion", "kms", **DENIED)),
    ],
    [
        ("EnableKey", api("EnableKey", "kms", request={"keyId": "1234abcd"})),
        ("DisableKeyRotation", api("DisableKeyRotation", "kms", request={"keyId": "1234abcd"})),
        ("DisableKey name from another service", api("DisableKey", "payment-cryptography")),
    ],
)
cases(
    "s3-bucket-policy-changes",
    [
        ("PutBucketPolicy", api("PutBucketPolicy", "s3", request={"bucketName": "data"})),
        ("PutBucketAcl", api("PutBucketAcl", "s3", request={"bucketName": "data"})),
        ("DeleteBucketReplication", api("DeleteBucketReplication", "s3", request={"bucketName": "data"})),
    ],
    [
        ("GetBucketPolicy", api("GetBucketPolicy", "s3", read_only=True)),
        ("PutBucketPolicy from another event source", api("PutBucketPolicy", "ec2")),
        ("PutObjectAcl (object, not bucket)", api("PutObjectAcl", "s3")),
    ],
)
cases(
    "aws-config-changes",
    [
        (
            "StopConfigurationRecorder",
            api("StopConfigurationRecorder", "config", request={"configurationRecorderName": "default"}),
        ),
        ("DeleteDeliveryChannel", api("DeleteDeliveryChannel", "config")),
        ("PutConfigurationRecorder", api("PutConfigurationRecorder", "config")),
    ],
    [
        ("StartConfigurationRecorder", api("StartConfigurationRecorder", "config")),
        ("DescribeConfigurationRecorders", api("DescribeConfigurationRecorders", "config", read_only=True)),
        ("StopConfigurationRecorder from another source", api("StopConfigurationRecorder", "ec2")),
    ],
)
cases(
    "security-group-changes",
    [
        ("ingress from anywhere", api("AuthorizeSecurityGroupIngress", "ec2", request=_ec2_sg_request)),
        ("CreateSecurityGroup", api("CreateSecurityGroup", "ec2", request={"groupName": "web"})),
        ("RevokeSecurityGroupEgress", api("RevokeSecurityGroupEgress", "ec2")),
    ],
    [
        ("DescribeSecurityGroups", api("DescribeSecurityGroups", "ec2", read_only=True)),
        ("ModifySecurityGroupRules (not in CIS 4.10)", api("ModifySecurityGroupRules", "ec2")),
        ("CreateNetworkAclEntry", api("CreateNetworkAclEntry", "ec2")),
    ],
)
cases(
    "network-acl-changes",
    [
        ("CreateNetworkAclEntry", api("CreateNetworkAclEntry", "ec2", request={"cidrBlock": "0.0.0.0/0"})),
        ("ReplaceNetworkAclAssociation", api("ReplaceNetworkAclAssociation", "ec2")),
        ("DeleteNetworkAcl", api("DeleteNetworkAcl", "ec2")),
    ],
    [
        ("DescribeNetworkAcls", api("DescribeNetworkAcls", "ec2", read_only=True)),
        ("security group rule", api("AuthorizeSecurityGroupIngress", "ec2")),
        ("route change", api("ReplaceRoute", "ec2")),
    ],
)
cases(
    "network-gateway-changes",
    [
        ("AttachInternetGateway", api("AttachInternetGateway", "ec2", request={"vpcId": "vpc-1"})),
        ("CreateCustomerGateway", api("CreateCustomerGateway", "ec2")),
        ("DetachInternetGateway", api("DetachInternetGateway", "ec2")),
    ],
    [
        ("CreateNatGateway (not in CIS 4.12)", api("CreateNatGateway", "ec2")),
        ("DescribeInternetGateways", api("DescribeInternetGateways", "ec2", read_only=True)),
        ("CreateTransitGateway", api("CreateTransitGateway", "ec2")),
    ],
)
cases(
    "route-table-changes",
    [
        ("CreateRoute", api("CreateRoute", "ec2", request={"destinationCidrBlock": "0.0.0.0/0"})),
        ("ReplaceRouteTableAssociation", api("ReplaceRouteTableAssociation", "ec2")),
        ("DisassociateRouteTable", api("DisassociateRouteTable", "ec2")),
    ],
    [
        ("DescribeRouteTables", api("DescribeRouteTables", "ec2", read_only=True)),
        ("AssociateRouteTable (not in CIS 4.13)", api("AssociateRouteTable", "ec2")),
        ("CreateRouteCalculator (suffix differs)", api("CreateRouteCalculator", "geo")),
    ],
)
cases(
    "vpc-changes",
    [
        (
            "CreateVpcPeeringConnection",
            api("CreateVpcPeeringConnection", "ec2", request={"peerOwnerId": "999"}),
        ),
        ("ModifyVpcAttribute", api("ModifyVpcAttribute", "ec2")),
        ("DeleteVpc", api("DeleteVpc", "ec2")),
    ],
    [
        ("DescribeVpcs", api("DescribeVpcs", "ec2", read_only=True)),
        ("CreateSubnet (not in CIS 4.14)", api("CreateSubnet", "ec2")),
        ("CreateVpcEndpoint (not in CIS 4.14)", api("CreateVpcEndpoint", "ec2")),
    ],
)
cases(
    "organizations-changes",
    [
        ("LeaveOrganization", api("LeaveOrganization", "organizations")),
        ("DetachPolicy (SCP)", api("DetachPolicy", "organizations", request={"policyId": "p-1"})),
        ("EnableAllFeatures (Prowler variant only)", api("EnableAllFeatures", "organizations")),
    ],
    [
        ("DescribeOrganization", api("DescribeOrganization", "organizations", read_only=True)),
        ("IAM DeletePolicy (same name, other service)", api("DeletePolicy", "iam")),
        ("ListAccounts", api("ListAccounts", "organizations", read_only=True)),
    ],
)

# --- Beyond CIS ------------------------------------------------------------------------------------------

cases(
    "root-console-login",
    [
        ("root with MFA", console_login(root(), mfa="Yes")),
        ("root without MFA", console_login(root(), mfa="No")),
        ("root, MFA field absent", console_login(root(), mfa=None)),
    ],
    [
        (
            "root failed sign-in",
            console_login(root(), outcome="Failure", error_message="Failed authentication"),
        ),
        ("IAM user sign-in", console_login(iam_user("bob"))),
        ("root API call, not a sign-in", api("ListBuckets", "s3", identity=root())),
    ],
)
cases(
    "guardduty-disabled",
    [
        ("DeleteDetector", api("DeleteDetector", "guardduty", request={"detectorId": "12abc"})),
        (
            "UpdateDetector enable false",
            api("UpdateDetector", "guardduty", request={"detectorId": "1", "enable": False}),
        ),
        (
            "auto-archive filter",
            api("CreateFilter", "guardduty", request={"name": "hide", "action": "ARCHIVE"}),
        ),
    ],
    [
        (
            "UpdateDetector enable true",
            api("UpdateDetector", "guardduty", request={"detectorId": "1", "enable": True}),
        ),
        ("DeleteDetector denied", api("DeleteDetector", "guardduty", **DENIED)),
        (
            "CreateFilter that only labels (NOOP)",
            api("CreateFilter", "guardduty", request={"action": "NOOP"}),
        ),
    ],
)
cases(
    "securityhub-disabled",
    [
        ("DisableSecurityHub", api("DisableSecurityHub", "securityhub")),
        ("BatchDisableStandards", api("BatchDisableStandards", "securityhub")),
        (
            "control disabled",
            api("UpdateStandardsControl", "securityhub", request={"ControlStatus": "DISABLED"}),
        ),
    ],
    [
        (
            "control enabled",
            api("UpdateStandardsControl", "securityhub", request={"ControlStatus": "ENABLED"}),
        ),
        ("DisableSecurityHub denied", api("DisableSecurityHub", "securityhub", **DENIED)),
        ("EnableSecurityHub", api("EnableSecurityHub", "securityhub")),
    ],
)
cases(
    "config-recorder-or-rules-deleted",
    [
        ("DeleteConfigurationRecorder", api("DeleteConfigurationRecorder", "config")),
        ("DeleteConfigRule", api("DeleteConfigRule", "config", request={"configRuleName": "s3-public"})),
        ("DeleteConformancePack", api("DeleteConformancePack", "config")),
    ],
    [
        ("PutConfigRule", api("PutConfigRule", "config")),
        (
            "DeleteConfigRule failed",
            api("DeleteConfigRule", "config", error_code="NoSuchConfigRuleException"),
        ),
        ("DeleteEvaluationResults", api("DeleteEvaluationResults", "config")),
    ],
)
cases(
    "access-analyzer-removed",
    [
        ("DeleteAnalyzer", api("DeleteAnalyzer", "access-analyzer", request={"analyzerName": "org"})),
        ("CreateArchiveRule", api("CreateArchiveRule", "access-analyzer", request={"ruleName": "all"})),
        ("UpdateArchiveRule", api("UpdateArchiveRule", "access-analyzer")),
    ],
    [
        ("CreateAnalyzer", api("CreateAnalyzer", "access-analyzer")),
        ("DeleteAnalyzer denied", api("DeleteAnalyzer", "access-analyzer", **DENIED)),
        ("DeleteArchiveRule (makes findings visible)", api("DeleteArchiveRule", "access-analyzer")),
    ],
)
cases(
    "cloudtrail-event-selectors-changed",
    [
        (
            "management events excluded",
            api(
                "PutEventSelectors",
                "cloudtrail",
                request={
                    "trailName": "security-baseline",
                    "eventSelectors": [{"includeManagementEvents": False, "readWriteType": "ReadOnly"}],
                },
            ),
        ),
        ("DeleteEventDataStore", api("DeleteEventDataStore", "cloudtrail")),
        ("StopEventDataStoreIngestion", api("StopEventDataStoreIngestion", "cloudtrail")),
    ],
    [
        ("GetEventSelectors", api("GetEventSelectors", "cloudtrail", read_only=True)),
        ("PutEventSelectors denied", api("PutEventSelectors", "cloudtrail", **DENIED)),
        ("PutInsightSelectors", api("PutInsightSelectors", "cloudtrail")),
    ],
)
cases(
    "log-group-or-metric-filter-deleted",
    [
        (
            "DeleteMetricFilter",
            api("DeleteMetricFilter", "logs", request={"logGroupName": "trail", "filterName": "root"}),
        ),
        ("DeleteLogGroup", api("DeleteLogGroup", "logs", request={"logGroupName": "trail"})),
        ("DeleteSubscriptionFilter", api("DeleteSubscriptionFilter", "logs")),
    ],
    [
        ("CreateLogGroup", api("CreateLogGroup", "logs")),
        (
            "DeleteLogGroup that does not exist",
            api("DeleteLogGroup", "logs", error_code="ResourceNotFoundException"),
        ),
        ("PutMetricFilter", api("PutMetricFilter", "logs")),
    ],
)
cases(
    "network-logging-deleted",
    [
        ("DeleteFlowLogs", api("DeleteFlowLogs", "ec2", request={"flowLogId": ["fl-1"]})),
        ("DeleteResolverQueryLogConfig", api("DeleteResolverQueryLogConfig", "route53resolver")),
        ("DisassociateResolverQueryLogConfig", api("DisassociateResolverQueryLogConfig", "route53resolver")),
    ],
    [
        ("CreateFlowLogs", api("CreateFlowLogs", "ec2")),
        ("DeleteFlowLogs denied", api("DeleteFlowLogs", "ec2", error_code="Client.UnauthorizedOperation")),
        ("DeleteFlowLogs name on another source", api("DeleteFlowLogs", "route53resolver")),
    ],
)
_bpa = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
cases(
    "s3-block-public-access-removed",
    [
        ("bucket BPA deleted", api("DeleteBucketPublicAccessBlock", "s3", request={"bucketName": "data"})),
        ("account BPA deleted", api("DeleteAccountPublicAccessBlock", "s3")),
        (
            "bucket BPA with BlockPublicPolicy false",
            api(
                "PutBucketPublicAccessBlock",
                "s3",
                request={
                    "bucketName": "data",
                    "PublicAccessBlockConfiguration": {**_bpa, "BlockPublicPolicy": False},
                },
            ),
        ),
    ],
    [
        (
            "bucket BPA fully on",
            api(
                "PutBucketPublicAccessBlock",
                "s3",
                request={"bucketName": "data", "PublicAccessBlockConfiguration": _bpa},
            ),
        ),
        ("delete denied", api("DeleteBucketPublicAccessBlock", "s3", **DENIED)),
        ("Get (read)", api("GetBucketPublicAccessBlock", "s3", read_only=True)),
    ],
)
cases(
    "kms-key-policy-changed",
    [
        ("PutKeyPolicy", api("PutKeyPolicy", "kms", request={"keyId": "1", "policyName": "default"})),
        ("PutKeyPolicy by a role", api("PutKeyPolicy", "kms", identity=assumed_role("admin", "x"))),
        (
            "PutKeyPolicy bypassing the lockout check",
            api("PutKeyPolicy", "kms", request={"keyId": "1", "bypassPolicyLockoutSafetyCheck": True}),
        ),
    ],
    [
        ("GetKeyPolicy", api("GetKeyPolicy", "kms", read_only=True)),
        ("PutKeyPolicy denied", api("PutKeyPolicy", "kms", **DENIED)),
        ("CreateGrant", api("CreateGrant", "kms")),
    ],
)


def _share(kind: str, items: list[dict[str, str]], operation: str = "add") -> dict[str, Any]:
    return {kind: {operation: {"items": items}}}


cases(
    "ec2-ami-shared",
    [
        (
            "public",
            api(
                "ModifyImageAttribute",
                "ec2",
                request={
                    "imageId": "ami-1",
                    "attributeType": "launchPermission",
                    **_share("launchPermission", [{"group": "all"}]),
                },
            ),
        ),
        (
            "to an account",
            api(
                "ModifyImageAttribute",
                "ec2",
                request={"imageId": "ami-1", **_share("launchPermission", [{"userId": "999988887777"}])},
            ),
        ),
        (
            "to an organization",
            api(
                "ModifyImageAttribute",
                "ec2",
                request={
                    "imageId": "ami-1",
                    **_share("launchPermission", [{"organizationArn": "arn:aws:organizations::1:o"}]),
                },
            ),
        ),
    ],
    [
        (
            "permission removed",
            api(
                "ModifyImageAttribute",
                "ec2",
                request={"imageId": "ami-1", **_share("launchPermission", [{"group": "all"}], "remove")},
            ),
        ),
        (
            "description changed",
            api(
                "ModifyImageAttribute",
                "ec2",
                request={"imageId": "ami-1", "attributeType": "description", "description": {"value": "x"}},
            ),
        ),
        (
            "share failed",
            api(
                "ModifyImageAttribute",
                "ec2",
                error_code="Client.InvalidAMIAttributeItemValue",
                request={"imageId": "ami-1", **_share("launchPermission", [{"userId": "x"}])},
            ),
        ),
    ],
)
cases(
    "ebs-snapshot-shared",
    [
        (
            "public",
            api(
                "ModifySnapshotAttribute",
                "ec2",
                request={"snapshotId": "snap-1", **_share("createVolumePermission", [{"group": "all"}])},
            ),
        ),
        (
            "to an account",
            api(
                "ModifySnapshotAttribute",
                "ec2",
                request={
                    "snapshotId": "snap-1",
                    **_share("createVolumePermission", [{"userId": "999988887777"}]),
                },
            ),
        ),
        (
            "to two accounts",
            api(
                "ModifySnapshotAttribute",
                "ec2",
                request={
                    "snapshotId": "snap-1",
                    **_share("createVolumePermission", [{"userId": "1"}, {"userId": "2"}]),
                },
            ),
        ),
    ],
    [
        (
            "permission removed",
            api(
                "ModifySnapshotAttribute",
                "ec2",
                request={
                    "snapshotId": "snap-1",
                    **_share("createVolumePermission", [{"userId": "999988887777"}], "remove"),
                },
            ),
        ),
        (
            "denied",
            api(
                "ModifySnapshotAttribute",
                "ec2",
                error_code="Client.UnauthorizedOperation",
                request={"snapshotId": "snap-1", **_share("createVolumePermission", [{"group": "all"}])},
            ),
        ),
        (
            "image, not snapshot, call with no share",
            api("ModifyImageAttribute", "ec2", request={"imageId": "ami-1", "attributeType": "description"}),
        ),
    ],
)
cases(
    "rds-snapshot-shared",
    [
        (
            "DB snapshot to an account",
            api(
                "ModifyDBSnapshotAttribute",
                "rds",
                request={
                    "dBSnapshotIdentifier": "prod",
                    "attributeName": "restore",
                    "valuesToAdd": ["999988887777"],
                },
            ),
        ),
        (
            "cluster snapshot public",
            api(
                "ModifyDBClusterSnapshotAttribute",
                "rds",
                request={
                    "dBClusterSnapshotIdentifier": "prod",
                    "attributeName": "restore",
                    "valuesToAdd": ["all"],
                },
            ),
        ),
        (
            "by an assumed role",
            api(
                "ModifyDBSnapshotAttribute",
                "rds",
                identity=assumed_role("ops", "s"),
                request={"attributeName": "restore", "valuesToAdd": ["1"]},
            ),
        ),
    ],
    [
        (
            "only removes",
            api(
                "ModifyDBSnapshotAttribute",
                "rds",
                request={"attributeName": "restore", "valuesToRemove": ["999988887777"]},
            ),
        ),
        (
            "empty add list",
            api("ModifyDBSnapshotAttribute", "rds", request={"attributeName": "restore", "valuesToAdd": []}),
        ),
        (
            "denied",
            api(
                "ModifyDBSnapshotAttribute",
                "rds",
                request={"attributeName": "restore", "valuesToAdd": ["999988887777"]},
                **DENIED,
            ),
        ),
    ],
)
cases(
    "access-key-created-for-user-or-root",
    [
        ("key for another user", api("CreateAccessKey", "iam", request={"userName": "backdoor"})),
        ("root key", api("CreateAccessKey", "iam", identity=root())),
        (
            "role creating a user's key",
            api("CreateAccessKey", "iam", identity=assumed_role("admin", "x"), request={"userName": "svc"}),
        ),
    ],
    [
        ("own key, no userName", api("CreateAccessKey", "iam")),
        (
            "limit exceeded",
            api("CreateAccessKey", "iam", error_code="LimitExceededException", request={"userName": "svc"}),
        ),
        ("UpdateAccessKey", api("UpdateAccessKey", "iam", request={"userName": "svc"})),
    ],
)
cases(
    "lambda-function-made-public",
    [
        (
            "invoke for principal *",
            api(
                "AddPermission20150331v2",
                "lambda",
                request={
                    "functionName": "f",
                    "action": "lambda:InvokeFunction",
                    "principal": "*",
                    "statementId": "x",
                },
            ),
        ),
        (
            "function URL without auth",
            api(
                "CreateFunctionUrlConfig20211031", "lambda", request={"functionName": "f", "authType": "NONE"}
            ),
        ),
        (
            "URL switched to no auth",
            api(
                "UpdateFunctionUrlConfig20211031", "lambda", request={"functionName": "f", "authType": "NONE"}
            ),
        ),
    ],
    [
        (
            "invoke for a service principal",
            api(
                "AddPermission20150331v2",
                "lambda",
                request={"functionName": "f", "principal": "s3.amazonaws.com"},
            ),
        ),
        (
            "invoke for another account",
            api(
                "AddPermission20150331v2",
                "lambda",
                request={"functionName": "f", "principal": "999988887777"},
            ),
        ),
        (
            "function URL with IAM auth",
            api(
                "CreateFunctionUrlConfig20211031",
                "lambda",
                request={"functionName": "f", "authType": "AWS_IAM"},
            ),
        ),
        (
            "public permission rejected (policy too large)",
            api(
                "AddPermission20150331v2",
                "lambda",
                error_code="PolicyLengthExceededException",
                request={"functionName": "f", "principal": "*"},
            ),
        ),
    ],
)
cases(
    "lambda-layer-attached",
    [
        (
            "layer from another account",
            api(
                "UpdateFunctionConfiguration20150331v2",
                "lambda",
                request={
                    "functionName": "f",
                    "layers": ["arn:aws:lambda:eu-west-1:999988887777:layer:ext:1"],
                },
            ),
        ),
        (
            "two layers",
            api(
                "UpdateFunctionConfiguration20150331v2",
                "lambda",
                request={"functionName": "f", "layers": ["arn:a:1", "arn:b:2"]},
            ),
        ),
        (
            "older API version name",
            api(
                "UpdateFunctionConfiguration20150331",
                "lambda",
                request={"functionName": "f", "layers": ["arn:a:1"]},
            ),
        ),
    ],
    [
        (
            "environment change only",
            api(
                "UpdateFunctionConfiguration20150331v2",
                "lambda",
                request={"functionName": "f", "environment": {}},
            ),
        ),
        (
            "layers removed (empty list)",
            api(
                "UpdateFunctionConfiguration20150331v2", "lambda", request={"functionName": "f", "layers": []}
            ),
        ),
        ("PublishLayerVersion", api("PublishLayerVersion20181031", "lambda")),
        (
            "layer attach failed (function being updated)",
            api(
                "UpdateFunctionConfiguration20150331v2",
                "lambda",
                error_code="ResourceConflictException",
                request={"functionName": "f", "layers": ["arn:a:1"]},
            ),
        ),
    ],
)
cases(
    "iam-role-trust-policy-changed",
    [
        ("UpdateAssumeRolePolicy", api("UpdateAssumeRolePolicy", "iam", request={"roleName": "app"})),
        ("by a role", api("UpdateAssumeRolePolicy", "iam", identity=assumed_role("admin", "x"))),
        ("by root", api("UpdateAssumeRolePolicy", "iam", identity=root())),
    ],
    [
        ("CreateRole", api("CreateRole", "iam")),
        ("denied", api("UpdateAssumeRolePolicy", "iam", **DENIED)),
        ("GetRole", api("GetRole", "iam", read_only=True)),
    ],
)
cases(
    "iam-login-profile-changed",
    [
        ("CreateLoginProfile", api("CreateLoginProfile", "iam", request={"userName": "svc"})),
        ("UpdateLoginProfile", api("UpdateLoginProfile", "iam", request={"userName": "bob"})),
        ("by a role", api("CreateLoginProfile", "iam", identity=assumed_role("admin", "x"))),
    ],
    [
        ("DeleteLoginProfile", api("DeleteLoginProfile", "iam")),
        ("user changes own password", api("ChangePassword", "iam")),
        (
            "CreateLoginProfile for an existing profile",
            api("CreateLoginProfile", "iam", error_code="EntityAlreadyExistsException"),
        ),
    ],
)
cases(
    "identity-provider-or-trust-anchor-changed",
    [
        ("CreateSAMLProvider", api("CreateSAMLProvider", "iam")),
        ("CreateOpenIDConnectProvider", api("CreateOpenIDConnectProvider", "iam")),
        ("CreateTrustAnchor", api("CreateTrustAnchor", "rolesanywhere")),
    ],
    [
        ("DeleteSAMLProvider", api("DeleteSAMLProvider", "iam")),
        ("ListTrustAnchors", api("ListTrustAnchors", "rolesanywhere", read_only=True)),
        ("CreateTrustAnchor denied", api("CreateTrustAnchor", "rolesanywhere", **DENIED)),
    ],
)
cases(
    "sts-federation-token-issued",
    [
        ("GetFederationToken", api("GetFederationToken", "sts", request={"name": "x"})),
        ("with an admin policy", api("GetFederationToken", "sts", request={"name": "x", "policy": "{}"})),
        ("from another user", api("GetFederationToken", "sts", identity=iam_user("ci"))),
    ],
    [
        ("GetSessionToken", api("GetSessionToken", "sts")),
        ("AssumeRole", api("AssumeRole", "sts")),
        ("denied", api("GetFederationToken", "sts", **DENIED)),
    ],
)
cases(
    "ec2-serial-console-access",
    [
        ("EnableSerialConsoleAccess", api("EnableSerialConsoleAccess", "ec2")),
        ("SendSerialConsoleSSHPublicKey", api("SendSerialConsoleSSHPublicKey", "ec2-instance-connect")),
        ("enabled by a role", api("EnableSerialConsoleAccess", "ec2", identity=assumed_role())),
    ],
    [
        ("DisableSerialConsoleAccess", api("DisableSerialConsoleAccess", "ec2")),
        ("EC2 Instance Connect SSH key (routine)", api("SendSSHPublicKey", "ec2-instance-connect")),
        ("denied", api("EnableSerialConsoleAccess", "ec2", error_code="Client.UnauthorizedOperation")),
    ],
)
cases(
    "ec2-user-data-modified",
    [
        (
            "user data replaced",
            api(
                "ModifyInstanceAttribute",
                "ec2",
                request={"instanceId": "i-1", "userData": "<sensitiveDataRemoved>"},
            ),
        ),
        (
            "by a role",
            api(
                "ModifyInstanceAttribute",
                "ec2",
                identity=assumed_role(),
                request={"instanceId": "i-2", "userData": "<sensitiveDataRemoved>"},
            ),
        ),
        ("by root", api("ModifyInstanceAttribute", "ec2", identity=root(), request={"userData": "x"})),
    ],
    [
        (
            "termination protection",
            api(
                "ModifyInstanceAttribute",
                "ec2",
                request={"instanceId": "i-1", "disableApiTermination": {"value": False}},
            ),
        ),
        ("read user data", api("DescribeInstanceAttribute", "ec2", request={"attribute": "userData"})),
        (
            "instance running (cannot change)",
            api(
                "ModifyInstanceAttribute",
                "ec2",
                error_code="Client.IncorrectInstanceState",
                request={"userData": "x"},
            ),
        ),
    ],
)
cases(
    "secrets-batch-retrieved",
    [
        (
            "BatchGetSecretValue",
            api("BatchGetSecretValue", "secretsmanager", request={"secretIdList": ["a"]}),
        ),
        ("with filters", api("BatchGetSecretValue", "secretsmanager", request={"filters": []})),
        ("by a role", api("BatchGetSecretValue", "secretsmanager", identity=assumed_role())),
    ],
    [
        ("GetSecretValue (single, routine)", api("GetSecretValue", "secretsmanager")),
        ("ListSecrets", api("ListSecrets", "secretsmanager", read_only=True)),
        ("denied", api("BatchGetSecretValue", "secretsmanager", **DENIED)),
    ],
)
cases(
    "secret-scheduled-for-deletion",
    [
        (
            "DeleteSecret",
            api("DeleteSecret", "secretsmanager", request={"secretId": "db", "recoveryWindowInDays": 7}),
        ),
        ("force delete", api("DeleteSecret", "secretsmanager", request={"forceDeleteWithoutRecovery": True})),
        ("by a role", api("DeleteSecret", "secretsmanager", identity=assumed_role())),
    ],
    [
        ("RestoreSecret", api("RestoreSecret", "secretsmanager")),
        (
            "internal version cleanup",
            api("StartSecretVersionDelete", "secretsmanager", event_type="AwsServiceEvent"),
        ),
        ("denied", api("DeleteSecret", "secretsmanager", **DENIED)),
    ],
)
cases(
    "bedrock-model-access-enabled",
    [
        ("PutUseCaseForModelAccess", api("PutUseCaseForModelAccess", "bedrock")),
        ("PutFoundationModelEntitlement", api("PutFoundationModelEntitlement", "bedrock")),
        ("CreateFoundationModelAgreement", api("CreateFoundationModelAgreement", "bedrock")),
    ],
    [
        ("InvokeModel", api("InvokeModel", "bedrock")),
        (
            "ListFoundationModelAgreementOffers",
            api("ListFoundationModelAgreementOffers", "bedrock", read_only=True),
        ),
        ("denied", api("PutUseCaseForModelAccess", "bedrock", **DENIED)),
    ],
)
cases(
    "ssm-shell-command-sent",
    [
        (
            "RunShellScript",
            api("SendCommand", "ssm", request={"documentName": "AWS-RunShellScript", "instanceIds": ["i-1"]}),
        ),
        (
            "RunPowerShellScript",
            api("SendCommand", "ssm", request={"documentName": "AWS-RunPowerShellScript"}),
        ),
        (
            "by a role",
            api(
                "SendCommand", "ssm", identity=assumed_role(), request={"documentName": "AWS-RunShellScript"}
            ),
        ),
    ],
    [
        ("patching document", api("SendCommand", "ssm", request={"documentName": "AWS-RunPatchBaseline"})),
        ("StartSession", api("StartSession", "ssm")),
        (
            "bad instance id",
            api(
                "SendCommand",
                "ssm",
                error_code="InvalidInstanceId",
                request={"documentName": "AWS-RunShellScript"},
            ),
        ),
    ],
)
