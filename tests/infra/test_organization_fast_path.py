"""The fast path across an organization as synthesized: the StackSet, its member template, the central bus.

The app is the "organization" variant of conftest.VARIANTS (central account 333344445555 in eu-west-1, two
member OUs, two regions, a management account and one member account outside the OUs), the same synthesis
the scanners judge in test_compliance_scanners.py, which also scans the StackSet's member template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest

from demo.synth_summary import summarize
from detections.fast_path import enabled, plan
from detections.targets.eventbridge import forwarding_patterns
from stacks import (
    ACCOUNT_FAST_PATH_STACK_ID_PREFIX,
    ALERTING_STACK_ID,
    FAST_PATH_STACK_ID_PREFIX,
    ORGANIZATION_FAST_PATH_STACK_ID,
    build_app,
    nag_packs,
)
from stacks.config import BaselineConfig, ConfigError, DeploymentTarget
from stacks.constructs.fast_path import BUS_POLICY_STATEMENT_ID, ORGANIZATION_BUS_POLICY_STATEMENT_ID
from stacks.constructs.organization_fast_path import (
    FAILURE_TOLERANCE_PERCENTAGE,
    MAX_CONCURRENT_PERCENTAGE,
    STACK_SET_NAME,
    member_forwarding_stack,
)

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedApp

CENTRAL = "333344445555"
MANAGEMENT = "999988887777"
OUTSIDE_MEMBER = "444455556666"
HOME = "eu-west-1"
REGIONS = ["eu-west-1", "us-east-1"]
UNITS = ["ou-ab12-cd34ef56", "ou-ab12-77zz88yy"]
ORGANIZATION_ID = "o-a1b2c3d4e5"
CENTRAL_BUS = f":events:{HOME}:{CENTRAL}:event-bus/default"
PATTERNS = forwarding_patterns(
    [d.compiled for d in enabled(plan(BaselineConfig.from_mapping({}).detections_in_use)) if d.compiled]
)


def _template(app: SynthesizedApp, stack: str) -> dict[str, Any]:
    return dict(json.loads(Path(app.template_paths[stack]).read_text()))


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _stack_set(app: SynthesizedApp) -> dict[str, Any]:
    template = _template(app, ORGANIZATION_FAST_PATH_STACK_ID)
    (stack_set,) = _of_type(template, "AWS::CloudFormation::StackSet").values()
    return dict(stack_set["Properties"])


def _member(app: SynthesizedApp) -> dict[str, Any]:
    return dict(json.loads(_stack_set(app)["TemplateBody"]))


def _ref_id(value: Any) -> str:
    return str(value["Ref"]) if "Ref" in value else str(value["Fn::GetAtt"][0])


def test_the_stack_set_is_service_managed_auto_deployed_to_the_member_ous_without_the_central_account(
    organization_app: SynthesizedApp,
) -> None:
    props = _stack_set(organization_app)
    assert props["StackSetName"] == STACK_SET_NAME
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    # A new account in a member OU gets the rules; an account leaving the organization loses them.
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    # Deployed from the central account, which must be a delegated administrator for StackSets.
    assert props["CallAs"] == "DELEGATED_ADMIN"
    assert props["Capabilities"] == ["CAPABILITY_IAM"]
    assert props["ManagedExecution"] == {"Active": True}
    (group,) = props["StackInstancesGroup"]
    assert group == {
        "DeploymentTargets": {
            "OrganizationalUnitIds": UNITS,
            "Accounts": [CENTRAL],
            "AccountFilterType": "DIFFERENCE",
        },
        "Regions": REGIONS,
    }
    preferences = props["OperationPreferences"]
    assert preferences == {
        "RegionConcurrencyType": "PARALLEL",
        "MaxConcurrentPercentage": MAX_CONCURRENT_PERCENTAGE,
        "FailureTolerancePercentage": FAILURE_TOLERANCE_PERCENTAGE,
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
    }
    # A rollout that stops while most of a region is still untouched, not after a bad template is everywhere.
    assert 0 < FAILURE_TOLERANCE_PERCENTAGE < MAX_CONCURRENT_PERCENTAGE <= 50


def test_the_stack_set_stack_is_bound_to_the_central_account_and_home_region(
    organization_app: SynthesizedApp,
) -> None:
    (artifact,) = [
        s for s in organization_app.assembly.stacks if s.stack_name == ORGANIZATION_FAST_PATH_STACK_ID
    ]
    assert (artifact.environment.account, artifact.environment.region) == (CENTRAL, HOME)
    # The outer template carries the member template inline: no asset of any kind (manifest or parameter).
    assert not artifact.assets
    template = _template(organization_app, ORGANIZATION_FAST_PATH_STACK_ID)
    assert set(template.get("Parameters", {})) <= {"BootstrapVersion"}
    assert list(template["Resources"]) == [next(iter(template["Resources"]))]  # the StackSet only


def test_the_member_template_is_only_the_forwarding_rules_and_their_role_and_has_no_asset(
    organization_app: SynthesizedApp,
) -> None:
    member = _member(organization_app)
    types = sorted(resource["Type"] for resource in member["Resources"].values())
    assert types == sorted(
        ["AWS::IAM::Role", "AWS::IAM::ManagedPolicy", *["AWS::Events::Rule"] * len(PATTERNS)]
    )
    # Environment-agnostic and asset-free: no parameter (no asset, no bootstrap version), no rule, no
    # condition, no CDK metadata; nothing names the member's own account or region.
    assert set(member) == {"Description", "Resources"}
    text = json.dumps(member)
    assert "aws:asset" not in text and "cdk-" not in text and "AssetParameters" not in text
    assert "AWS::Region" not in text and "AWS::AccountId" not in text


def test_member_rules_forward_every_fast_path_pattern_to_the_central_bus_through_a_put_events_only_role(
    organization_app: SynthesizedApp,
) -> None:
    member = _member(organization_app)
    rules = [r["Properties"] for r in _of_type(member, "AWS::Events::Rule").values()]
    assert [r["EventPattern"] for r in rules] == [p.pattern for p in PATTERNS]
    (role_id,) = _of_type(member, "AWS::IAM::Role")
    for rule in rules:
        (target,) = rule["Targets"]
        assert CENTRAL_BUS in json.dumps(target["Arn"])
        assert _ref_id(target["RoleArn"]) == role_id
    assert not _of_type(member, "AWS::IAM::Policy")
    (policy,) = [p["Properties"] for p in _of_type(member, "AWS::IAM::ManagedPolicy").values()]
    assert [_ref_id(r) for r in policy["Roles"]] == [role_id]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    assert CENTRAL_BUS in json.dumps(statement["Resource"])


def test_member_rules_are_the_central_accounts_own_forwarding_rules_but_for_the_target_bus(
    organization_app: SynthesizedApp,
) -> None:
    # One home (FastPathForwarding): the member template and the central account's regional stack differ
    # only in whose bus they target, so the two cannot drift.
    own = _template(organization_app, f"{FAST_PATH_STACK_ID_PREFIX}us-east-1")["Resources"]
    member = _member(organization_app)["Resources"]
    assert set(own) - {"CDKMetadata"} == set(member)
    own_text = json.dumps({k: v for k, v in own.items() if k != "CDKMetadata"}, sort_keys=True)
    member_text = json.dumps(member, sort_keys=True)
    assert member_text == own_text.replace(
        f':events:{HOME}:", {{"Ref": "AWS::AccountId"}}, ":event-bus/default', CENTRAL_BUS
    )


def test_the_central_bus_admits_put_events_from_the_organization_only(
    organization_app: SynthesizedApp,
) -> None:
    template = _template(organization_app, ALERTING_STACK_ID)
    policies = {
        p["Properties"]["StatementId"]: p for p in _of_type(template, "AWS::Events::EventBusPolicy").values()
    }
    assert set(policies) == {BUS_POLICY_STATEMENT_ID, ORGANIZATION_BUS_POLICY_STATEMENT_ID}
    organization = policies[ORGANIZATION_BUS_POLICY_STATEMENT_ID]
    statement = organization["Properties"]["Statement"]
    assert organization["Properties"]["EventBusName"] == "default"
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Allow",
        "*",
        "events:PutEvents",
    )
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID}}
    assert f":events:{HOME}:" in json.dumps(statement["Resource"])
    assert "event-bus/default" in json.dumps(statement["Resource"])
    # Written after the this-account statement, never concurrently to the same bus policy.
    logical_ids = {
        p["Properties"]["StatementId"]: k
        for k, p in _of_type(template, "AWS::Events::EventBusPolicy").items()
    }
    assert organization["DependsOn"] == [logical_ids[BUS_POLICY_STATEMENT_ID]]


def test_without_an_organization_rollout_the_bus_admits_this_account_only(
    fast_path_app: SynthesizedApp,
) -> None:
    template = _template(fast_path_app, ALERTING_STACK_ID)
    statements = [
        p["Properties"]["StatementId"] for p in _of_type(template, "AWS::Events::EventBusPolicy").values()
    ]
    assert statements == [BUS_POLICY_STATEMENT_ID]
    assert ORGANIZATION_FAST_PATH_STACK_ID not in fast_path_app.template_paths


def test_accounts_the_stack_set_cannot_reach_get_regional_stacks_forwarding_to_the_central_bus(
    organization_app: SynthesizedApp,
) -> None:
    for account in (MANAGEMENT, OUTSIDE_MEMBER):
        for region in REGIONS:
            name = f"{ACCOUNT_FAST_PATH_STACK_ID_PREFIX}{account}-{region}"
            (artifact,) = [s for s in organization_app.assembly.stacks if s.stack_name == name]
            assert (artifact.environment.account, artifact.environment.region) == (account, region)
            template = _template(organization_app, name)
            rules = [r["Properties"] for r in _of_type(template, "AWS::Events::Rule").values()]
            assert [r["EventPattern"] for r in rules] == [p.pattern for p in PATTERNS]
            assert all(CENTRAL_BUS in json.dumps(r["Targets"][0]["Arn"]) for r in rules)


def test_the_member_template_passes_both_cdk_nag_packs() -> None:
    # The scanners' cdk-nag test walks the app's construct tree; the member template is built in an app of
    # its own, so the same packs check that one here.
    app = cdk.App()
    member_forwarding_stack(app, patterns=PATTERNS, central_account=CENTRAL, central_region=HOME)
    reports = [pack.validate_scope(app) for pack in nag_packs(app)]
    violations = [
        (violation.rule_name, resource.construct_path)
        for report in reports
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert violations == []
    assert all(report.success for report in reports)


def test_the_scanners_get_the_member_template_as_a_template_of_its_own(
    organization_app: SynthesizedApp,
) -> None:
    (path,) = organization_app.stack_set_template_paths.values()
    assert json.loads(path.read_text()) == _member(organization_app)
    assert path in organization_app.scanned_template_paths.values()


def _organization_config(**organization: Any) -> dict[str, Any]:
    return {
        "homeRegion": HOME,
        "organizationId": ORGANIZATION_ID,
        "fastPath": {"enabled": True, "regions": REGIONS},
        "rollout": {
            "organization": {
                "centralAccount": CENTRAL,
                "memberOrganizationalUnits": UNITS,
                "regions": REGIONS,
                **organization,
            }
        },
    }


def test_a_rollout_target_deploys_the_stack_set_only_from_the_central_account(
    cdk_context: dict[str, Any],
) -> None:
    config = BaselineConfig.from_mapping(_organization_config(managementAccount=MANAGEMENT))
    for account, expected in ((CENTRAL, True), ("222233334444", False)):
        app = cdk.App(context=cdk_context)
        build_app(app, config, DeploymentTarget(name="t", account=account, region=HOME, environment="t"))
        ids = {child.node.id for child in app.node.children}
        assert (ORGANIZATION_FAST_PATH_STACK_ID in ids) is expected
        # The management account's stacks are deployed with its own credentials, never by a target's job.
        assert not any(i.startswith(ACCOUNT_FAST_PATH_STACK_ID_PREFIX) for i in ids)


def test_the_management_account_as_central_account_calls_as_itself_and_gets_no_extra_stacks(
    cdk_context: dict[str, Any],
) -> None:
    config = BaselineConfig.from_mapping(_organization_config(managementAccount=CENTRAL))
    assert config.rollout.organization.accounts_outside_the_stack_set == ()
    app = cdk.App(context=cdk_context)
    build_app(app, config)
    stack = app.node.find_child(ORGANIZATION_FAST_PATH_STACK_ID)
    template = app.synth().get_stack_by_name(stack.node.id).template
    (stack_set,) = template["Resources"].values()
    assert stack_set["Properties"]["CallAs"] == "SELF"


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        (
            {**_organization_config(), "fastPath": {"enabled": False}},
            "baseline.fastPath.enabled: false is not allowed; baseline.rollout.organization forwards",
        ),
        (
            {**_organization_config(regions=["eu-west-1", "eu-central-1"])},
            "baseline.rollout.organization.regions[1]: 'eu-central-1' is not allowed; the central account "
            "forwards its own events only from baseline.fastPath.regions (eu-west-1, us-east-1): add "
            "eu-central-1 there too",
        ),
    ],
)
def test_bad_organization_fast_path_settings_fail_synth_naming_the_key_and_the_fix(
    baseline: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        BaselineConfig.from_mapping(baseline)
    assert f"baseline.{raised.value}".startswith(message) or str(raised.value).startswith(message)


def test_the_synth_summary_lists_the_ous_regions_and_forwarding_rules(
    organization_app: SynthesizedApp,
) -> None:
    text = summarize(organization_app.outdir)
    assert (
        f"  StackSet {STACK_SET_NAME} (SERVICE_MANAGED, automatic deployment yes): OUs {', '.join(UNITS)} "
        f"except {CENTRAL}; regions {', '.join(REGIONS)}; {len(PATTERNS)} forwarding rules per account "
        "and region"
    ) in text
