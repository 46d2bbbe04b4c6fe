"""Specification of the detection alarms: one filter per catalogue pattern, one fast alarm per detection.

Every alarm's semantics are asserted, not sampled: the classic bug (Average over 5 minutes with "> 1",
an alarm that can never fire) hides in exactly the properties these tests read.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from detections.catalogue import CATALOGUE
from detections.naming import alarm_description
from stacks.config import AlarmOverride, BaselineConfig
from stacks.constructs.detection_alarms import (
    MAX_METRIC_FILTERS_PER_LOG_GROUP,
    MetricFilterQuotaError,
    alarm_timing,
    check_log_group_quotas,
)
from tests.infra.alarms_harness import (
    EXTRA_DETECTION,
    OVERRIDDEN_DETECTION_ID,
    SynthesizedAlerting,
    custom_alerting,
)

PREFIX = BaselineConfig().alarms.name_prefix
NAMESPACE = BaselineConfig().alarms.namespace
# The default configuration's detections: every built-in that needs no opt-in feature.
IN_USE = BaselineConfig().detections_in_use


def detection_alarms(synth: SynthesizedAlerting) -> dict[str, dict[str, Any]]:
    """AlarmName -> properties, for alarms on the detection namespace."""
    return {
        props["AlarmName"]: props
        for _, props in synth.properties("AWS::CloudWatch::Alarm")
        if props.get("Namespace") == NAMESPACE
    }


def filters_by_metric(synth: SynthesizedAlerting) -> dict[str, list[dict[str, Any]]]:
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for _, props in synth.properties("AWS::Logs::MetricFilter"):
        (transformation,) = props["MetricTransformations"]
        by_metric.setdefault(transformation["MetricName"], []).append(props)
    return by_metric


def topic_ref(synth: SynthesizedAlerting, topic: Any) -> dict[str, str]:
    return synth.stack.resolve(topic.topic_arn)


def test_every_detection_has_exactly_one_alarm_and_nothing_else_in_the_namespace(synthesized):
    alarms = detection_alarms(synthesized)

    assert sorted(alarms) == sorted(f"{PREFIX}{detection.id}" for detection in IN_USE)
    metric_counts = Counter(props["MetricName"] for props in alarms.values())
    assert all(count == 1 for count in metric_counts.values()), metric_counts


def test_every_pattern_of_every_detection_has_its_own_filter_with_the_exact_text(synthesized):
    by_metric = filters_by_metric(synthesized)
    trail_log_group = synthesized.stack.resolve(synthesized.trail_log_group.log_group_name)

    assert sorted(by_metric) == sorted(detection.id for detection in IN_USE)
    for detection in IN_USE:
        filters = by_metric[detection.id]
        assert len(filters) == len(detection.all_patterns), detection.id
        assert sorted(f["FilterPattern"] for f in filters) == sorted(detection.all_patterns), detection.id
        for metric_filter in filters:
            assert metric_filter["LogGroupName"] == trail_log_group
            (transformation,) = metric_filter["MetricTransformations"]
            assert transformation == {
                # No DefaultValue (deliberate, see detection_alarms.py) and no Unit (scanners pair by name).
                "MetricName": detection.id,
                "MetricNamespace": NAMESPACE,
                "MetricValue": "1",
            }


def test_the_first_filter_of_each_detection_carries_its_own_pattern_under_the_detection_name(synthesized):
    by_name = {props["FilterName"]: props for _, props in synthesized.properties("AWS::Logs::MetricFilter")}

    for detection in IN_USE:
        assert by_name[f"{PREFIX}{detection.id}"]["FilterPattern"] == detection.pattern


def test_every_detection_alarm_can_fire_on_a_single_event_within_a_minute(synthesized):
    # Given the default configuration (60 s period, 19 minutes of tolerated delivery delay)
    alarms = detection_alarms(synthesized)
    alerts_topic = topic_ref(synthesized, synthesized.stack.alerts_topic)

    for detection in IN_USE:
        props = alarms[f"{PREFIX}{detection.id}"]
        # Then a single match (Sum >= 1 in one 60 s period) anywhere in the last 20 periods is enough (a
        # record delivered up to 19 minutes late still counts), and "no data" means "no match".
        assert props["Namespace"] == NAMESPACE
        assert props["MetricName"] == detection.id
        assert props["Statistic"] == "Sum"
        assert props["Period"] == 60
        assert props["EvaluationPeriods"] == 20
        assert props["DatapointsToAlarm"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["Threshold"] == 1
        assert props["TreatMissingData"] == "notBreaching"
        # The alarm reads the filter's own metric: no metric math, no Unit, no extended statistic.
        for forbidden in ("Metrics", "Unit", "ExtendedStatistic", "Dimensions"):
            assert forbidden not in props, (detection.id, forbidden)
        assert props.get("ActionsEnabled", True) is True
        assert props["AlarmActions"] == [alerts_topic]
        assert "InsufficientDataActions" not in props


def test_ok_actions_exactly_for_detections_that_resolve_on_ok(synthesized):
    alarms = detection_alarms(synthesized)
    alerts_topic = topic_ref(synthesized, synthesized.stack.alerts_topic)

    resolving = [d for d in IN_USE if d.resolve_policy == "resolve_on_ok"]
    manual = [d for d in IN_USE if d.resolve_policy == "manual"]
    assert resolving and manual, "the catalogue should exercise both resolve policies"
    for detection in resolving:
        assert alarms[f"{PREFIX}{detection.id}"]["OKActions"] == [alerts_topic]
    for detection in manual:
        assert "OKActions" not in alarms[f"{PREFIX}{detection.id}"]


def test_alarm_name_and_description_carry_the_detection_id_for_the_forwarder(synthesized):
    alarms = detection_alarms(synthesized)

    for detection in IN_USE:
        props = alarms[f"{PREFIX}{detection.id}"]
        description = props["AlarmDescription"]
        assert description.startswith(f"[{detection.id}] {detection.title.rstrip('.')}.")
        assert f"Severity: {detection.severity}." in description
        assert len(description) <= 1024


def test_the_alarms_attribute_maps_each_detection_id_to_its_alarm(synthesized):
    stack = synthesized.stack

    resources = synthesized.resources("AWS::CloudWatch::Alarm")

    assert sorted(stack.alarms) == sorted(d.id for d in IN_USE)
    for detection_id, alarm in stack.alarms.items():
        alarm_name = resources[synthesized.logical_id(alarm)]["Properties"]["AlarmName"]
        assert alarm_name == f"{PREFIX}{detection_id}"


def test_alarm_description_is_trimmed_to_the_cloudwatch_limit():
    long_runbook = "x" * 5000
    detection = dataclasses.replace(CATALOGUE[0], runbook=long_runbook)

    description = alarm_description(detection)

    assert len(description) == 1024
    assert description.startswith(f"[{detection.id}] ")
    assert description.endswith("...")


# --- configuration: per-detection overrides and a catalogue that grows ----------------------------------


def test_a_per_detection_override_changes_only_that_alarm():
    synth = custom_alerting()
    alarms = detection_alarms(synth)

    overridden = alarms[f"{PREFIX}{OVERRIDDEN_DETECTION_ID}"]
    # 10 minutes of delay at 300 s periods: ceil(600 / 300) + 1 = 3 periods.
    assert (overridden["Period"], overridden["EvaluationPeriods"], overridden["DatapointsToAlarm"]) == (
        300,
        3,
        1,
    )
    # The semantics that make it fire stay the same.
    assert (overridden["Statistic"], overridden["ComparisonOperator"], overridden["Threshold"]) == (
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert overridden["TreatMissingData"] == "notBreaching"
    for detection in IN_USE:
        if detection.id != OVERRIDDEN_DETECTION_ID:
            props = alarms[f"{PREFIX}{detection.id}"]
            assert (props["Period"], props["EvaluationPeriods"]) == (60, 20), detection.id


def test_adding_a_detection_adds_its_filters_and_alarm_with_no_other_change():
    synth = custom_alerting()
    alerts_topic = topic_ref(synth, synth.stack.alerts_topic)

    alarm = detection_alarms(synth)[f"{PREFIX}{EXTRA_DETECTION.id}"]
    assert alarm["MetricName"] == EXTRA_DETECTION.id
    assert alarm["AlarmActions"] == [alerts_topic]
    assert alarm["OKActions"] == [alerts_topic]  # EXTRA_DETECTION resolves on OK
    patterns = sorted(f["FilterPattern"] for f in filters_by_metric(synth)[EXTRA_DETECTION.id])
    assert patterns == sorted(EXTRA_DETECTION.all_patterns)


def test_an_override_field_left_unset_falls_back_to_the_global_setting():
    settings = dataclasses.replace(
        BaselineConfig().alarms,
        overrides={"vpc-changes": AlarmOverride(period_seconds=120, tolerated_delay_minutes=None)},
    )

    timing = alarm_timing("vpc-changes", settings)

    # The global 19 minutes at the overridden 120 s period: ceil(1140 / 120) + 1 = 11 periods.
    assert (timing.period_seconds, timing.evaluation_periods) == (120, 11)


def test_an_overridden_delay_alone_keeps_the_global_period():
    settings = dataclasses.replace(
        BaselineConfig().alarms,
        overrides={"vpc-changes": AlarmOverride(period_seconds=None, tolerated_delay_minutes=60)},
    )

    timing = alarm_timing("vpc-changes", settings)

    assert (timing.period_seconds, timing.evaluation_periods) == (60, 61)


@pytest.mark.parametrize("period", [0, 5, 45, 90])
def test_a_period_cloudwatch_would_reject_fails_synth_with_the_fix(period):
    settings = dataclasses.replace(BaselineConfig().alarms, period_seconds=period)

    with pytest.raises(ValueError, match=r"10, 30 or a multiple of 60"):
        alarm_timing("vpc-changes", settings)


# --- CloudWatch Logs quotas -----------------------------------------------------------------------------


def _detections_with_filters(total_filters: int) -> list[Any]:
    template = CATALOGUE[1]
    return [
        dataclasses.replace(template, id=f"quota-test-{index:03d}", additional_patterns=())
        for index in range(total_filters)
    ]


def test_the_real_catalogue_stays_well_under_the_filter_quota():
    total = sum(len(d.all_patterns) for d in CATALOGUE)

    assert total <= MAX_METRIC_FILTERS_PER_LOG_GROUP // 2, total
    check_log_group_quotas(CATALOGUE)  # and the regex quota holds too


def test_exactly_one_hundred_filters_are_allowed():
    check_log_group_quotas(_detections_with_filters(MAX_METRIC_FILTERS_PER_LOG_GROUP))


def test_one_filter_over_the_quota_fails_synth_naming_the_count_and_the_fix():
    with pytest.raises(MetricFilterQuotaError, match=r"need 101 metric filters .* at most 100 .* Fix:"):
        check_log_group_quotas(_detections_with_filters(MAX_METRIC_FILTERS_PER_LOG_GROUP + 1))


def test_other_filters_on_the_log_group_count_against_the_quota():
    with pytest.raises(MetricFilterQuotaError, match=r"need 101 metric filters"):
        check_log_group_quotas(_detections_with_filters(99), other_filters_on_log_group=2)


def test_the_stack_refuses_a_catalogue_over_the_quota():
    from tests.infra.alarms_harness import synth_alerting

    with pytest.raises(MetricFilterQuotaError, match="at most 100 metric filters"):
        synth_alerting(detections=_detections_with_filters(101), use_real_trail_stack=False)


def test_more_than_five_regex_patterns_on_the_log_group_fail_synth_naming_the_detections():
    regex_detections = [
        dataclasses.replace(CATALOGUE[1], id=f"regex-{index}", pattern="{ $.eventName = %Delete.*% }")
        for index in range(6)
    ]

    check_log_group_quotas(regex_detections[:5])
    with pytest.raises(MetricFilterQuotaError, match=r"6 %regex% patterns .*regex-5.* at most 5"):
        check_log_group_quotas(regex_detections)


def test_three_regex_terms_in_one_filter_pattern_fail_synth():
    detection = dataclasses.replace(
        CATALOGUE[1], id="regex-heavy", pattern="{ $.a = %x.*% && $.b = %y.*% && $.c = %z.*% }"
    )

    with pytest.raises(MetricFilterQuotaError, match=r"regex-heavy .*too many regular expressions"):
        check_log_group_quotas([detection])
