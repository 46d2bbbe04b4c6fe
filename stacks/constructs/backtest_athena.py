"""The backtest's Athena side (``baseline.athena.enabled``): the catalogue as saved queries over the trail.

What it creates, in the trail stack (the table sits over the trail bucket, so no cross-stack reference):

* a Glue database and the CloudTrail table AWS documents for Athena, with partition projection over
  ``account`` x ``region`` x ``timestamp`` (yyyy/MM/dd), the three partition columns detections/athena.py
  filters on. Single-account trail: ``s3://<bucket>/AWSLogs/<account>/CloudTrail/<region>/<day>``;
  organization trail: ``AWSLogs/<organizationId>/<account>/...``. Columns: detections/targets/sql.py COLUMNS.
  (https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html,
  https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-org-wide-trail.html)
* a workgroup whose settings clients cannot override: results only in the results bucket, encrypted with
  the results key, and a cutoff of bytes scanned per query;
* the results bucket (KMS, TLS-only, private, versioned, access-logged, results expire) and its key;
* one saved (named) query per detection whose SQL compiles; the refusals are written into the workgroup's
  resource metadata, where demo/synth_summary.py lists them;
* a managed policy with exactly what running a backtest needs, to attach to the people or roles who run it.

KMS: no key policy grants Athena or Glue anything. Athena reads S3 with the caller's credentials and S3
decrypts with KMS on the caller's behalf, so the caller needs kms:Decrypt on the trail key; the trail key's
``AllowAccountPrincipalsToDecryptLogFiles`` statement already admits this account's principals for files
carrying CloudTrail's encryption context, and the policy below grants the IAM side, only through S3
(``kms:ViaService``). Glue stores metadata only: with partition projection nothing (no crawler) reads the
logs. The results key keeps CDK's default policy (this account's IAM decides) and the policy grants its use,
again only through S3.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from detections.athena import detection_query
from detections.naming import (
    ATHENA_DATABASE,
    ATHENA_REFUSALS_METADATA_KEY,
    ATHENA_TABLE,
    ATHENA_WORKGROUP,
    athena_named_query_name,
)
from detections.targets.sql import COLUMNS, SqlRefusal, compile_catalogue
from stacks.config import BaselineConfig
from stacks.constructs.audit_trail import acknowledge_no_replication, server_access_log_bucket
from stacks.constructs.compliance import acknowledge

# The documented CloudTrail table: Hive JSON SerDe over CloudTrail's input format (one row per record).
SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
INPUT_FORMAT = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
#: Partition columns, in path order; detections/athena.py's partition_filter names the same three.
PARTITION_KEYS = ("account", "region", "timestamp")
RESULTS_PREFIX = "results/"


def log_prefix(config: BaselineConfig) -> str:
    """The trail's key prefix above the account segment: AWSLogs/ or AWSLogs/<organizationId>/."""
    return f"AWSLogs/{config.organization_id}/" if config.organization_trail else "AWSLogs/"


def projection_parameters(config: BaselineConfig, bucket_name: str, this_account: str) -> dict[str, str]:
    """The table properties that make Athena compute partitions from the key layout instead of Glue."""
    settings = config.athena
    return {
        "classification": "cloudtrail",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        "projection.account.type": "enum",
        "projection.account.values": ",".join(settings.accounts or (this_account,)),
        "projection.region.type": "enum",
        "projection.region.values": ",".join(settings.regions),
        "projection.timestamp.type": "date",
        "projection.timestamp.format": "yyyy/MM/dd",
        "projection.timestamp.interval": "1",
        "projection.timestamp.interval.unit": "DAYS",
        "projection.timestamp.range": f"{settings.projection_start_date},NOW",
        "storage.location.template": (
            f"s3://{bucket_name}/{log_prefix(config)}${{account}}/CloudTrail/${{region}}/${{timestamp}}"
        ),
    }


class BacktestAthena(Construct):
    """Glue table, Athena workgroup, results bucket and key, saved queries, and the policy to use them.

    Attributes:
        results_bucket, results_key, workgroup, table, refused (detections with no saved query, and why),
        query_policy (attach it to whoever runs ``python -m detections backtest --engine athena``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BaselineConfig,
        trail_bucket: s3.IBucket,
        trail_key: kms.IKey,
        access_log_bucket: s3.IBucket | None,
        access_log_lifecycle: s3.LifecycleRule,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.athena
        if access_log_bucket is None:  # the trail bucket is not ours, so neither is its access-log bucket
            access_log_bucket = server_access_log_bucket(self, "AccessLogBucket", access_log_lifecycle)

        self.results_key = kms.Key(
            self,
            "ResultsKey",
            description="Encrypts the security baseline's Athena backtest query results",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.results_bucket = s3.Bucket(
            self,
            "ResultsBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.results_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="athena-results-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-query-results",
                    expiration=Duration.days(settings.results_expiration_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge_no_replication(self.results_bucket)

        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=ATHENA_DATABASE,
                description="Security baseline: the CloudTrail table the detection backtest queries",
            ),
        )
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=database.ref,
            table_input=glue.CfnTable.TableInputProperty(
                name=ATHENA_TABLE,
                description=(
                    f"CloudTrail trail {config.trail_name}, partition projection account x region x day"
                ),
                table_type="EXTERNAL_TABLE",
                parameters=projection_parameters(config, trail_bucket.bucket_name, Aws.ACCOUNT_ID),
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=key, type="string") for key in PARTITION_KEYS
                ],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=name, type=kind) for name, kind in COLUMNS],
                    location=f"s3://{trail_bucket.bucket_name}/{log_prefix(config)}",
                    input_format=INPUT_FORMAT,
                    output_format=OUTPUT_FORMAT,
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=SERDE),
                ),
            ),
        )

        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=ATHENA_WORKGROUP,
            description="Security baseline backtest: the detection catalogue over the CloudTrail table",
            state="ENABLED",
            recursive_delete_option=False,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                bytes_scanned_cutoff_per_query=settings.bytes_scanned_cutoff_per_query,
                publish_cloud_watch_metrics_enabled=True,
                requester_pays_enabled=False,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results_bucket.s3_url_for_object(RESULTS_PREFIX),
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.results_key.key_arn
                    ),
                ),
            ),
        )

        # The detections this deployment runs: built-ins and the user's rules, minus those switched off.
        compiled, self.refused = compile_catalogue(config.detections_in_use)
        table_name = f'"{ATHENA_DATABASE}"."{ATHENA_TABLE}"'
        for detection in compiled:
            query = athena.CfnNamedQuery(
                self,
                f"Query-{detection.detection_id}",
                name=athena_named_query_name(detection.detection_id),
                description=(
                    f"[{detection.detection_id}] matching records. Run with two parameters, the first and "
                    "last day as 'yyyy/MM/dd': they bound the partitions (and bytes) read."
                )[:1024],
                database=database.ref,
                work_group=self.workgroup.ref,
                query_string=detection_query(table_name, detection),
            )
            query.node.add_dependency(self.table)
        self.workgroup.add_metadata(ATHENA_REFUSALS_METADATA_KEY, refusals_metadata(self.refused))

        self.query_policy = self._query_policy(trail_bucket, trail_key, config)

    def _query_policy(
        self, trail_bucket: s3.IBucket, trail_key: kms.IKey, config: BaselineConfig
    ) -> iam.ManagedPolicy:
        stack = Stack.of(self)
        workgroup_arn = stack.format_arn(
            service="athena", resource="workgroup", resource_name=ATHENA_WORKGROUP
        )
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}
        policy = iam.ManagedPolicy(
            self,
            "QueryPolicy",
            description="Run the security baseline backtest in Athena: workgroup, table, trail logs, results",
            statements=[
                iam.PolicyStatement(
                    sid="RunQueriesInTheBacktestWorkGroup",
                    actions=[
                        "athena:StartQueryExecution",
                        "athena:GetQueryExecution",
                        "athena:GetQueryResults",
                        "athena:StopQueryExecution",
                        "athena:GetWorkGroup",
                        "athena:ListNamedQueries",
                        "athena:GetNamedQuery",
                        "athena:BatchGetNamedQuery",
                    ],
                    resources=[workgroup_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadTheTableDefinition",
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                    resources=[
                        stack.format_arn(service="glue", resource="catalog"),
                        stack.format_arn(service="glue", resource="database", resource_name=ATHENA_DATABASE),
                        stack.format_arn(
                            service="glue",
                            resource="table",
                            resource_name=f"{ATHENA_DATABASE}/{ATHENA_TABLE}",
                        ),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadTheTrailLogFiles",
                    actions=["s3:GetObject"],
                    resources=[trail_bucket.arn_for_objects(f"{log_prefix(config)}*")],
                ),
                iam.PolicyStatement(
                    sid="ListTheTrailLogFiles",
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[trail_bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="WriteAndReadQueryResults",
                    actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[self.results_bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="LocateTheResultsBucket",
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[self.results_bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="DecryptTrailLogFilesThroughS3",
                    actions=["kms:Decrypt"],
                    resources=[trail_key.key_arn],
                    conditions=via_s3,
                ),
                iam.PolicyStatement(
                    sid="EncryptAndDecryptResultsThroughS3",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.results_key.key_arn],
                    conditions=via_s3,
                ),
            ],
        )
        reason = (
            "Object-level S3 actions need object ARNs: this wildcard is a key prefix ({what}), under which "
            "the policy grants only the listed object actions; no action is a wildcard."
        )
        for bucket, prefix, what in (
            (trail_bucket, log_prefix(config), "the trail's log files, read only"),
            (self.results_bucket, RESULTS_PREFIX, "the workgroup's query results"),
        ):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{_nag_bucket_arn(bucket)}/{prefix}*]",
                reason.format(what=what),
            )
        return policy


def _nag_bucket_arn(bucket: s3.IBucket) -> str:
    """The bucket ARN as cdk-nag spells it in a finding id (Ref -> <Name>, GetAtt -> <Id.Attr>)."""

    def spell(value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{'.'.join(value['Fn::GetAtt'])}>"
        separator, parts = value["Fn::Join"]
        return str(separator).join(spell(part) for part in parts)

    return spell(Stack.of(bucket).resolve(bucket.bucket_arn))


def refusals_metadata(refused: list[SqlRefusal]) -> list[dict[str, Any]]:
    return [{"detection": refusal.detection_id, "reason": refusal.reason} for refusal in refused]
