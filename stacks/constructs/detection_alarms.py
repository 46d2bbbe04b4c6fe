"""One metric filter per catalogue pattern and one fast alarm per catalogue detection.

Everything here is derived from the detection catalogue: adding a detection adds its filters and its
alarm with no other change. The alarm semantics are the part that public CIS constructs most often get
wrong (``metricFilter.metric()`` defaults to *Average over 5 minutes*; every match emits 1, so the
average is 1 and ``> 1`` can never fire). Here every alarm is ``Sum`` over 60 s, ``>= 1``, missing data
not breaching, and the tests assert exactly that for every alarm.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from detections import naming
from stacks.config import AlarmSettings

if TYPE_CHECKING:  # pragma: no cover - typing only; the catalogue is pure stdlib and imports nothing of ours
    from detections.catalogue import Detection

# CloudWatch Logs quotas (PutMetricFilter API reference; not adjustable): 100 metric filters per log
# group; regular expressions: at most 2 per filter pattern and 5 per log group. The per-log-group regex
# count is enforced conservatively here as the number of %regex% terms across all our filters.
MAX_METRIC_FILTERS_PER_LOG_GROUP = 100
MAX_REGEX_TERMS_PER_PATTERN = 2
MAX_REGEX_PATTERNS_PER_LOG_GROUP = 5

# Periods CloudWatch accepts for an alarm: 10, 30 (high resolution) or any multiple of 60 seconds.
VALID_SUB_MINUTE_PERIODS = (10, 30)


class MetricFilterQuotaError(ValueError):
    """The catalogue would put more metric filters (or regex filters) on the log group than AWS allows."""


@dataclass(frozen=True)
class AlarmTiming:
    period_seconds: int
    evaluation_periods: int


def regex_terms(pattern: str) -> int:
    """How many ``%regex%`` terms a filter pattern has, ignoring ``%`` inside double-quoted strings."""
    in_quotes = False
    escaped = False
    percent_open = False
    terms = 0
    for char in pattern:
        if in_quotes:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
            continue
        if char == '"' and not percent_open:
            in_quotes = True
        elif char == "%":
            terms += 1 if percent_open else 0
            percent_open = not percent_open
    return terms


def uses_regex(pattern: str) -> bool:
    return regex_terms(pattern) > 0


def check_log_group_quotas(detections: Sequence[Detection], *, other_filters_on_log_group: int = 0) -> None:
    """Fail synth with an actionable message when the catalogue would exceed a per-log-group quota."""
    filter_count = sum(len(detection.all_patterns) for detection in detections) + other_filters_on_log_group
    if filter_count > MAX_METRIC_FILTERS_PER_LOG_GROUP:
        raise MetricFilterQuotaError(
            f"The detection catalogue needs {filter_count} metric filters on the trail log group "
            f"({len(detections)} detections, {other_filters_on_log_group} other filters), but "
            f"CloudWatch Logs allows at most {MAX_METRIC_FILTERS_PER_LOG_GROUP} metric filters per log "
            "group. "
            "Fix: remove or merge detections (or their additional_patterns) in detections/catalogue.py."
        )
    per_pattern = [
        (detection.id, regex_terms(pattern)) for detection in detections for pattern in detection.all_patterns
    ]
    too_many_in_one = [
        detection_id for detection_id, terms in per_pattern if terms > MAX_REGEX_TERMS_PER_PATTERN
    ]
    if too_many_in_one:
        raise MetricFilterQuotaError(
            f"Filter patterns of {', '.join(too_many_in_one)} use more than {MAX_REGEX_TERMS_PER_PATTERN} "
            "%regex% terms; CloudWatch Logs allows at most two per filter pattern. Fix: split the pattern or "
            "use wildcards ('*') instead of regular expressions."
        )
    regex_ids = [detection_id for detection_id, terms in per_pattern for _ in range(terms)]
    if len(regex_ids) > MAX_REGEX_PATTERNS_PER_LOG_GROUP:
        raise MetricFilterQuotaError(
            f"{len(regex_ids)} %regex% patterns in the metric filters (detections: "
            f"{', '.join(sorted(set(regex_ids)))}), but CloudWatch Logs allows at most "
            f"{MAX_REGEX_PATTERNS_PER_LOG_GROUP} regular expression patterns per log group. "
            "Fix: rewrite some patterns without %regex% (e.g. with wildcards '*')."
        )


def alarm_timing(detection_id: str, settings: AlarmSettings) -> AlarmTiming:
    """Period and evaluation periods for one detection: the per-detection override wins, field by field."""
    override = settings.overrides.get(detection_id)
    period = getattr(override, "period_seconds", None) or settings.period_seconds
    evaluations = getattr(override, "evaluation_periods", None) or settings.evaluation_periods
    if period not in VALID_SUB_MINUTE_PERIODS and (period < 60 or period % 60):
        raise ValueError(
            f"alarms period for detection {detection_id!r} is {period} s; CloudWatch alarms accept 10, 30 "
            "or a multiple of 60 seconds. Fix baseline.alarms.periodSeconds or its override."
        )
    if evaluations < 1:
        raise ValueError(
            f"alarms evaluation periods for detection {detection_id!r} is {evaluations}; it must be >= 1."
        )
    return AlarmTiming(period_seconds=period, evaluation_periods=evaluations)


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
            # One matching datapoint anywhere in the window pages: with an override of N evaluation
            # periods this is "1 out of N" (keeps the alarm up for N periods), never "N consecutive
            # minutes with matches", which would swallow single security events.
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
