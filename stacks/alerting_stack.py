"""AlertingStack: detection alarms -> alerts topic -> forwarder -> PagerDuty; a pipeline that watches itself.

Thin on purpose: it composes the constructs in stacks/constructs/ and owns no resource itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from detections.catalogue import Detection
from detections.fast_path import plan
from stacks.constructs.alert_forwarder import AlertForwarder, AlertForwarderProps
from stacks.constructs.alert_topic import AlertTopic
from stacks.constructs.detection_alarms import (
    DetectionAlarms,
    episode_seconds_for,
    warn_about_disabled_controls,
)
from stacks.constructs.fast_path import FastPathRules, warn_about_uncovered_regions
from stacks.constructs.pipeline_health import PipelineHealth

if TYPE_CHECKING:  # pragma: no cover
    from stacks.config import BaselineConfig


class AlertingStack(Stack):
    """Alarms for every detection in use, the alert and health topics, and the forwarder.

    The detections in use are ``config.detections_in_use`` (built-ins and the user's rules, minus the ids
    switched off) unless a test passes its own list.

    Attributes:
        alerts_topic: SNS topic the detection alarms publish to (the forwarder subscribes).
        health_topic: separate SNS topic for the pipeline's own alarms (never via the forwarder).
        forwarder: the forwarder Lambda function.
        dead_letter_queue: where undeliverable alerts are parked.
        episode_table: the forwarder's open episodes (one PagerDuty alert per incident across both paths).
        alarms: detection id -> that detection's alarm.
        health_alarms: short name -> self-monitoring alarm.
        fast_path: the fast path's EventBridge rules (None when baseline.fastPath.enabled is false).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BaselineConfig,
        trail_log_group: logs.ILogGroup,
        detections: Sequence[Detection] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("security-baseline:component", "alerting")
        in_use = tuple(config.detections_in_use if detections is None else detections)
        warn_about_disabled_controls(self, config.disabled_compliance_detections)

        alerts = AlertTopic(
            self,
            "AlertsTopic",
            purpose="security alerts",
            alarm_name_prefix=config.alarms.name_prefix,
            email_subscribers=config.alert_emails,
        )
        forwarder = AlertForwarder(
            self,
            "AlertForwarder",
            props=AlertForwarderProps(
                alerts_topic=alerts.topic,
                trail_log_group=trail_log_group,
                forwarder=config.forwarder,
                pagerduty=config.pagerduty,
                alarm_name_prefix=config.alarms.name_prefix,
                metric_namespace=config.alarms.namespace,
                suppressions=config.suppressions,
                log_retention_days=config.log_retention_days,
                detections=in_use,
                episode_seconds=episode_seconds_for(in_use, config.alarms),
            ),
        )
        detection_alarms = DetectionAlarms(
            self,
            "DetectionAlarms",
            detections=in_use,
            log_group=trail_log_group,
            settings=config.alarms,
            alerts_topic=alerts.topic,
        )
        fast_path = (
            FastPathRules(
                self,
                "FastPath",
                decisions=plan(in_use),
                forwarder=forwarder.function,
                name_prefix=config.alarms.name_prefix,
            )
            if config.fast_path.enabled
            else None
        )
        if config.fast_path_uncovered_regions:
            warn_about_uncovered_regions(self, config.fast_path_uncovered_regions)
        health = PipelineHealth(
            self,
            "PipelineHealth",
            settings=config.health,
            name_prefix=config.alarms.name_prefix,
            forwarder=forwarder.function,
            dead_letter_queue=forwarder.dead_letter_queue,
            trail_log_group=trail_log_group,
            alerts_topic=alerts.topic,
            fast_path_dead_letter_queue=fast_path.dead_letter_queue if fast_path else None,
        )

        self.alerts_topic: sns.Topic = alerts.topic
        self.health_topic: sns.Topic = health.topic
        self.forwarder: lambda_.Function = forwarder.function
        self.dead_letter_queue: sqs.Queue = forwarder.dead_letter_queue
        self.episode_table: dynamodb.Table = forwarder.episode_table
        self.alarms: dict[str, cloudwatch.Alarm] = detection_alarms.alarms
        self.health_alarms: dict[str, cloudwatch.Alarm] = health.alarms
        self.fast_path: FastPathRules | None = fast_path
