"""AuditTrailStack, read as a specification of the trail, its key, bucket, access-log bucket and log group.

The default configuration comes from the session's one synthesized app; each non-default configuration is
synthesized once per module, with the trail stack alone.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from stacks import build_app, nag_packs
from stacks.config import BaselineConfig
from stacks.constructs.audit_trail import advanced_event_selectors
from stacks.trail_stack import AuditTrailStack

if TYPE_CHECKING:  # the fixtures themselves come from conftest.py
    from tests.infra.conftest import SynthesizedApp

EXISTING_KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ORG_ID = "o-a1b2c3d4e5"
DATA_EVENTS = {
    "s3Buckets": ["arn:aws:s3:::payments-data", "arn:aws:s3:::exports/reports/"],
    "lambdaFunctions": "all",
    "dynamodbTables": ["arn:aws:dynamodb:eu-west-1:111122223333:table/orders"],
}


# ------------------------------------------------------------------------------------------------ helpers


class Synthesized:
    """One trail stack with its template and the helpers the assertions share."""

    def __init__(self, stack: AuditTrailStack) -> None:
        self.stack = stack
        self.template = Template.from_stack(stack)
        self.resources: dict[str, Any] = self.template.to_json()["Resources"]

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = [(k, v) for k, v in self.resources.items() if v["Type"] == resource_type]
        assert len(found) == 1, f"expected one {resource_type}, found {[k for k, _ in found]}"
        return found[0]

    def trail_properties(self) -> dict[str, Any]:
        return self.only("AWS::CloudTrail::Trail")[1]["Properties"]

    def bucket_policy_statements(self, bucket: s3.IBucket) -> list[dict[str, Any]]:
        bucket_id = self.logical_id(bucket)
        policies = [
            v["Properties"]["PolicyDocument"]["Statement"]
            for v in self.resources.values()
            if v["Type"] == "AWS::S3::BucketPolicy" and v["Properties"]["Bucket"] == {"Ref": bucket_id}
        ]
        assert len(policies) == 1
        return policies[0]

    def key_policy_statements(self) -> list[dict[str, Any]]:
        return self.only("AWS::KMS::Key")[1]["Properties"]["KeyPolicy"]["Statement"]


def statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    matching = [s for s in statements if s.get("Sid") == sid]
    assert len(matching) == 1, f"no single statement {sid!r} in {json.dumps(statements)[:500]}"
    return matching[0]


def build_trail_stack(raw: dict[str, Any], context: dict[str, Any]) -> Synthesized:
    app = cdk.App(context={key: value for key, value in context.items() if key != "baseline"})
    stack = AuditTrailStack(app, "SecurityBaselineTrail", config=BaselineConfig.from_mapping(raw))
    return Synthesized(stack)


@pytest.fixture(scope="module")
def default(synthesized_app: SynthesizedApp) -> Synthesized:
    return Synthesized(synthesized_app.trail_stack)


@pytest.fixture(scope="module")
def configured(cdk_context: dict[str, Any]) -> Synthesized:
    """Everything optional switched on: data events, Insights, organization trail, Object Lock, 731 days."""
    return build_trail_stack(
        {
            "dataEvents": DATA_EVENTS,
            "insights": {"apiCallRate": True, "apiErrorRate": True},
            "organizationTrail": True,
            "organizationId": ORG_ID,
            "objectLock": {"mode": "COMPLIANCE", "days": 400},
            "logRetentionDays": 731,
            "lifecycle": {"transitionToGlacierDays": 30, "expirationDays": 3650},
        },
        cdk_context,
    )


@pytest.fixture(scope="module")
def reusing(cdk_context: dict[str, Any]) -> Synthesized:
    return build_trail_stack(
        {"existingKmsKeyArn": EXISTING_KEY_ARN, "existingBucketName": "org-audit-logs"}, cdk_context
    )


# ------------------------------------------------------------------------------------------------- trail


def test_trail_is_multi_region_with_global_events_validation_and_kms(default: Synthesized) -> None:
    properties = default.trail_properties()
    assert properties["IsMultiRegionTrail"] is True
    assert properties["IncludeGlobalServiceEvents"] is True
    assert properties["EnableLogFileValidation"] is True
    assert properties["IsLogging"] is True
    assert properties["TrailName"] == "security-baseline"
    assert properties["KMSKeyId"] == {"Fn::GetAtt": [default.logical_id(default.stack.key), "Arn"]}
    assert properties["S3BucketName"] == {"Ref": default.logical_id(default.stack.bucket)}
    assert properties["CloudWatchLogsLogGroupArn"] == {
        "Fn::GetAtt": [default.logical_id(default.stack.log_group), "Arn"]
    }


def test_trail_logs_read_and_write_management_events_and_excludes_no_source(default: Synthesized) -> None:
    properties = default.trail_properties()
    assert properties["EventSelectors"] == [{"IncludeManagementEvents": True, "ReadWriteType": "All"}]
    assert "ExcludeManagementEventSources" not in json.dumps(properties)
    assert "AdvancedEventSelectors" not in properties
    assert "InsightSelectors" not in properties
    assert properties["IsOrganizationTrail"] is False


def test_trail_waits_for_the_bucket_policy_and_the_delivery_role_policy(default: Synthesized) -> None:
    trail_id, trail = default.only("AWS::CloudTrail::Trail")
    bucket_policy = default.stack.bucket.policy
    assert bucket_policy is not None
    policy_resource = bucket_policy.node.default_child
    assert isinstance(policy_resource, cdk.CfnElement)
    policy_id = default.stack.get_logical_id(policy_resource)
    role_policy_id, _ = default.only("AWS::IAM::Policy")
    assert sorted(trail["DependsOn"]) == sorted([policy_id, role_policy_id]), trail_id


def test_stack_is_environment_agnostic(default: Synthesized) -> None:
    text = json.dumps(default.template.to_json())
    assert not re.search(r"\b\d{12}\b", text), "an account id is hard-coded in the template"
    assert '{"Ref": "AWS::AccountId"}' in text
    assert default.stack.account == cdk.Aws.ACCOUNT_ID


def test_home_region_pins_the_region_but_never_the_account(cdk_context: dict[str, Any]) -> None:
    app = cdk.App(context={key: value for key, value in cdk_context.items() if key != "baseline"})
    stacks = build_app(app, BaselineConfig.from_mapping({"homeRegion": "eu-west-1"}))
    assert [stack.region for stack in stacks] == ["eu-west-1", "eu-west-1"]
    assert all(stack.account == cdk.Aws.ACCOUNT_ID for stack in stacks)


def test_typed_attributes_expose_what_later_stacks_need(default: Synthesized) -> None:
    stack = default.stack
    assert isinstance(stack.trail, cloudtrail.Trail)
    assert isinstance(stack.log_group, logs.LogGroup)
    assert isinstance(stack.key, kms.Key)
    assert isinstance(stack.bucket, s3.Bucket)
    assert isinstance(stack.access_log_bucket, s3.Bucket)
    assert stack.bucket is not stack.access_log_bucket


# ------------------------------------------------------------------------------------------ trail bucket


def test_trail_bucket_is_versioned_kms_encrypted_private_and_logged(default: Synthesized) -> None:
    bucket = default.resources[default.logical_id(default.stack.bucket)]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [default.logical_id(default.stack.key), "Arn"]},
    }
    assert bucket["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": default.logical_id(default.stack.access_log_bucket)},
        "LogFilePrefix": "trail-bucket/",
    }
    assert bucket["ObjectLockEnabled"] is False


def test_trail_bucket_lifecycle_archives_then_expires(default: Synthesized) -> None:
    bucket = default.resources[default.logical_id(default.stack.bucket)]["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Transitions"] == [{"StorageClass": "GLACIER", "TransitionInDays": 90}]
    assert rule["ExpirationInDays"] == 2555
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 2555}


def test_trail_bucket_policy_denies_plain_http(default: Synthesized) -> None:
    statements = default.bucket_policy_statements(default.stack.bucket)
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    bucket_arn = {"Fn::GetAtt": [default.logical_id(default.stack.bucket), "Arn"]}
    assert deny == {
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
    }


def test_trail_bucket_policy_admits_only_this_trail(default: Synthesized) -> None:
    trail_arn = default.resolve(default.stack.trail_arn)
    statements = default.bucket_policy_statements(default.stack.bucket)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Sid"] for s in allows} == {"AWSCloudTrailAclCheck", "AWSCloudTrailWrite"}
    for allow in allows:
        assert allow["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert allow["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    write = statement(statements, "AWSCloudTrailWrite")
    assert write["Action"] == "s3:PutObject"
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert "/AWSLogs/" in json.dumps(write["Resource"]) and "AWS::AccountId" in json.dumps(write["Resource"])
    assert statement(statements, "AWSCloudTrailAclCheck")["Action"] == "s3:GetBucketAcl"
    assert trail_arn == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudtrail:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":trail/security-baseline",
            ],
        ]
    }


def test_access_log_bucket_is_hardened_too(default: Synthesized) -> None:
    access_logs = default.stack.access_log_bucket
    bucket = default.resources[default.logical_id(access_logs)]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    # S3 server access log delivery accepts SSE-S3 only.
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    statements = default.bucket_policy_statements(access_logs)  # type: ignore[arg-type]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    delivery = [s for s in statements if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}]
    assert delivery and all("aws:SourceArn" in json.dumps(s["Condition"]) for s in delivery)


# ----------------------------------------------------------------------------------------------- log group


def test_log_group_keeps_a_year_and_is_encrypted_with_the_trail_key(default: Synthesized) -> None:
    _, log_group = default.only("AWS::Logs::LogGroup")
    properties = log_group["Properties"]
    assert properties["LogGroupName"] == "/aws/cloudtrail/security-baseline"
    assert properties["RetentionInDays"] == 365
    assert properties["KmsKeyId"] == {"Fn::GetAtt": [default.logical_id(default.stack.key), "Arn"]}


def test_delivery_role_may_only_write_to_the_trail_log_group(default: Synthesized) -> None:
    _, role = default.only("AWS::IAM::Role")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    _, policy = default.only("AWS::IAM::Policy")
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [default.logical_id(default.stack.log_group), "Arn"]},
        }
    ]
    assert "ManagedPolicyArns" not in role["Properties"]


# ---------------------------------------------------------------------------------------------------- key


def test_key_rotates_and_its_policy_is_scoped_to_the_trail_and_log_group(default: Synthesized) -> None:
    _, key = default.only("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = default.key_policy_statements()
    trail_arn = default.resolve(default.stack.trail_arn)

    encrypt = statement(statements, "AllowCloudTrailToEncryptLogs")
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey"
    assert encrypt["Condition"]["StringEquals"] == {"aws:SourceArn": trail_arn}
    context = json.dumps(encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"])
    assert ":cloudtrail:*:" in context and ":trail/*" in context

    describe = statement(statements, "AllowCloudTrailToDescribeKey")
    assert describe["Action"] == "kms:DescribeKey"
    assert describe["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}

    decrypt = statement(statements, "AllowAccountPrincipalsToDecryptLogFiles")
    assert decrypt["Action"] == ["kms:Decrypt", "kms:ReEncryptFrom"]
    assert "kms:EncryptionContext:aws:cloudtrail:arn" in decrypt["Condition"]["StringLike"]
    assert decrypt["Condition"]["StringEquals"] == {"kms:CallerAccount": {"Ref": "AWS::AccountId"}}

    logs_use = statement(statements, "AllowCloudWatchLogsForTheTrailLogGroup")
    assert logs_use["Principal"] == {
        "Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    }
    log_group_arn = json.dumps(logs_use["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"])
    assert log_group_arn.endswith(':log-group:/aws/cloudtrail/security-baseline"]]}')
    assert not any("*" in action for action in logs_use["Action"])
    # No wildcard action for anyone but the account root: test_compliance_scanners checks every template.


# -------------------------------------------------------------------------------------------- retention


def test_audit_data_survives_stack_deletion(default: Synthesized) -> None:
    for construct in (
        default.stack.bucket,
        default.stack.access_log_bucket,
        default.stack.log_group,
        default.stack.key,
    ):
        assert construct is not None  # the default configuration creates all four
        resource = default.resources[default.logical_id(construct)]
        assert resource["DeletionPolicy"] == "Retain", construct.node.path
        assert resource["UpdateReplacePolicy"] == "Retain", construct.node.path


# ------------------------------------------------------------------------------ optional configuration


def test_data_events_use_advanced_selectors_next_to_all_management_events(configured: Synthesized) -> None:
    properties = configured.trail_properties()
    assert "EventSelectors" not in properties  # CloudTrail refuses basic + advanced selectors together
    selectors = {s["Name"]: s["FieldSelectors"] for s in properties["AdvancedEventSelectors"]}
    assert selectors["Management events (read and write)"] == [
        {"Field": "eventCategory", "Equals": ["Management"]}
    ]
    assert selectors["S3 object data events"] == [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {
            "Field": "resources.ARN",
            "StartsWith": ["arn:aws:s3:::payments-data/", "arn:aws:s3:::exports/reports/"],
        },
    ]
    assert selectors["Lambda invoke data events"] == [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]},
    ]
    assert selectors["DynamoDB data events"][-1] == {
        "Field": "resources.ARN",
        "Equals": ["arn:aws:dynamodb:eu-west-1:111122223333:table/orders"],
    }
    assert "readOnly" not in json.dumps(properties["AdvancedEventSelectors"])
    assert "eventSource" not in json.dumps(properties["AdvancedEventSelectors"])


def test_all_s3_buckets_selector_leaves_out_only_the_trails_own_buckets() -> None:
    config = BaselineConfig.from_mapping({"dataEvents": {"s3Buckets": "all"}})
    (management, s3_events) = advanced_event_selectors(
        config.data_events, exclude_bucket_arns=("arn:aws:s3:::trail-logs", "arn:aws:s3:::trail-access-logs")
    )
    assert management["FieldSelectors"] == [{"Field": "eventCategory", "Equals": ["Management"]}]
    assert s3_events["FieldSelectors"] == [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {
            "Field": "resources.ARN",
            "NotStartsWith": ["arn:aws:s3:::trail-logs/", "arn:aws:s3:::trail-access-logs/"],
        },
    ]


def test_listed_s3_buckets_are_not_narrowed_further() -> None:
    config = BaselineConfig.from_mapping({"dataEvents": {"s3Buckets": ["arn:aws:s3:::payments-data"]}})
    (_, s3_events) = advanced_event_selectors(
        config.data_events, exclude_bucket_arns=("arn:aws:s3:::trail-logs",)
    )
    assert s3_events["FieldSelectors"][-1] == {
        "Field": "resources.ARN",
        "StartsWith": ["arn:aws:s3:::payments-data/"],
    }


def test_insights_selectors_when_configured(configured: Synthesized) -> None:
    assert configured.trail_properties()["InsightSelectors"] == [
        {"InsightType": "ApiCallRateInsight"},
        {"InsightType": "ApiErrorRateInsight"},
    ]


def test_organization_trail_admits_member_account_logs(configured: Synthesized) -> None:
    assert configured.trail_properties()["IsOrganizationTrail"] is True
    write = statement(configured.bucket_policy_statements(configured.stack.bucket), "AWSCloudTrailWrite")
    resources = json.dumps(write["Resource"])
    assert f"/AWSLogs/{ORG_ID}/*" in resources
    assert "AWS::AccountId" in resources  # the management account's own logs still land
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == configured.resolve(
        configured.stack.trail_arn
    )


def test_object_lock_retention_and_custom_lifecycle(configured: Synthesized) -> None:
    bucket = configured.resources[configured.logical_id(configured.stack.bucket)]["Properties"]
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}},
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["Transitions"][0]["TransitionInDays"], rule["ExpirationInDays"]) == (30, 3650)
    _, log_group = configured.only("AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 731


def test_existing_key_and_bucket_are_reused_not_created(reusing: Synthesized) -> None:
    reusing.template.resource_count_is("AWS::KMS::Key", 0)
    reusing.template.resource_count_is("AWS::S3::Bucket", 0)
    reusing.template.resource_count_is("AWS::S3::BucketPolicy", 0)
    properties = reusing.trail_properties()
    assert properties["KMSKeyId"] == EXISTING_KEY_ARN
    assert properties["S3BucketName"] == "org-audit-logs"
    _, log_group = reusing.only("AWS::Logs::LogGroup")
    assert log_group["Properties"]["KmsKeyId"] == EXISTING_KEY_ARN
    assert reusing.stack.access_log_bucket is None
    assert "DependsOn" in reusing.only("AWS::CloudTrail::Trail")[1]  # still waits for the role policy


@pytest.mark.parametrize("variant", ["configured", "reusing"])
def test_non_default_configurations_stay_cdk_nag_clean(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    app = synthesized.stack.node.root
    findings = [
        f"{violation.rule_name} on {resource.construct_path}"
        for pack in nag_packs(app)
        for violation in pack.validate_scope(app).violations
        for resource in violation.violating_resources
    ]
    assert not findings, "\n".join(findings)
