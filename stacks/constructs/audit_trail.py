"""The audit trail: a multi-region CloudTrail trail, its KMS key, S3 bucket (+ access-log bucket), log group.

Everything that holds evidence is retained when the stack is deleted. Policies follow the AWS documentation
for CloudTrail (key policy and bucket policy scoped with ``aws:SourceArn`` to this one trail, the encryption
context condition ``kms:EncryptionContext:aws:cloudtrail:arn``), and for CloudWatch Logs encryption
(``kms:EncryptionContext:aws:logs:arn``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import BaselineConfig, DataEventSettings
from stacks.constructs.compliance import acknowledge, skip_checkov
from stacks.constructs.key_policies import cloudwatch_logs_may_encrypt

CLOUDTRAIL = iam.ServicePrincipal("cloudtrail.amazonaws.com")


def advanced_event_selectors(
    data_events: DataEventSettings, exclude_bucket_arns: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Management events (read and write, no exclusions) plus the configured data events.

    CloudTrail refuses basic and advanced selectors on one trail, so once any data event is configured
    the management events move into an advanced selector too (no ``readOnly`` field = read and write;
    no ``eventSource`` field = nothing excluded, as Security Hub CloudTrail.1 requires).
    With S3 "all", ``exclude_bucket_arns`` (the trail's own buckets) are left out: logging CloudTrail's
    own log deliveries would feed the trail with events about itself.
    """
    selectors: list[dict[str, Any]] = [
        {
            "Name": "Management events (read and write)",
            "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
        }
    ]

    def data_selector(name: str, resource_type: str, arns: Any, match: str) -> dict[str, Any]:
        fields: list[dict[str, Any]] = [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": [resource_type]},
        ]
        if arns != "all":
            fields.append({"Field": "resources.ARN", match: list(arns)})
        return {"Name": name, "FieldSelectors": fields}

    if data_events.s3_buckets:
        # An object ARN is bucket ARN + "/" + key: StartsWith "<bucket ARN>/" (or "<bucket ARN>/<prefix>").
        prefixes = (
            "all"
            if data_events.s3_buckets == "all"
            else [arn if "/" in arn.split(":::", 1)[1] else arn + "/" for arn in data_events.s3_buckets]
        )
        s3_selector = data_selector("S3 object data events", "AWS::S3::Object", prefixes, "StartsWith")
        if prefixes == "all" and exclude_bucket_arns:
            s3_selector["FieldSelectors"].append(
                {"Field": "resources.ARN", "NotStartsWith": [f"{arn}/" for arn in exclude_bucket_arns]}
            )
        selectors.append(s3_selector)
    if data_events.lambda_functions:
        selectors.append(
            data_selector(
                "Lambda invoke data events", "AWS::Lambda::Function", data_events.lambda_functions, "Equals"
            )
        )
    if data_events.dynamodb_tables:
        selectors.append(
            data_selector(
                "DynamoDB data events", "AWS::DynamoDB::Table", data_events.dynamodb_tables, "Equals"
            )
        )
    return selectors


def acknowledge_no_replication(bucket: s3.Bucket) -> None:
    reason = (
        "Cross-region replication needs a destination bucket and key in another region, an account-level "
        "decision outside this baseline; durability comes from S3 (11 nines), versioning, retention on "
        "stack delete and optional Object Lock."
    )
    acknowledge(bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", reason)


def server_access_log_bucket(
    scope: Construct, construct_id: str, lifecycle_rule: s3.LifecycleRule
) -> s3.Bucket:
    """A bucket receiving S3 server access logs: SSE-S3, private, TLS-only, versioned, retained."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        # S3 server access log delivery supports SSE-S3 only as the target's default encryption.
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[lifecycle_rule],
    )
    # cdk-nag already recognises a server-access-log target (no S1/S3BucketLoggingEnabled finding);
    # checkov does not.
    skip_checkov(
        bucket,
        "CKV_AWS_18",
        "This bucket is a server access log target; logging it to itself or to a third bucket would only "
        "log the log delivery.",
    )
    acknowledge(
        bucket,
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "S3 server access log delivery only supports SSE-S3 (AES256) default encryption on the target "
        "bucket; SSE-KMS would make log delivery fail.",
    )
    acknowledge_no_replication(bucket)
    return bucket


class AuditTrail(Construct):
    """A hardened, multi-region CloudTrail trail delivering to S3 and to CloudWatch Logs.

    Attributes:
        trail: the CloudTrail trail.
        key: the KMS key encrypting log files, the log group and the bucket (created, or the configured one).
        bucket: the trail bucket (created, or the configured existing one).
        access_log_bucket: the bucket receiving the trail bucket's server access logs (None when the trail
            bucket is an existing one we do not manage).
        log_group: the CloudWatch Logs log group the trail delivers to (what the detections filter).
        trail_arn: the trail's ARN, built from its name (usable in policies without a dependency cycle).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: BaselineConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.trail_arn = stack.format_arn(
            service="cloudtrail",
            resource="trail",
            resource_name=config.trail_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        # Any trail of this account: the encryption context CloudTrail sets on every log file it writes.
        self._trail_context_arn = stack.format_arn(
            service="cloudtrail",
            region="*",
            resource="trail",
            resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        self._log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=config.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

        self.key: kms.IKey = self._key(config)
        self.access_log_bucket: s3.IBucket | None = None
        if config.existing_bucket_name is not None:
            self.bucket: s3.IBucket = s3.Bucket.from_bucket_name(self, "Bucket", config.existing_bucket_name)
        else:
            self.access_log_bucket = self._access_log_bucket(config)
            self.bucket = self._trail_bucket(config, self.access_log_bucket)
        self.log_group: logs.ILogGroup = self._log_group(config)
        self.trail = self._trail(config)

    # ---------------------------------------------------------------------------------------------- key

    def _key(self, config: BaselineConfig) -> kms.IKey:
        if config.existing_kms_key_arn is not None:
            # Its policy is not ours to edit: the README lists the statements it must carry.
            return kms.Key.from_key_arn(self, "Key", config.existing_kms_key_arn)
        stack = Stack.of(self)
        # CDK's default key policy statement (account root, kms:*) stays: it is AWS's documented "Enable
        # IAM user permissions" statement, which leaves use of the key to IAM policies in this account;
        # without it nobody could administer (or read with) the key. The statements below add the services.
        key = kms.Key(
            self,
            "Key",
            description=f"Encrypts CloudTrail trail {config.trail_name}: log files, bucket and log group",
            enable_key_rotation=True,
            alias=f"alias/{config.trail_name}-trail",
            removal_policy=RemovalPolicy.RETAIN,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToEncryptLogs",
                principals=[CLOUDTRAIL],
                actions=["kms:GenerateDataKey"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "StringEquals": {"aws:SourceArn": self.trail_arn},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": self._trail_context_arn},
                },
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToDescribeKey",
                principals=[CLOUDTRAIL],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceArn": self.trail_arn}},
            )
        )
        # AWS's documented "Enable CloudTrail log decrypt permissions" statement. It grants nothing the root
        # statement above does not (both leave the decision to IAM policies in this account); it records
        # what log readers use the key for, and is what remains if the root statement is ever replaced by
        # named key administrators.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAccountPrincipalsToDecryptLogFiles",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:Decrypt", "kms:ReEncryptFrom"],
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:CallerAccount": stack.account},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": self._trail_context_arn},
                },
            )
        )
        key.add_to_resource_policy(
            cloudwatch_logs_may_encrypt(
                stack, sid="AllowCloudWatchLogsForTheTrailLogGroup", log_group_arn=self._log_group_arn
            )
        )
        return key

    # ------------------------------------------------------------------------------------------ buckets

    def _access_log_bucket(self, config: BaselineConfig) -> s3.Bucket:
        return server_access_log_bucket(self, "AccessLogBucket", self.lifecycle_rule(config))

    def _trail_bucket(self, config: BaselineConfig, access_log_bucket: s3.IBucket) -> s3.Bucket:
        object_lock = config.object_lock
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,  # one data key per bucket period instead of a KMS call per object
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="trail-bucket/",
            lifecycle_rules=[self.lifecycle_rule(config)],
            removal_policy=RemovalPolicy.RETAIN,
            object_lock_enabled=object_lock is not None,
            object_lock_default_retention=(
                None
                if object_lock is None
                else (
                    s3.ObjectLockRetention.compliance(Duration.days(object_lock.days))
                    if object_lock.mode == "COMPLIANCE"
                    else s3.ObjectLockRetention.governance(Duration.days(object_lock.days))
                )
            ),
        )
        self._add_cloudtrail_bucket_policy(bucket, config)
        acknowledge_no_replication(bucket)
        return bucket

    def lifecycle_rule(self, config: BaselineConfig) -> s3.LifecycleRule:
        lifecycle = config.lifecycle
        return s3.LifecycleRule(
            id="archive-then-expire",
            transitions=[
                s3.Transition(
                    storage_class=s3.StorageClass.GLACIER,
                    transition_after=Duration.days(lifecycle.transition_to_glacier_days),
                )
            ],
            expiration=Duration.days(lifecycle.expiration_days),
            # A deleted or overwritten log file stays recoverable as long as a current one would.
            noncurrent_version_transitions=[
                s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.GLACIER,
                    transition_after=Duration.days(lifecycle.transition_to_glacier_days),
                )
            ],
            noncurrent_version_expiration=Duration.days(lifecycle.expiration_days),
            abort_incomplete_multipart_upload_after=Duration.days(7),
        )

    def _add_cloudtrail_bucket_policy(self, bucket: s3.Bucket, config: BaselineConfig) -> None:
        """The statements AWS documents for CloudTrail, each scoped to this trail with aws:SourceArn."""
        stack = Stack.of(self)
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AWSCloudTrailAclCheck",
                principals=[CLOUDTRAIL],
                actions=["s3:GetBucketAcl"],
                resources=[bucket.bucket_arn],
                conditions={"StringEquals": {"aws:SourceArn": self.trail_arn}},
            )
        )
        log_prefixes = [f"AWSLogs/{stack.account}/*"]
        if config.organization_trail:
            # Member accounts' logs of an organization trail land under the organization id.
            log_prefixes.append(f"AWSLogs/{config.organization_id}/*")
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AWSCloudTrailWrite",
                principals=[CLOUDTRAIL],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(prefix) for prefix in log_prefixes],
                conditions={
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": self.trail_arn,
                    }
                },
            )
        )

    # -------------------------------------------------------------------------------------- log group

    def _log_group(self, config: BaselineConfig) -> logs.LogGroup:
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=config.log_group_name,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        cfn_log_group: logs.CfnLogGroup = log_group.node.default_child  # type: ignore[assignment]
        # RetentionDays is an enum of names in Python; the day count is validated against CloudWatch's list.
        cfn_log_group.retention_in_days = config.log_retention_days
        return log_group

    # ------------------------------------------------------------------------------------------ trail

    def _trail(self, config: BaselineConfig) -> cloudtrail.Trail:
        insight_types = [
            insight
            for enabled, insight in (
                (config.insights.api_call_rate, cloudtrail.InsightType.API_CALL_RATE),
                (config.insights.api_error_rate, cloudtrail.InsightType.API_ERROR_RATE),
            )
            if enabled
        ]
        # The L2 adds unscoped CloudTrail statements to the policy of any bucket it is given; handing it a
        # reference (whose policy it cannot edit) keeps ours, scoped with aws:SourceArn, the only ones.
        bucket_reference = s3.Bucket.from_bucket_attributes(
            self, "BucketReference", bucket_name=self.bucket.bucket_name, bucket_arn=self.bucket.bucket_arn
        )
        trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=config.trail_name,
            bucket=bucket_reference,
            encryption_key=self.key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=None if config.data_events.enabled else cloudtrail.ReadWriteType.ALL,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=self.log_group,
            is_organization_trail=config.organization_trail,
            # Only silences the L2's warning: its statement would go to the bucket reference (a no-op);
            # ours, with the organization prefix, is in _add_cloudtrail_bucket_policy.
            org_id=config.organization_id if config.organization_trail else None,
            insight_types=insight_types or None,
        )
        cfn_trail: cloudtrail.CfnTrail = trail.node.default_child  # type: ignore[assignment]
        if config.data_events.enabled:
            cfn_trail.add_property_deletion_override("EventSelectors")
            cfn_trail.add_property_override(
                "AdvancedEventSelectors",
                advanced_event_selectors(
                    config.data_events,
                    exclude_bucket_arns=tuple(
                        bucket.bucket_arn
                        for bucket in (self.bucket, self.access_log_bucket)
                        if bucket is not None
                    ),
                ),
            )
        # CloudTrail checks at creation that it may write to the bucket and that the delivery role may write
        # to the log group, so both policies must exist first. Spelled out because the L2's dependency on the
        # whole role repeats what the GetAtt of its ARN already implies (cfn-lint W3005).
        prerequisites: list[Any] = [trail.node.find_child("LogsRole").node.find_child("DefaultPolicy")]
        if isinstance(self.bucket, s3.Bucket) and self.bucket.policy is not None:
            prerequisites.append(self.bucket.policy)
        stack = Stack.of(self)
        cfn_trail.add_override(
            "DependsOn",
            [stack.get_logical_id(p.node.default_child) for p in prerequisites],
        )
        # No aws:SourceArn/SourceAccount on this role: the CloudTrail guide ("Role policy document for
        # CloudTrail to use CloudWatch Logs") states confused-deputy conditions are not supported for it.
        acknowledge(
            trail.node.find_child("LogsRole"),
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "The CloudTrail L2 creates the CloudWatch Logs delivery role with one inline policy: only "
            "logs:CreateLogStream and logs:PutLogEvents on this trail's log group. Inline keeps that grant "
            "bound to the role's lifecycle; a managed policy could be attached to other principals.",
        )
        return trail
