"""Names in CloudWatch, both ways: what the stack writes, the forwarder reads back, for every detection."""

from __future__ import annotations

import pytest

from detections.catalogue import CATALOGUE, get_detection
from detections.naming import (
    ALARM_DESCRIPTION_MAX_CHARS,
    alarm_description,
    alarm_name,
    candidate_detection_ids,
    detection_id_from_alarm_name,
    detection_id_from_description,
    detection_id_from_metric,
    detection_id_from_rule,
    fast_path_rule_name,
    metric_filter_name,
    metric_name,
)

PREFIX = "security-baseline-"
NAMESPACE = "SecurityBaseline"


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_every_name_the_stack_writes_reads_back_to_its_detection(detection) -> None:
    assert detection_id_from_metric(NAMESPACE, metric_name(detection.id), NAMESPACE) == detection.id
    assert detection_id_from_alarm_name(alarm_name(detection.id, PREFIX), PREFIX) == detection.id
    assert detection_id_from_description(alarm_description(detection)) == detection.id
    assert detection.metric_name == metric_name(detection.id)
    rule = fast_path_rule_name(detection.id, PREFIX)
    assert detection_id_from_rule(rule, PREFIX) == detection.id
    assert (
        detection_id_from_rule(f"arn:aws:events:eu-west-1:123456789012:rule/{rule}", PREFIX) == detection.id
    )


def test_fast_path_rule_names_keep_to_eventbridges_alphabet_and_length() -> None:
    assert fast_path_rule_name("root-console-login", "team/sec:") == "team-sec-root-console-login"
    assert detection_id_from_rule("team-sec-root-console-login", "team/sec:") == "root-console-login"
    assert detection_id_from_rule("arn:aws:events:us-east-1:1:rule/custom-bus/other-rule", PREFIX) is None
    with pytest.raises(
        ValueError, match=r"EventBridge allows 64\. Fix: shorten baseline\.alarms\.namePrefix"
    ):
        fast_path_rule_name("identity-provider-or-trust-anchor-changed", "longer-security-baseline-")


def test_metric_filter_names_are_distinct_per_pattern() -> None:
    names = [
        metric_filter_name(d.id, PREFIX, index) for d in CATALOGUE for index in range(len(d.all_patterns))
    ]
    assert len(names) == len(set(names))
    assert metric_filter_name("x", PREFIX, 0) == f"{PREFIX}x"
    assert metric_filter_name("x", PREFIX, 2) == f"{PREFIX}x-variant-2"


def test_an_alarm_name_over_the_cloudwatch_limit_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"namePrefix"):
        alarm_name("root-account-usage", "p" * 250)


def test_a_long_description_is_cut_to_the_limit_and_keeps_its_id() -> None:
    detection = get_detection("root-account-usage")
    long = type(detection)(**{**detection.__dict__, "runbook": "x" * 2000})
    text = alarm_description(long)
    assert len(text) == ALARM_DESCRIPTION_MAX_CHARS and text.endswith("...")
    assert detection_id_from_description(text) == "root-account-usage"


def test_reading_back_refuses_what_is_not_ours() -> None:
    assert detection_id_from_metric("AWS/Lambda", "root-account-usage", NAMESPACE) is None
    assert detection_id_from_metric(NAMESPACE, None, NAMESPACE) is None
    assert detection_id_from_alarm_name("other-root-account-usage", PREFIX) is None
    assert detection_id_from_alarm_name("root-account-usage", "") is None  # no prefix: the name says nothing
    assert detection_id_from_description("Root user activity [root-account-usage]") is None
    assert detection_id_from_description(None) is None


def test_candidates_put_the_metric_first_and_skip_an_ambiguous_metric_math_alarm() -> None:
    single = candidate_detection_ids(
        metrics=[(NAMESPACE, "root-account-usage")],
        alarm=f"{PREFIX}iam-policy-changes",
        description="[cloudtrail-changes] x",
        namespace=NAMESPACE,
        name_prefix=PREFIX,
    )
    assert single == ["root-account-usage", "iam-policy-changes", "cloudtrail-changes"]
    math = candidate_detection_ids(
        metrics=[(NAMESPACE, "a"), (NAMESPACE, "b"), (None, None)],
        alarm="team-math-alarm",
        description="[a] x",
        namespace=NAMESPACE,
        name_prefix=PREFIX,
    )
    assert math == ["a"]  # from the description: two metrics name no single detection
