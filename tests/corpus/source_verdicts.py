"""Which source verdicts are about the same thing as which catalogue detections.

A source rule is mapped only when its verdict answers the same question as the detection(s) it is compared
with; e.g. Panther's `AWS.Console.LoginWithoutMFA` vs `console-signin-without-mfa`. A record is positive for
the comparison when ANY of the mapped detections matches it. Rules left out are listed with the reason, so
nothing is silently ignored.
"""

from __future__ import annotations

# Panther rule id -> detections answering the same question.
PANTHER_RULES: dict[str, tuple[str, ...]] = {
    # Rules Panther reports under a CIS 1.2 id.
    "AWS.Root.Activity": ("root-account-usage",),
    "AWS.CloudTrail.UnauthorizedAPICall": ("unauthorized-api-calls",),
    # A root sign-in without MFA is paged by root-console-login (CloudWatch.3 only looks at IAM users).
    "AWS.Console.LoginWithoutMFA": ("console-signin-without-mfa", "root-console-login"),
    "AWS.IAM.PolicyModified": ("iam-policy-changes",),
    "AWS.IAM.AttachAdminRolePolicy": ("iam-policy-changes",),
    "AWS.IAM.AttachAdminUserPolicy": ("iam-policy-changes",),
    "AWS.CloudTrail.Created": ("cloudtrail-configuration-changes",),
    "AWS.CloudTrail.Stopped": ("cloudtrail-configuration-changes",),
    # Panther files this under CIS 3.5, but PutEventSelectors is not in CIS 4.5's list: it is ours beyond CIS.
    "AWS.CloudTrail.EventSelectorsDisabled": ("cloudtrail-event-selectors-changed",),
    "AWS.Console.RootLoginFailed": ("console-authentication-failures",),
    "AWS.Console.RootLogin": ("root-console-login",),
    "AWS.KMS.CustomerManagedKeyLoss": ("kms-cmk-disabled-or-scheduled-for-deletion",),
    "AWS.S3.BucketPolicyModified": ("s3-bucket-policy-changes",),
    "AWS.ConfigService.Created": ("aws-config-changes",),
    "AWS.ConfigService.DisabledDeleted": ("aws-config-changes", "config-recorder-or-rules-deleted"),
    "AWS.EC2.SecurityGroupModified": ("security-group-changes",),
    "AWS.EC2.NetworkACLModified": ("network-acl-changes",),
    "AWS.EC2.GatewayModified": ("network-gateway-changes",),
    "AWS.EC2.RouteTableModified": ("route-table-changes",),
    "AWS.EC2.VPCModified": ("vpc-changes",),
    "AWS.CloudTrail.AttemptToLeaveOrg": ("organizations-changes",),
    # Beyond CIS.
    "AWS.CloudTrail.AMIModifiedForPublicAccess": ("ec2-ami-shared",),
    "AWS.CloudTrail.SnapshotMadePublic": ("ebs-snapshot-shared",),
    "AWS.RDS.SnapshotShared": ("rds-snapshot-shared",),
    "AWS.CloudTrail.DNSLogsDeleted": ("network-logging-deleted",),
    "AWS.VPCFlow.LogsDeleted": ("network-logging-deleted",),
    "AWS.S3.DeletePublicAccessBlock": ("s3-block-public-access-removed",),
    "AWS.IAM.Backdoor.User.Keys": ("access-key-created-for-user-or-root",),
    "AWS.CloudTrail.RootAccessKeyCreated": ("access-key-created-for-user-or-root",),
    "AWS.Potential.Backdoor.Lambda": ("lambda-function-made-public",),
    "AWS.Lambda.UpdateFunctionConfiguration": ("lambda-layer-attached",),
    "AWS.CloudTrail.LoginProfileCreatedOrModified": ("iam-login-profile-changed",),
    "AWS.User.Login.Profile.Modified": ("iam-login-profile-changed",),
    "AWS.SecretsManager.BatchRetrieveSecrets": ("secrets-batch-retrieved",),
    "AWS.SSM.DistributedCommand": ("ssm-shell-command-sent",),
    "AWS.EC2.Startup.Script.Change": ("ec2-user-data-modified",),
}

# Panther rules deliberately not compared, with why.
PANTHER_NOT_COMPARED: dict[str, str] = {
    "AWS.ECR.CRUD": "Panther tags it CIS 3.12 but it is about ECR repositories, not network gateways",
    "AWS.LAMBDA.CRUD": "Panther tags it CIS 3.12 but it is about Lambda CRUD, not network gateways",
    "AWS.IAM.CreateRole": "tagged CIS 1.1; role creation is not root usage and is not in any catalogue "
    "detection",
    "AWS.IAM.CreateUser": "tagged CIS 1.1; user creation is not root usage and is not in any catalogue "
    "detection",
    "AWS.IAM.BackdoorRole": "tagged CIS 1.1; Panther checks the trust policy content, which a filter "
    "cannot parse",
    "AWS.CloudTrail.PasswordSpraying": "a threshold correlation over many sign-ins, not a per-record verdict",
    "Standard.BruteForceByIP": "a threshold correlation over many sign-ins, not a per-record verdict",
    "Standard.BruteForceByUser": "a threshold correlation over many sign-ins, not a per-record verdict",
    "AWS.SecretsManager.BatchRetrieveSecretsCatchAll": "a correlation over several calls (same API as ours)",
}

# StreamAlert rule (named in trigger_rules and in the test file's name) -> detections answering the same
# question.
STREAMALERT_RULES: dict[str, tuple[str, ...]] = {
    "cloudtrail_root_account_usage": ("root-account-usage",),
    "cloudtrail_snapshot_or_ami_made_public": (
        "ec2-ami-shared",
        "ebs-snapshot-shared",
        "rds-snapshot-shared",
    ),
    "public_ami": ("ec2-ami-shared",),
    "cloudtrail_put_bucket_acl": ("s3-bucket-policy-changes",),
    "cloudtrail_security_group_ingress_anywhere": ("security-group-changes",),
    "cloudtrail_network_acl_ingress_anywhere": ("network-acl-changes",),
    # "Critical API calls" (trail, Config, GuardDuty, flow logs, S3 BPA, VPC deletion, ...) is a union:
    # positive when any catalogue detection about defense evasion or network changes fires.
    "cloudtrail_critical_api_calls": (
        "cloudtrail-configuration-changes",
        "aws-config-changes",
        "guardduty-disabled",
        "network-logging-deleted",
        "s3-block-public-access-removed",
        "vpc-changes",
    ),
}

STREAMALERT_NOT_COMPARED: dict[str, str] = {
    "config_compliance": "AWS Config evaluation results, not a CloudTrail change the catalogue watches",
    "config_auto_remediation": "SSM automation started by Config, not a catalogue concern",
    "unencrypted_ami_volume": "image encryption hygiene, not a catalogue concern",
    "cloudtrail_mfa_policy_abuse_attempt": "MFA device churn; no catalogue detection covers it",
    "cloudtrail_public_resources": "parses resource policies of many services for public principals",
    "cloudtrail_put_object_acl_public": "object-level ACLs are data events, outside the management-event "
    "baseline",
    "cloudtrail_put_object_acl_public_publisher_example": "as above, publisher example",
}


def streamalert_rule_of(source: str) -> str:
    """The rule a StreamAlert test file exercises: its file name without extension."""
    return source.rsplit("/", 1)[-1].removesuffix(".json")
