"""One metric filter per catalogue pattern and one fast alarm per catalogue detection.

Everything here is derived from the detection catalogue: adding a detection adds its filters and its
alarm with no other change. The alarm semantics are the part that public CIS constructs most often get
wrong (``metricFilter.metric()`` defaults to *Average over 5 minutes*; every match emits 1, so the
average is 1 and ``> 1`` can never fire). Here every alarm is ``Sum`` over 60 s, ``>= 1``, missing data
not breaching, 1 datapoint out of a window sized to the tolerated CloudTrail delivery delay (default 20
periods), and the tests assert exactly that for every alarm.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from detections import naming
from detections.alarm_window import episode_seconds, evaluation_periods_for_delay
from detections.filter_pattern import MAX_REGEX_PER_PATTERN, FilterPatternError, compile_pattern
from stacks.config import AlarmSettings

if TYPE_CHECKING:  # pragma: no cover - typing only; the catalogue is pure stdlib and imports nothing of ours
    from detections.catalogue import Detection

# CloudWatch Logs quotas (PutMetricFilter API reference; not adjustable): 100 metric filters per log
# group; regular expressions: at most 2 per filter pattern (the engine refuses a third when parsing) and 5
# per log group. The per-log-group count is enforced conservatively here as the number of %regex% operands
# across all our filters, counted by the engine from each pattern's parsed form.
MAX_METRIC_FILTERS_PER_LOG_GROUP = 100
MAX_REGEX_TERMS_PER_PATTERN = MAX_REGEX_PER_PATTERN
MAX_REGEX_PATTERNS_PER_LOG_GROUP = 5

# Periods CloudWatch accepts for an alarm: 10, 30 (high resolution) or any multiple of 60 seconds.
VALID_SUB_MINUTE_PERIODS = (10, 30)


class MetricFilterQuotaError(ValueError):
    """The catalogue would put more metric filters (or regex filters) on the log group than AWS allows."""


@dataclass(frozen=True)
class AlarmTiming:
    period_seconds: int
    evaluation_periods: int


def regex_count(detection: Detection, pattern: str) -> int:
    """The %regex% operands of one of the detection's patterns, as the engine parsed them."""
    try:
        return compile_pattern(pattern).regex_count
    except FilterPatternError as error:  # e.g. a third regex: CloudWatch allows two per pattern
        raise MetricFilterQuotaError(
            f"Filter pattern of {detection.id} ({detection.source or 'built in code'}) would be rejected by "
            f"CloudWatch Logs: {error}. Fix the pattern (at most {MAX_REGEX_TERMS_PER_PATTERN} %regex% per "
            "pattern; wildcards '*' need none)."
        ) from None


def check_log_group_quotas(detections: Sequence[Detection], *, other_filters_on_log_group: int = 0) -> None:
    """Fail synth with an actionable message when the detections in use would exceed a per-log-group quota.

    Counts every detection passed in: the built-ins left on and the user's own rules (rulesDir).
    """
    filter_count = sum(len(detection.all_patterns) for detection in detections) + other_filters_on_log_group
    if filter_count > MAX_METRIC_FILTERS_PER_LOG_GROUP:
        raise MetricFilterQuotaError(
            f"The detections in use need {filter_count} metric filters on the trail log group "
            f"({len(detections)} detections, {other_filters_on_log_group} other filters), but "
            f"CloudWatch Logs allows at most {MAX_METRIC_FILTERS_PER_LOG_GROUP} metric filters per log "
            "group. "
            "Fix: switch detections off (baseline.detections.disabled), or remove or merge rules (or their "
            "additional_patterns) in baseline.detections.rulesDir."
        )
    regex_ids = [
        detection.id
        for detection in detections
        for pattern in detection.all_patterns
        for _ in range(regex_count(detection, pattern))
    ]
    if len(regex_ids) > MAX_REGEX_PATTERNS_PER_LOG_GROUP:
        raise MetricFilterQuotaError(
            f"{len(regex_ids)} %regex% patterns in the metric filters (detections: "
            f"{', '.join(sorted(set(regex_ids)))}), but CloudWatch Logs allows at most "
            f"{MAX_REGEX_PATTERNS_PER_LOG_GROUP} regular expression patterns per log group. "
            "Fix: rewrite some patterns without %regex% (e.g. with wildcards '*'), or switch detections off "
            "(baseline.detections.disabled)."
        )


def disabled_control_warning(detection: Detection) -> str:
    """What switching off a detection that carries compliance controls costs, and how to undo it."""
    security_hub = [c for c in detection.controls if c.startswith("CloudWatch.")]
    named = ", ".join(security_hub + [c for c in detection.controls if c not in security_hub])
    return (
        f"baseline.detections.disabled: {detection.id!r} is switched off, so its metric filter and alarm are "
        f"not deployed and these controls will FAIL for this account: {named}. Remove the id from "
        "baseline.detections.disabled to pass them again."
    )


def warn_about_disabled_controls(scope: Construct, disabled: Iterable[Detection]) -> None:
    """A CDK warning annotation (listed by `cdk synth`, fails `--strict`) and a line on stderr for each."""
    for detection in disabled:
        message = disabled_control_warning(detection)
        Annotations.of(scope).add_warning_v2(f"security-baseline:detection-disabled:{detection.id}", message)
        print(f"Warning: {message}", file=sys.stderr)


def alarm_timing(detection_id: str, settings: AlarmSettings) -> AlarmTiming:
    """Period and evaluation periods for one detection: the per-detection override wins, field by field.

    EvaluationPeriods is derived from the tolerated delivery delay (detections/alarm_window.py), so a record
    that reaches the log group up to that late still lands inside the window and pages.
    """
    override = settings.overrides.get(detection_id)
    period = getattr(override, "period_seconds", None) or settings.period_seconds
    delay_minutes = getattr(override, "tolerated_delay_minutes", None) or settings.tolerated_delay_minutes
    if period not in VALID_SUB_MINUTE_PERIODS and (period < 60 or period % 60):
        raise ValueError(
            f"alarms period for detection {detection_id!r} is {period} s; CloudWatch alarms accept 10, 30 "
            "or a multiple of 60 seconds. Fix baseline.alarms.periodSeconds or its override."
        )
    evaluations = evaluation_periods_for_delay(delay_minutes * 60, period)
    if evaluations < 1:
        raise ValueError(
            f"alarms evaluation periods for detection {detection_id!r} is {evaluations}; it must be >= 1."
        )
    return AlarmTiming(period_seconds=period, evaluation_periods=evaluations)


def episode_seconds_for(detections: Iterable[Detection], settings: AlarmSettings) -> int:
    """How long an episode stays open (detections/alarm_window.episode_seconds): the longest alarm window of
    the detections in use plus the margin, so the slowest alarm's page still joins the fast path's alert."""
    windows = [alarm_timing(detection.id, settings) for detection in detections]
    return max(
        (episode_seconds(t.period_seconds, t.evaluation_periods) for t in windows),
        default=episode_seconds(settings.period_seconds, 1),
    )


class DetectionAlarms(Construct):
    """Metric filters on the trail log group and one alarm per detection, all from the catalogue.

    Attributes:
        alarms: detection id -> the detection's single alarm.
        metric_filters: detection id -> its metric filters (one per pattern, same metric).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        detections: Iterable[Detection],
        log_group: logs.ILogGroup,
        settings: AlarmSettings,
        alerts_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        catalogue = tuple(detections)
        check_log_group_quotas(catalogue)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.metric_filters: dict[str, list[logs.MetricFilter]] = {}
        topic_action = cloudwatch_actions.SnsAction(alerts_topic)
        for detection in catalogue:
            self.metric_filters[detection.id] = self._add_metric_filters(detection, log_group, settings)
            alarm = self._add_alarm(detection, settings)
            alarm.add_alarm_action(topic_action)
            if detection.resolve_policy == "resolve_on_ok":
                # OK tells the forwarder to send a PagerDuty resolve; "manual" detections stay open.
                alarm.add_ok_action(topic_action)
            self.alarms[detection.id] = alarm

    def _add_metric_filters(
        self, detection: Detection, log_group: logs.ILogGroup, settings: AlarmSettings
    ) -> list[logs.MetricFilter]:
        filters = []
        for index, pattern in enumerate(detection.all_patterns):
            filters.append(
                logs.MetricFilter(
                    self,
                    f"{detection.id}-filter-{index}",
                    log_group=log_group,
                    filter_name=naming.metric_filter_name(detection.id, settings.name_prefix, index),
                    # literal(): the exact catalogue text reaches CloudFormation untouched, which is what
                    # Security Hub's exact-CIS-text comparison needs.
                    filter_pattern=logs.FilterPattern.literal(pattern),
                    metric_namespace=settings.namespace,
                    metric_name=naming.metric_name(detection.id),
                    metric_value="1",
                    # Deliberately NO default value: a DefaultValue of 0 would publish a data point for
                    # every batch of non-matching trail events, turning every detection into a metric that
                    # is billed as a custom metric every month ($0.30/metric-month) even when nothing
                    # happens. Without it the metric exists only in months with matches, and "no data"
                    # is exactly "no match", which TreatMissingData=notBreaching turns into OK.
                    # (Silence of the trail itself is watched separately by PipelineHealth.)
                )
            )
        return filters

    def _add_alarm(self, detection: Detection, settings: AlarmSettings) -> cloudwatch.Alarm:
        timing = alarm_timing(detection.id, settings)
        # The alarm reads the filter's own namespace + metric name (no metric math, no Unit) so scanners
        # (Security Hub CloudWatch.1-14, Prowler) can pair filter and alarm by metric name.
        metric = cloudwatch.Metric(
            namespace=settings.namespace,
            metric_name=naming.metric_name(detection.id),
            statistic=cloudwatch.Stats.SUM,
            period=Duration.seconds(timing.period_seconds),
        )
        return cloudwatch.Alarm(
            self,
            f"{detection.id}-alarm",
            alarm_name=naming.alarm_name(detection.id, settings.name_prefix),
            alarm_description=naming.alarm_description(detection),
            metric=metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=timing.evaluation_periods,
            # One matching datapoint anywhere in the window pages: "1 out of N", never "N consecutive
            # minutes with matches", which would swallow single security events. N covers the delivery
            # delay (a late record's datapoint is stamped in the past); the price is that the alarm stays
            # in ALARM for about N periods after its last match and does not notify again inside them.
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
