"""AuditTrailStack: the trail and the audit data it produces (bucket, key, log group), retained on delete."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import BaselineConfig
from stacks.constructs.audit_trail import AuditTrail
from stacks.constructs.backtest_athena import BacktestAthena


class AuditTrailStack(Stack):
    """Composes :class:`AuditTrail`; exposes what later stacks need as typed attributes.

    Attributes:
        trail: the multi-region CloudTrail trail.
        log_group: the log group the trail delivers to (the alerting stack filters it).
        key: the KMS key of the trail, its bucket and log group.
        bucket: the trail bucket.
        access_log_bucket: the trail bucket's server access log bucket (None with an existing trail bucket).
        trail_arn: the trail's ARN, built from its name (for policies, without a dependency on the trail).
        backtest: the Athena table, workgroup and saved queries over the trail bucket (baseline.athena), or
            None when not enabled.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: BaselineConfig, **kwargs: Any) -> None:
        kwargs.setdefault(
            "description", f"Security baseline: multi-region CloudTrail trail {config.trail_name}"
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("security-baseline:component", "audit-trail")
        audit_trail = AuditTrail(self, "AuditTrail", config=config)
        self.trail: cloudtrail.Trail = audit_trail.trail
        self.log_group: logs.ILogGroup = audit_trail.log_group
        self.key: kms.IKey = audit_trail.key
        self.bucket: s3.IBucket = audit_trail.bucket
        self.access_log_bucket: s3.IBucket | None = audit_trail.access_log_bucket
        self.trail_arn: str = audit_trail.trail_arn
        self.backtest: BacktestAthena | None = None
        if config.athena.enabled:
            self.backtest = BacktestAthena(
                self,
                "BacktestAthena",
                config=config,
                trail_bucket=self.bucket,
                trail_key=self.key,
                access_log_bucket=self.access_log_bucket,
                access_log_lifecycle=audit_trail.lifecycle_rule(config),
            )
