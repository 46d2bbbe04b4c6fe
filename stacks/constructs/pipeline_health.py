"""Self-monitoring: the alert pipeline watches itself and reports to humans by a separate path.

A failure of the forwarder must not be reported through the forwarder. These alarms publish to a
separate health topic (own KMS key, own subscribers: email and/or an HTTPS subscription for PagerDuty's
native CloudWatch integration), never to the alerts topic.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambdas.forwarder.environment import (
    FORWARDER_METRICS_NAMESPACE,
    SERVICE_DIMENSION,
    SERVICE_NAME,
    ForwarderMetric,
)
from stacks.config import HealthSettings
from stacks.constructs.alert_topic import AlertTopic

ONE_MINUTE = Duration.minutes(1)
# CloudWatch: an alarm's Period x EvaluationPeriods may not exceed one day.
MAX_ALARM_WINDOW_MINUTES = 24 * 60


class PipelineHealth(Construct):
    """Health topic plus alarms for forwarder errors/throttles, dead letters, trail silence, SNS failures.

    Attributes:
        topic: the health topic (not the alerts topic).
        key: its KMS key.
        alarms: short name -> alarm (forwarder-errors, forwarder-throttles, dead-letters, trail-silent,
            alert-delivery-failed, and with the fast path on: fast-path-dead-letters,
            episode-store-failures, fast-path-mismatches).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: HealthSettings,
        name_prefix: str,
        forwarder: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        trail_log_group: logs.ILogGroup,
        alerts_topic: sns.ITopic,
        fast_path_dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= settings.trail_silence_minutes <= MAX_ALARM_WINDOW_MINUTES:
            raise ValueError(
                f"health.trailSilenceMinutes is {settings.trail_silence_minutes}; it must be between 1 and "
                f"{MAX_ALARM_WINDOW_MINUTES} (a CloudWatch alarm looks back at most one day)."
            )
        # Its own key, not the alerts topic's: a disabled or mis-edited alerts key must not also
        # silence the path that reports the breakage.
        health = AlertTopic(
            self,
            "HealthTopic",
            purpose="pipeline health",
            alarm_name_prefix=name_prefix,
            email_subscribers=settings.emails,
            https_subscribers=settings.https_endpoints,
        )
        self.topic = health.topic
        self.key = health.key
        action = cloudwatch_actions.SnsAction(self.topic)

        self.alarms: dict[str, cloudwatch.Alarm] = {
            "forwarder-errors": self._at_least_one(
                "forwarder-errors",
                name_prefix,
                forwarder.metric_errors(statistic=cloudwatch.Stats.SUM, period=ONE_MINUTE),
                "The alert forwarder raised an error: an alert may be retried, late or in the dead-letter "
                "queue. Check the forwarder's log group for the alarm ARN.",
            ),
            "forwarder-throttles": self._at_least_one(
                "forwarder-throttles",
                name_prefix,
                forwarder.metric_throttles(statistic=cloudwatch.Stats.SUM, period=ONE_MINUTE),
                "The alert forwarder was throttled (reserved concurrency reached): alerts are delayed. "
                "Check for an alarm storm; raise forwarder.reservedConcurrency if legitimate.",
            ),
            "dead-letters": self._at_least_one(
                "dead-letters",
                name_prefix,
                # Maximum: any moment with a message parked is a lost page until a human looks.
                dead_letter_queue.metric_approximate_number_of_messages_visible(
                    statistic=cloudwatch.Stats.MAXIMUM, period=ONE_MINUTE
                ),
                "A security alert could not be delivered and is parked in the forwarder's dead-letter "
                "queue. Read the message (it names the alarm and the reason), page manually, then fix.",
            ),
            "alert-delivery-failed": self._at_least_one(
                "alert-delivery-failed",
                name_prefix,
                # SNS could not deliver an alarm notification to a subscriber (e.g. the forwarder).
                alerts_topic.metric_number_of_notifications_failed(
                    statistic=cloudwatch.Stats.SUM, period=ONE_MINUTE
                ),
                "SNS failed to deliver a security alarm notification from the alerts topic to a subscriber. "
                "Check the forwarder's permissions and the dead-letter queue.",
            ),
            "trail-silent": self._trail_silent(settings, name_prefix, trail_log_group),
        }
        if fast_path_dead_letter_queue is not None:
            self.alarms["fast-path-dead-letters"] = self._at_least_one(
                "fast-path-dead-letters",
                name_prefix,
                fast_path_dead_letter_queue.metric_approximate_number_of_messages_visible(
                    statistic=cloudwatch.Stats.MAXIMUM, period=ONE_MINUTE
                ),
                "EventBridge could not hand a CloudTrail event to the alert forwarder (fast path) and parked "
                "it in the fast-path dead-letter queue. The alarm path still pages for it; read the message "
                "(the CloudTrail event and the error) and check the forwarder's permissions and throttling.",
            )
            self.alarms["episode-store-failures"] = self._at_least_one(
                "episode-store-failures",
                name_prefix,
                _forwarder_metric(ForwarderMetric.EPISODE_STORE_FAILURES),
                "The forwarder could not read or write its episode table (DynamoDB throttling, access "
                "denied or a timeout). Pages still went out, but the fast path and the alarm path may each "
                "have opened an alert for one incident, and a redelivered event may have paged twice. Check "
                "the forwarder's log for 'Episode store failed' and the table's metrics.",
            )
            self.alarms["fast-path-mismatches"] = self._at_least_one(
                "fast-path-mismatches",
                name_prefix,
                _forwarder_metric(ForwarderMetric.FAST_PATH_MISMATCHES),
                "An EventBridge rule delivered a CloudTrail event that no fast-path detection's filter "
                "pattern matches. It was paged as an unrecognised fast-path event; the EventBridge pattern "
                "and the filter pattern disagree, or the deployed rules differ from the forwarder's "
                "package. Replay the event with 'python -m detections match' and redeploy both stacks from "
                "one commit.",
            )
        for alarm in self.alarms.values():
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)  # tell the humans when the pipeline has recovered

    def _at_least_one(
        self, short_name: str, name_prefix: str, metric: cloudwatch.Metric, description: str
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            short_name,
            alarm_name=f"{name_prefix}health-{short_name}",
            alarm_description=f"[health-{short_name}] {description}",
            metric=metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            # These metrics have no data points while all is well (no invocation errors, empty queue
            # not reporting): absence is health, not a failure.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _trail_silent(
        self, settings: HealthSettings, name_prefix: str, trail_log_group: logs.ILogGroup
    ) -> cloudwatch.Alarm:
        minutes = settings.trail_silence_minutes
        incoming = cloudwatch.Metric(
            namespace="AWS/Logs",
            metric_name="IncomingLogEvents",
            dimensions_map={"LogGroupName": trail_log_group.log_group_name},
            statistic=cloudwatch.Stats.SUM,
            period=Duration.minutes(minutes),
        )
        return cloudwatch.Alarm(
            self,
            "trail-silent",
            alarm_name=f"{name_prefix}health-trail-silent",
            alarm_description=(
                f"[health-trail-silent] No CloudTrail events reached log group "
                f"{trail_log_group.log_group_name} for {minutes} minutes: the trail is stopped or deleted, "
                "or delivery to CloudWatch Logs is broken, so no detection alarm can fire. Check the trail's "
                "status (IsLogging, LatestCloudWatchLogsDeliveryError) first."
            ),
            metric=incoming,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            # BREACHING is the point: when nothing arrives, AWS/Logs publishes no IncomingLogEvents data
            # point at all (not a zero). With notBreaching a dead trail would look healthy forever.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )


def _forwarder_metric(name: ForwarderMetric) -> cloudwatch.Metric:
    """One of the forwarder's own metrics, as its handler emits it (lambdas/forwarder/environment.py)."""
    return cloudwatch.Metric(
        namespace=FORWARDER_METRICS_NAMESPACE,
        metric_name=name.value,
        dimensions_map={SERVICE_DIMENSION: SERVICE_NAME},
        statistic=cloudwatch.Stats.SUM,
        period=ONE_MINUTE,
    )
