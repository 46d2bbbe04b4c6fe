"""Our own encodings of the two scanners auditors run on CIS CloudWatch monitoring, applied to the template.

* AWS Security Hub CloudWatch.1-14: a metric filter on the trail's log group whose pattern is the EXACT CIS
  text ("This control fails if the exact metric filters prescribed by CIS are not used. Additional fields
  or terms cannot be added"), an alarm on that filter's metric, and an SNS topic with a subscriber as the
  alarm action. The texts are pinned in tests/oracles/security_hub.py, independently of the rule files.
* Prowler cloudwatch_log_metric_filter_* / cloudwatch_changes_to_*: a filter on a trail's log group whose
  pattern matches a regex of REQUIRED CLAUSES, plus an alarm whose metric name equals the filter's
  (namespace too when both have one). The regexes are encoded once in tests/oracles/prowler.py.

Both must pass for all 15 controls (CloudWatch.1-14 + CIS 4.15 Organizations) with ONE alarm per control:
where the two disagree (route tables: Prowler requires eventSource; Organizations: Prowler wants 21 events,
CIS lists 18) the catalogue adds a second filter feeding the same metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.alarms_harness import SynthesizedAlerting, alerting_of
from tests.oracles.prowler import PROWLER_CHECKS
from tests.oracles.security_hub import SECURITY_HUB_PATTERNS

# The 15 CIS monitoring controls: (Security Hub control or None, Prowler check).
CONTROLS: dict[str, tuple[str | None, str]] = {
    "CIS 4.1 unauthorized API calls": ("CloudWatch.2", "cloudwatch_log_metric_filter_unauthorized_api_calls"),
    "CIS 4.2 console sign-in without MFA": (
        "CloudWatch.3",
        "cloudwatch_log_metric_filter_sign_in_without_mfa",
    ),
    "CIS 4.3 root usage": ("CloudWatch.1", "cloudwatch_log_metric_filter_root_usage"),
    "CIS 4.4 IAM policy changes": ("CloudWatch.4", "cloudwatch_log_metric_filter_policy_changes"),
    "CIS 4.5 CloudTrail configuration changes": (
        "CloudWatch.5",
        "cloudwatch_log_metric_filter_and_alarm_for_cloudtrail_configuration_changes_enabled",
    ),
    "CIS 4.6 console authentication failures": (
        "CloudWatch.6",
        "cloudwatch_log_metric_filter_authentication_failures",
    ),
    "CIS 4.7 CMK disabled or scheduled for deletion": (
        "CloudWatch.7",
        "cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk",
    ),
    "CIS 4.8 S3 bucket policy changes": (
        "CloudWatch.8",
        "cloudwatch_log_metric_filter_for_s3_bucket_policy_changes",
    ),
    "CIS 4.9 AWS Config changes": (
        "CloudWatch.9",
        "cloudwatch_log_metric_filter_and_alarm_for_aws_config_configuration_changes_enabled",
    ),
    "CIS 4.10 security group changes": (
        "CloudWatch.10",
        "cloudwatch_log_metric_filter_security_group_changes",
    ),
    "CIS 4.11 NACL changes": ("CloudWatch.11", "cloudwatch_changes_to_network_acls_alarm_configured"),
    "CIS 4.12 network gateway changes": (
        "CloudWatch.12",
        "cloudwatch_changes_to_network_gateways_alarm_configured",
    ),
    "CIS 4.13 route table changes": (
        "CloudWatch.13",
        "cloudwatch_changes_to_network_route_tables_alarm_configured",
    ),
    "CIS 4.14 VPC changes": ("CloudWatch.14", "cloudwatch_changes_to_vpcs_alarm_configured"),
    "CIS 4.15 Organizations changes": (None, "cloudwatch_log_metric_filter_aws_organizations_changes"),
}


@dataclass(frozen=True)
class Filter:
    name: str
    pattern: str
    log_group: Any
    namespace: str
    metric: str


@dataclass(frozen=True)
class Inventory:
    """What a scanner's API calls would return, read from the synthesized template."""

    trail_log_group: Any
    filters: tuple[Filter, ...]
    alarms: tuple[dict[str, Any], ...]
    topics_with_subscribers: tuple[Any, ...]

    @classmethod
    def of(cls, synth: SynthesizedAlerting) -> Inventory:
        filters = tuple(
            Filter(
                name=props["FilterName"],
                pattern=props["FilterPattern"],
                log_group=props["LogGroupName"],
                namespace=props["MetricTransformations"][0]["MetricNamespace"],
                metric=props["MetricTransformations"][0]["MetricName"],
            )
            for _, props in synth.properties("AWS::Logs::MetricFilter")
        )
        subscribed = tuple(props["TopicArn"] for _, props in synth.properties("AWS::SNS::Subscription"))
        return cls(
            trail_log_group=synth.stack.resolve(synth.trail_log_group.log_group_name),
            filters=filters,
            alarms=tuple(props for _, props in synth.properties("AWS::CloudWatch::Alarm")),
            topics_with_subscribers=subscribed,
        )

    def alarms_on(self, metric_filter: Filter) -> list[dict[str, Any]]:
        return [
            alarm
            for alarm in self.alarms
            if alarm.get("MetricName") == metric_filter.metric
            and alarm.get("Namespace", metric_filter.namespace) == metric_filter.namespace
        ]


def security_hub_passes(inventory: Inventory, control: str) -> list[Filter]:
    """Filters passing the Security Hub control: exact text, an alarm, its action a subscribed topic."""
    passing = []
    for metric_filter in inventory.filters:
        if metric_filter.log_group != inventory.trail_log_group:
            continue
        if metric_filter.pattern != SECURITY_HUB_PATTERNS[control]:
            continue
        for alarm in inventory.alarms_on(metric_filter):
            if any(action in inventory.topics_with_subscribers for action in alarm.get("AlarmActions", [])):
                passing.append(metric_filter)
                break
    return passing


def prowler_passes(inventory: Inventory, check: str) -> list[Filter]:
    """Filters passing the Prowler check: clause regex on a trail log-group filter + alarm on its metric."""
    regex = PROWLER_CHECKS[check]
    return [
        metric_filter
        for metric_filter in inventory.filters
        if metric_filter.log_group == inventory.trail_log_group
        and re.search(regex, metric_filter.pattern, flags=re.DOTALL)
        and inventory.alarms_on(metric_filter)
    ]


@pytest.fixture(scope="module")
def inventory(synthesized_app) -> Inventory:
    return Inventory.of(alerting_of(synthesized_app))


@pytest.mark.parametrize("control", sorted(CONTROLS))
def test_security_hub_and_prowler_both_pass_with_one_alarm(inventory, control):
    security_hub_control, prowler_check = CONTROLS[control]

    prowler_filters = prowler_passes(inventory, prowler_check)
    security_hub_filters = (
        security_hub_passes(inventory, security_hub_control) if security_hub_control else []
    )

    assert prowler_filters, f"Prowler {prowler_check} would FAIL"
    if security_hub_control:
        assert security_hub_filters, f"Security Hub {security_hub_control} would FAIL"
    # Without paging twice: every filter either scanner accepts feeds one metric with exactly one alarm.
    metrics = {f.metric for f in (*prowler_filters, *security_hub_filters)}
    assert len(metrics) == 1, metrics
    (metric_filter, *_) = prowler_filters
    assert len(inventory.alarms_on(metric_filter)) == 1


def test_the_two_scanners_really_disagree_on_route_tables(inventory):
    # The Security Hub text alone fails Prowler (no eventSource), the Prowler variant alone fails Security
    # Hub (not the exact text): proof that the encodings discriminate and that both filters are needed.
    security_hub_text = SECURITY_HUB_PATTERNS["CloudWatch.13"]
    prowler_regex = PROWLER_CHECKS["cloudwatch_changes_to_network_route_tables_alarm_configured"]
    (variant,) = [
        f.pattern
        for f in inventory.filters
        if f.metric == "route-table-changes" and f.pattern != security_hub_text
    ]

    assert not re.search(prowler_regex, security_hub_text, flags=re.DOTALL)
    assert re.search(prowler_regex, variant, flags=re.DOTALL)


def test_prowler_needs_all_21_organizations_events_not_the_18_cis_lists():
    regex = PROWLER_CHECKS["cloudwatch_log_metric_filter_aws_organizations_changes"]
    eighteen = (
        "{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake) || "
        "($.eventName = AttachPolicy) || ($.eventName = CreateAccount) || "
        "($.eventName = CreateOrganizationalUnit) || ($.eventName = CreatePolicy) || "
        "($.eventName = DeclineHandshake) || ($.eventName = DeleteOrganization) || "
        "($.eventName = DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || "
        "($.eventName = DetachPolicy) || ($.eventName = DisablePolicyType) || "
        "($.eventName = EnablePolicyType) || ($.eventName = InviteAccountToOrganization) || "
        "($.eventName = LeaveOrganization) || ($.eventName = MoveAccount) || "
        "($.eventName = RemoveAccountFromOrganization) || ($.eventName = UpdatePolicy) || "
        "($.eventName = UpdateOrganizationalUnit)) }"
    )
    plus_three = eighteen.replace(
        "($.eventName = AcceptHandshake)",
        "($.eventName = AcceptHandshake) || ($.eventName = CancelHandshake) || "
        "($.eventName = CreateOrganization) || ($.eventName = EnableAllFeatures)",
    )

    assert not re.search(regex, eighteen, flags=re.DOTALL)
    assert re.search(regex, plus_three, flags=re.DOTALL)


def test_prowler_clause_order_does_not_matter_but_exact_event_names_do():
    regex = PROWLER_CHECKS["cloudwatch_changes_to_network_route_tables_alarm_configured"]
    names = [
        "DisassociateRouteTable",
        "DeleteRoute",
        "DeleteRouteTable",
        "ReplaceRouteTableAssociation",
        "ReplaceRoute",
        "CreateRouteTable",
        "CreateRoute",
    ]
    reversed_order = (
        "{ ($.eventSource = ec2.amazonaws.com) && ("
        + " || ".join(f"($.eventName = {name})" for name in names)
        + ") }"
    )
    without_create_route = reversed_order.replace("($.eventName = CreateRoute) ", "").replace(
        " || ($.eventName = CreateRoute)", ""
    )

    assert re.search(regex, reversed_order, flags=re.DOTALL)
    assert not re.search(regex, without_create_route, flags=re.DOTALL)


def test_security_hub_rejects_a_filter_with_an_extra_term(inventory):
    extended = SECURITY_HUB_PATTERNS["CloudWatch.5"].replace("}", " || ($.eventName=PutEventSelectors)}")
    fake = Inventory(
        trail_log_group=inventory.trail_log_group,
        filters=(Filter("x", extended, inventory.trail_log_group, "SecurityBaseline", "x"),),
        alarms=({"MetricName": "x", "Namespace": "SecurityBaseline", "AlarmActions": ["topic"]},),
        topics_with_subscribers=("topic",),
    )

    assert security_hub_passes(fake, "CloudWatch.5") == []


def test_a_filter_on_another_log_group_satisfies_neither_scanner(inventory):
    (root_filter,) = [f for f in inventory.filters if f.pattern == SECURITY_HUB_PATTERNS["CloudWatch.1"]]
    elsewhere = Inventory(
        trail_log_group={"Ref": "SomeOtherLogGroup"},
        filters=inventory.filters,
        alarms=inventory.alarms,
        topics_with_subscribers=inventory.topics_with_subscribers,
    )

    assert security_hub_passes(elsewhere, "CloudWatch.1") == []
    assert prowler_passes(elsewhere, "cloudwatch_log_metric_filter_root_usage") == []
    assert root_filter.metric == "root-account-usage"
