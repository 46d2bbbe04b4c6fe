"""The fast path as synthesized: home-region rules, their DLQ and alarm, the bus policy, regional stacks.

The template is the "fast-path" variant of conftest.VARIANTS (home eu-west-1, one more region us-east-1), the
same synthesis the scanners judge in test_compliance_scanners.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from demo.synth_summary import summarize
from detections.fast_path import FAST_PATH_METADATA_KEY, enabled, plan
from detections.naming import fast_path_rule_name
from detections.targets.eventbridge import forwarding_patterns
from stacks import ALERTING_STACK_ID, FAST_PATH_STACK_ID_PREFIX
from stacks.config import DEFAULT_ENABLED_REGIONS, DEFAULTS, BaselineConfig, ConfigError
from stacks.constructs.fast_path import (
    BUS_POLICY_STATEMENT_ID,
    DELIVERY_MAX_EVENT_AGE,
    DELIVERY_RETRY_ATTEMPTS,
    fast_path_uncovered_warning,
    warn_about_uncovered_regions,
)

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedApp

HOME = "eu-west-1"
OTHER = "us-east-1"
# The fast-path variant changes no detection: what the default configuration switches on.
IN_USE = BaselineConfig.from_mapping({}).detections_in_use


def _template(app: SynthesizedApp, stack: str) -> dict[str, Any]:
    return dict(json.loads(Path(app.template_paths[stack]).read_text()))


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _ref_id(value: Any) -> str:
    """The logical id a Ref / Fn::GetAtt points at."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def test_one_rule_per_fast_path_detection_with_its_exact_pattern_state_and_target(
    fast_path_app: SynthesizedApp,
) -> None:
    template = _template(fast_path_app, ALERTING_STACK_ID)
    rules = [r["Properties"] for r in _of_type(template, "AWS::Events::Rule").values()]
    decisions = {d.detection_id: d for d in enabled(plan(IN_USE))}
    by_detection = {rule["Description"].split()[4]: rule for rule in rules}
    assert set(by_detection) == set(decisions)
    functions = _of_type(template, "AWS::Lambda::Function")
    queues = _of_type(template, "AWS::SQS::Queue")
    fast_dlq = next(k for k in queues if k.startswith("FastPathDeadLetterQueue"))
    for detection_id, rule in by_detection.items():
        decision = decisions[detection_id]
        assert decision.compiled is not None
        assert rule["EventPattern"] == decision.compiled.pattern
        assert rule["State"] == decision.rule_state
        assert "EventBusName" not in rule  # the default bus, where CloudTrail publishes
        (target,) = rule["Targets"]
        assert _ref_id(target["Arn"]) in functions
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": DELIVERY_RETRY_ATTEMPTS,
            "MaximumEventAgeInSeconds": DELIVERY_MAX_EVENT_AGE.to_seconds(),
        }
        assert _ref_id(target["DeadLetterConfig"]["Arn"]) == fast_dlq
    # Read-only events only where a detection needs them (root-account-usage matches read-only root calls).
    states = {d: r["State"] for d, r in by_detection.items()}
    assert states["root-account-usage"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert states["cloudtrail-configuration-changes"] == "ENABLED"
    # EventBridge may invoke the forwarder for exactly these rules.
    permissions = [
        p["Properties"]
        for p in _of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert len(permissions) == len(decisions)


def test_the_dead_letter_queue_is_encrypted_and_alarmed_on_the_health_topic(
    fast_path_app: SynthesizedApp,
) -> None:
    template = _template(fast_path_app, ALERTING_STACK_ID)
    queues = _of_type(template, "AWS::SQS::Queue")
    fast_dlq = next(k for k in queues if k.startswith("FastPathDeadLetterQueue"))
    assert queues[fast_dlq]["Properties"]["SqsManagedSseEnabled"] is True
    assert queues[fast_dlq]["DeletionPolicy"] == "Retain"
    alarms = [
        a["Properties"]
        for a in _of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and any(
            _ref_id(d["Value"]) == fast_dlq for d in a["Properties"].get("Dimensions", []) if "Value" in d
        )
    ]
    (alarm,) = alarms
    assert alarm["AlarmName"].endswith("health-fast-path-dead-letters")
    health_topic = _ref_id(alarm["AlarmActions"][0])
    assert "HealthTopic" in health_topic


def test_the_home_bus_accepts_puts_from_this_account_only(fast_path_app: SynthesizedApp) -> None:
    template = _template(fast_path_app, ALERTING_STACK_ID)
    (policy,) = [p["Properties"] for p in _of_type(template, "AWS::Events::EventBusPolicy").values()]
    assert policy["EventBusName"] == "default"
    statement = policy["Statement"]
    assert statement["Sid"] == BUS_POLICY_STATEMENT_ID
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    principal = json.dumps(statement["Principal"])
    assert "AWS::AccountId" in principal and ":root" in principal
    assert f"events:{HOME}:" in json.dumps(statement["Resource"])


def test_the_summary_metadata_says_why_each_detection_has_or_lacks_a_fast_path(
    fast_path_app: SynthesizedApp,
) -> None:
    metadata = _template(fast_path_app, ALERTING_STACK_ID)["Metadata"][FAST_PATH_METADATA_KEY]
    assert set(metadata) == {d.id for d in IN_USE}
    assert metadata["root-console-login"]["enabled"] is True
    assert "AWS Console Sign In via CloudTrail" in metadata["root-console-login"]["detailTypes"]
    assert metadata["ec2-ami-shared"] == {
        "enabled": False,
        "reason": next(d.reason for d in plan(IN_USE) if d.detection_id == "ec2-ami-shared"),
    }


def test_each_other_region_forwards_to_the_home_bus_through_a_put_events_only_role(
    fast_path_app: SynthesizedApp,
) -> None:
    assert set(fast_path_app.template_paths) >= {f"{FAST_PATH_STACK_ID_PREFIX}{OTHER}"}
    assert f"{FAST_PATH_STACK_ID_PREFIX}{HOME}" not in fast_path_app.template_paths
    template = _template(fast_path_app, f"{FAST_PATH_STACK_ID_PREFIX}{OTHER}")
    expected = forwarding_patterns([d.compiled for d in enabled(plan(IN_USE)) if d.compiled])
    rules = [r["Properties"] for r in _of_type(template, "AWS::Events::Rule").values()]
    assert [r["EventPattern"] for r in rules] == [p.pattern for p in expected]
    assert [r["State"] for r in rules] == [
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" if p.needs_read_only_events else "ENABLED"
        for p in expected
    ]
    (role_id,) = _of_type(template, "AWS::IAM::Role")
    for rule in rules:
        (target,) = rule["Targets"]
        assert f"events:{HOME}:" in json.dumps(target["Arn"]) and "event-bus/default" in json.dumps(
            target["Arn"]
        )
        assert _ref_id(target["RoleArn"]) == role_id
    # The role's only permission: events:PutEvents on the home region's default bus.
    assert not _of_type(template, "AWS::IAM::Policy")
    (policy,) = [p["Properties"] for p in _of_type(template, "AWS::IAM::ManagedPolicy").values()]
    assert [_ref_id(r) for r in policy["Roles"]] == [role_id]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    assert f"events:{HOME}:" in json.dumps(statement["Resource"])
    assert "event-bus/default" in json.dumps(statement["Resource"])


def test_the_default_configuration_has_the_home_rules_but_no_forwarding_stacks_and_warns(
    synthesized_app: SynthesizedApp,
) -> None:
    # Given cdk.json as shipped: the fast path on, no home region
    assert DEFAULTS["fastPath"]["enabled"] is True and synthesized_app.config.home_region is None
    # Then the alerting stack has one named rule per fast-path detection, in its own region
    template = _template(synthesized_app, ALERTING_STACK_ID)
    names = sorted(r["Properties"]["Name"] for r in _of_type(template, "AWS::Events::Rule").values())
    prefix = synthesized_app.config.alarms.name_prefix
    assert names == sorted(fast_path_rule_name(d.detection_id, prefix) for d in enabled(plan(IN_USE)))
    # And no forwarding stack (they need the home bus's ARN), which synth says, with the fix
    assert not any(name.startswith(FAST_PATH_STACK_ID_PREFIX) for name in synthesized_app.template_paths)
    warnings = [
        str(message.entry.data)
        for message in synthesized_app.assembly.get_stack_by_name(ALERTING_STACK_ID).messages
        if "fast-path-regions-uncovered" in str(message.entry.data)
    ]
    (warning,) = warnings
    assert warning.startswith("the fast path covers only the region the alerting stack is deployed in")
    assert "us-east-2" in warning and "Fix: set baseline.homeRegion" in warning


def test_the_uncovered_regions_warning_goes_to_stderr_too(capsys: pytest.CaptureFixture[str]) -> None:
    import aws_cdk as cdk

    stack = cdk.Stack(cdk.App(), "Probe")
    warn_about_uncovered_regions(stack, ("us-east-1", "eu-west-1"))
    assert capsys.readouterr().err == f"Warning: {fast_path_uncovered_warning(('us-east-1', 'eu-west-1'))}\n"
    config = BaselineConfig.from_mapping({})
    assert config.fast_path_uncovered_regions == DEFAULT_ENABLED_REGIONS
    assert config.fast_path_forwarding_regions == ()
    assert BaselineConfig.from_mapping({}, {"homeRegion": HOME}).fast_path_uncovered_regions == ()
    assert BaselineConfig.from_mapping({}, {"fastPath.enabled": False}).fast_path_uncovered_regions == ()


# ------------------------------------------------------------------------------------------- configuration


def test_default_regions_are_the_seventeen_enabled_in_every_new_account() -> None:
    config = BaselineConfig.from_mapping({})
    assert config.fast_path.regions == DEFAULT_ENABLED_REGIONS
    assert len(set(DEFAULT_ENABLED_REGIONS)) == 17
    on = BaselineConfig.from_mapping({}, {"homeRegion": HOME, "fastPath.enabled": True})
    assert on.fast_path_forwarding_regions == tuple(r for r in DEFAULT_ENABLED_REGIONS if r != HOME)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"alarms.namePrefix": "a-much-longer-security-baseline-prefix-"},
            "baseline.fastPath.enabled: true is not allowed; fast-path rule name",
        ),
        (
            {"fastPath.enabled": "yes"},
            "baseline.fastPath.enabled: 'yes' is not allowed; expected true or false",
        ),
        ({"fastPath.regions": ["eu-west-1", "eu-west-1"]}, "baseline.fastPath.regions: "),
        ({"fastPath.regions": ["Ireland"]}, "baseline.fastPath.regions[0]: 'Ireland' is not allowed"),
        (
            {"homeRegion": HOME, "fastPath.enabled": True, "fastPath.regions": []},
            "list at least the home region",
        ),
    ],
)
def test_bad_fast_path_settings_fail_with_the_key_and_the_fix(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        BaselineConfig.from_mapping({}, overrides)
    assert (
        str(raised.value).startswith(message.removeprefix("baseline."))
        or message in f"baseline.{raised.value}"
    )


def test_the_synth_summary_lists_fast_path_detections_and_why_the_others_have_none(
    fast_path_app: SynthesizedApp, synthesized_app: SynthesizedApp
) -> None:
    text = summarize(fast_path_app.outdir)
    decisions = plan(IN_USE)
    assert (
        f"fast path: {len(enabled(decisions))} of {len(decisions)} detections have an EventBridge rule"
        in text
    )
    assert (
        "    root-account-usage: critical severity, exact translation; API Call, Console Sign In + read-only"
        in text
    )
    for decision in decisions:
        if not decision.enabled:
            assert f"    {decision.detection_id}: {decision.reason}" in text
    assert text.count(f"forwards to arn:${{AWS::Partition}}:events:{HOME}:") == len(
        forwarding_patterns([d.compiled for d in enabled(decisions) if d.compiled])
    )
    # The default configuration has the fast path too (home-region rules only: nothing is forwarded).
    default_text = summarize(synthesized_app.outdir)
    assert f"fast path: {len(enabled(decisions))} of {len(decisions)} detections have" in default_text
    assert "forwards to" not in default_text
