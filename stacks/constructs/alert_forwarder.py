"""Deploys the alert forwarder Lambda (code by the FORWARDER helper in lambdas/forwarder/).

SNS (alerts topic) -> forwarder -> PagerDuty Events API v2. What cannot be delivered ends in an encrypted
SQS dead-letter queue: Lambda's asynchronous on-failure destination after 2 retries, SNS's subscription
redrive when SNS cannot invoke the function at all, and direct sends by the handler
(DEAD_LETTER_QUEUE_URL) for malformed or permanently rejected messages. PipelineHealth alarms on the queue.

The alarms do not invoke the function directly (Lambda alarm actions): the SNS path is the product, it
fans out to email/other subscribers too, and one path keeps the dedup and retry story simple.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack, Stage
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from detections.rule import Detection
from detections.rule_files import PACKAGED_RULES_DIR
from detections.suppressions import Suppression, suppressions_json
from lambdas.forwarder.environment import forwarder_environment
from lambdas.forwarder.episode_store import PARTITION_KEY, TTL_ATTRIBUTE
from stacks.config import ForwarderSettings, PagerDutySettings
from stacks.constructs.compliance import acknowledge, skip_checkov
from stacks.constructs.key_policies import cloudwatch_logs_may_encrypt

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER = "lambdas.forwarder.handler.lambda_handler"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64

# The forwarder's code: the `lambdas` package marker, the forwarder package and the detections package's
# code. Its rules are NOT taken from the repository: exactly the rules in use (built-ins left on and the
# user's rulesDir) are staged beside the code, in detections/rules/, without their cases.
ASSET_CODE = ("lambdas/__init__.py", "lambdas/forwarder", "detections")
_NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py", ".pytest_cache", "rules")
STAGING_DIRNAME = "forwarder-source"


def stage_forwarder_source(destination: Path, detections: Sequence[Detection]) -> Path:
    """Write the forwarder's asset source to ``destination``: its code and one ``<id>.toml`` per rule in use.

    Deterministic (the same inputs give the same files, so the asset hash only moves when they change).
    Detections built in code (tests) have no rule file and are not packaged: the forwarder pages them as
    alarms it does not know, as it would any alarm outside its rules.
    """
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for relative in ASSET_CODE:
        source = REPO_ROOT / relative
        if source.is_dir():
            shutil.copytree(source, destination / relative, ignore=_NOT_SHIPPED)
        else:
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination / relative)
    rules = destination / PACKAGED_RULES_DIR.relative_to(REPO_ROOT)
    rules.mkdir()
    for detection in detections:
        rule_file = Path(detection.source) if detection.source else None
        if rule_file is not None and rule_file.stem == detection.id and rule_file.is_file():
            shutil.copyfile(rule_file, rules / rule_file.name)
    return destination


# Powertools for AWS Lambda (Python) public layer, AWS account 017000801446. The layer for exactly
# aws-lambda-powertools 3.37.0 (the version pinned in requirements.txt, so tests run the code as
# deployed) is resolved at deploy time from the public SSM parameter Powertools publishes per release
# and region: /aws/service/powertools/python/{arch}/{python}/{semantic version}, whose value is
# arn:aws:lambda:REGION:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:N.
# We could not confirm the numeric layer version N for 3.37.0 offline; resolving the pinned semantic
# version avoids guessing N, and a missing parameter fails the deployment loudly instead of silently
# deploying another Powertools version.
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_SSM_PARAMETER = f"/aws/service/powertools/python/arm64/python3.12/{POWERTOOLS_VERSION}"

MAX_ASYNC_RETRY_ATTEMPTS = 2
# An alarm notification older than this is not retried any more but parked in the dead-letter queue
# (which pages through the health topic): a page an hour late is better surfaced as a failure.
MAX_EVENT_AGE = Duration.hours(1)
DEAD_LETTER_RETENTION = Duration.days(14)  # the SQS maximum: time for a human to look


@dataclass(frozen=True)
class AlertForwarderProps:
    alerts_topic: sns.ITopic
    trail_log_group: logs.ILogGroup
    forwarder: ForwarderSettings
    pagerduty: PagerDutySettings
    alarm_name_prefix: str
    metric_namespace: str  # the detections' metrics: the forwarder maps an alarm to its detection by them
    suppressions: Sequence[Suppression]
    log_retention_days: int
    #: The detections in use; their rule files are packaged with the function.
    detections: Sequence[Detection]
    #: How long an episode stays open for the other path to join (detection_alarms.episode_seconds_for).
    episode_seconds: int


def secret_arn_pattern(stack: Stack, secret_name_or_arn: str) -> str:
    """ARN matching one secret by name: Secrets Manager appends "-" and 6 random characters to the name."""
    if secret_name_or_arn.startswith("arn:"):
        return secret_name_or_arn
    prefix = f"arn:{stack.partition}:secretsmanager:{stack.region}:{stack.account}:secret"
    return f"{prefix}:{secret_name_or_arn}-??????"


class AlertForwarder(Construct):
    """The forwarder function, its dead-letter queue, key, log group and least-privilege role.

    Attributes:
        function: the forwarder Lambda function.
        dead_letter_queue: encrypted SQS queue for everything that could not be delivered.
        episode_table: DynamoDB table of open episodes, so both paths page one alert per incident.
        key: customer-managed key for the queue, the table, the function's log group and its environment.
        log_group: the function's log group.
        role: the function's execution role.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: AlertForwarderProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        # Besides CDK's default statement (account root, kms:*: AWS's documented delegation of key use to
        # IAM in this account), the key policy names only CloudWatch Logs and SNS redrive, each scoped below.
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the alert forwarder's queue, episode table, log group and environment",
            enable_key_rotation=True,
        )
        self.log_group = self._log_group(stack, props.log_retention_days)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            # Keep data keys for 5 minutes instead of calling KMS per message (SQS default, stated).
            data_key_reuse=Duration.minutes(5),
            retention_period=DEAD_LETTER_RETENTION,
            # Parked alerts are undelivered pages: deleting the stack must not delete them.
            removal_policy=RemovalPolicy.RETAIN,
            # Adds a queue policy denying every sqs:* request made without TLS.
            enforce_ssl=True,
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the alert path (Lambda on-failure destination, "
            "SNS subscription redrive target, direct sends by the handler); a DLQ for the DLQ would only "
            "move the problem. Its depth is alarmed by PipelineHealth.",
        )

        self.episode_table = self._episode_table()

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Alert forwarder: read trail events, read the PagerDuty routing key, park failures",
        )
        # Every permission lives in ONE customer-managed policy written out below; the function gets the
        # role without policy updates so no construct can quietly add grants (CDK's tracing and
        # environment-encryption grants are written out explicitly instead). A customer-managed policy,
        # not an inline one: cdk-nag's NIST.800.53.R5-IAMNoInlinePolicy rejects inline policies.
        self.policy = self._least_privilege_policy(stack, props)

        self.function = lambda_.Function(
            self,
            "Function",
            description="Enriches CloudWatch security alarms with their CloudTrail events, pages PagerDuty",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(stage_forwarder_source(self._staging_dir(), props.detections))),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self,
                    "PowertoolsLayer",
                    f"{{{{resolve:ssm:{POWERTOOLS_LAYER_SSM_PARAMETER}}}}}",
                )
            ],
            role=self.role.without_policy_updates(),
            timeout=Duration.seconds(props.forwarder.timeout_seconds),
            memory_size=props.forwarder.memory_mb,
            reserved_concurrent_executions=props.forwarder.reserved_concurrency,
            environment=self._environment(props),
            environment_encryption=self.key,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
        )
        # The function must not exist (and be invocable) before its permissions do. Written as the one
        # DependsOn entry: CDK would also list the role, which the function's GetAtt already orders
        # (cfn-lint W3005).
        cfn_function: lambda_.CfnFunction = self.function.node.default_child  # type: ignore[assignment]
        cfn_function.add_override(
            "DependsOn",
            [stack.get_logical_id(self.policy.node.default_child)],  # type: ignore[arg-type]
        )
        # L1 on purpose: the L2 `on_failure=SqsDestination(...)` calls queue.grant_send_messages(), which
        # adds kms:ReEncrypt*/kms:GenerateDataKey* wildcard actions; the exact grants are above.
        lambda_.CfnEventInvokeConfig(
            self,
            "AsyncInvokeConfig",
            function_name=self.function.function_name,
            qualifier="$LATEST",
            maximum_retry_attempts=MAX_ASYNC_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=int(MAX_EVENT_AGE.to_seconds()),
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(
                    destination=self.dead_letter_queue.queue_arn
                )
            ),
        )
        props.alerts_topic.add_subscription(
            subscriptions.LambdaSubscription(self.function, dead_letter_queue=self.dead_letter_queue)
        )
        self._let_sns_park_undeliverable_messages(props.alerts_topic)
        self._acknowledge_findings()

    def _episode_table(self) -> dynamodb.Table:
        """Open episodes and paged events (lambdas/forwarder/episode_store.py): small, short-lived items."""
        table = dynamodb.Table(
            self,
            "EpisodeTable",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            # Items live for an episode (about half an hour): nothing to keep when the stack goes.
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            table,
            "NIST.800.53.R5-DynamoDBInBackupPlan",
            "Items live for one alert episode (about half an hour) and expire by TTL; point-in-time recovery "
            "is on. A backup plan would only keep expired episodes.",
        )
        return table

    def _log_group(self, stack: Stack, retention_days: int) -> logs.LogGroup:
        name = f"/security-baseline/{stack.stack_name}/alert-forwarder"
        self.key.add_to_resource_policy(
            cloudwatch_logs_may_encrypt(
                stack,
                sid="AllowCloudWatchLogsForTheForwarderLogGroup",
                log_group_arn=f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{name}",
            )
        )
        log_group = logs.LogGroup(self, "LogGroup", log_group_name=name, encryption_key=self.key)
        cfn_log_group: logs.CfnLogGroup = log_group.node.default_child  # type: ignore[assignment]
        # RetentionDays is an enum of names in the Python binding; the validated day count goes in as is.
        cfn_log_group.retention_in_days = retention_days
        return log_group

    def _staging_dir(self) -> Path:
        # Inside the cloud assembly (cdk.out), never the repository: synth writes only where it owns.
        stage = Stage.of(self)
        assert stage is not None, "the forwarder is always built inside an App"
        return Path(stage.outdir) / f"{STAGING_DIRNAME}-{self.node.addr}"

    def _environment(self, props: AlertForwarderProps) -> dict[str, str]:
        return forwarder_environment(
            trail_log_group_name=props.trail_log_group.log_group_name,
            routing_key_secret_name=props.pagerduty.routing_key_secret_name,
            pagerduty_events_url=props.pagerduty.events_url,
            dead_letter_queue_url=self.dead_letter_queue.queue_url,
            alarm_name_prefix=props.alarm_name_prefix,
            metric_namespace=props.metric_namespace,
            suppressions_json=suppressions_json(props.suppressions),
            episode_table_name=self.episode_table.table_name,
            episode_seconds=props.episode_seconds,
        )

    def _least_privilege_policy(self, stack: Stack, props: AlertForwarderProps) -> iam.ManagedPolicy:
        statements = [
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="ReadTrailEventsBehindAnAlarm",
                actions=["logs:FilterLogEvents"],
                resources=[props.trail_log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="ReadPagerDutyRoutingKey",
                actions=["secretsmanager:GetSecretValue"],
                resources=[secret_arn_pattern(stack, props.pagerduty.routing_key_secret_name)],
            ),
            *self._secret_key_statements(stack, props.pagerduty),
            iam.PolicyStatement(
                sid="ParkUndeliverableAlerts",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
            ),
            iam.PolicyStatement(
                # GenerateDataKey + Decrypt: what SQS needs from a sender on a KMS-encrypted queue;
                # Decrypt also opens the function's encrypted environment variables.
                sid="UseForwarderKeyForQueueAndEnvironment",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self.key.key_arn],
            ),
            iam.PolicyStatement(
                # GetItem/PutItem only: the episode store (episode_store.py) reads and conditionally writes.
                sid="RememberOpenEpisodes",
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[self.episode_table.table_arn],
            ),
            iam.PolicyStatement(
                # DynamoDB encrypts and decrypts the table's items with the forwarder's key on the caller's
                # behalf: Encrypt and DescribeKey besides the Decrypt/GenerateDataKey above, only via
                # DynamoDB (kms:ViaService).
                sid="UseForwarderKeyThroughDynamoDB",
                actions=["kms:Encrypt", "kms:DescribeKey"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="NameTheAccountInPages",
                actions=["iam:ListAccountAliases"],
                resources=["*"],  # no resource-level permissions exist for this action
            ),
            iam.PolicyStatement(
                sid="SendXRayTraces",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],  # no resource-level permissions exist for these actions
            ),
        ]
        return iam.ManagedPolicy(
            self,
            "Policy",
            description="Least privilege for the security alert forwarder",
            statements=statements,
            roles=[self.role],
        )

    @staticmethod
    def _secret_key_statements(stack: Stack, pagerduty: PagerDutySettings) -> list[iam.PolicyStatement]:
        """kms:Decrypt on the routing-key secret's customer-managed key, usable only through Secrets Manager.

        GetSecretValue on a secret encrypted with a customer-managed key instead of aws/secretsmanager
        also needs kms:Decrypt on that key; without it the read fails with AccessDenied and every page
        would dead-letter. Secrets Manager calls KMS on the caller's behalf, so KMS sees kms:ViaService =
        secretsmanager.<region>.amazonaws.com: with that condition the role can use the key only to read
        secrets, never to decrypt other data by calling KMS directly (AWS's managed policy
        AWSSecretsManagerClientReadOnlyAccess restricts its kms:Decrypt the same way), and only the routing
        key's secret (the SecretARN encryption context). Sources:
        - https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
          ("Required permissions")
        - https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
          ("Permissions for the KMS key"; "Secrets Manager encryption context": SecretARN, SecretVersionId)
        - https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
        No statement when unset: the default aws/secretsmanager key needs no grant.
        """
        key_arn = pagerduty.routing_key_secret_kms_key_arn
        if key_arn is None:
            return []
        return [
            iam.PolicyStatement(
                sid="DecryptPagerDutyRoutingKeySecret",
                actions=["kms:Decrypt"],
                resources=[key_arn],  # the key ARN: IAM matches no key by alias (validated in config)
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"},
                    # Secrets Manager encrypts each secret under the encryption context SecretARN = the
                    # secret's ARN: the key then opens this one secret, not every secret it protects.
                    "StringLike": {
                        "kms:EncryptionContext:SecretARN": secret_arn_pattern(
                            stack, pagerduty.routing_key_secret_name
                        )
                    },
                },
            )
        ]

    def _let_sns_park_undeliverable_messages(self, topic: sns.ITopic) -> None:
        # The subscription's redrive policy makes SNS send to the encrypted queue: SNS needs the key too.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSnsRedriveFromTheAlertsTopic",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
            )
        )

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Only for iam:ListAccountAliases and xray:PutTraceSegments/PutTelemetryRecords, which support "
            "no resource-level permissions (IAM service authorization reference); every other statement "
            "is scoped to one log group, secret, queue or key.",
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaDLQ",
            "Failures go to the SQS on-failure destination (EventInvokeConfig), which records the request, "
            "response and error; a legacy DeadLetterConfig as well would duplicate every failed event.",
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaInsideVPC",
            "No VPC: the function only calls public AWS APIs and PagerDuty over HTTPS; a VPC would add a "
            "NAT gateway as a new failure point on the alert path.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to python3.12 because the Powertools layer is resolved for python3.12/arm64 "
            "(POWERTOOLS_LAYER_SSM_PARAMETER, AWSLambdaPowertoolsPythonV3-python312-arm64); a newer runtime "
            "needs the matching layer parameter, so RUNTIME and the parameter change together.",
        )
        for check_id, comment in (
            (
                "CKV_AWS_116",
                "Failures go to the SQS on-failure destination (EventInvokeConfig), which records the "
                "request, response and error; a legacy DeadLetterConfig too would duplicate failed events.",
            ),
            (
                "CKV_AWS_117",
                "No VPC: the function only calls public AWS APIs and PagerDuty over HTTPS; a VPC would add a "
                "NAT gateway as a new failure point on the alert path.",
            ),
        ):
            skip_checkov(self.function, check_id, comment)
