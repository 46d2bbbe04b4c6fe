"""baseline.rollout: the CI targets and the organization settings fail synth on bad values, naming the key.

The region list and the organization id patterns are checked against botocore's data (endpoints and the
Organizations service model), an independent source, not against our own regular expressions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest

from stacks.config import (
    AWS_REGIONS,
    ROLLOUT_TARGET_CONTEXT_KEY,
    BaselineConfig,
    ConfigError,
    DeploymentTarget,
    OrganizationRolloutSettings,
)
from tests.infra.alarms_harness import cdk_json_context

REPO = Path(__file__).resolve().parents[2]
REPOSITORY = "acme/security-baseline"
GOOD_ROLLOUT: dict[str, Any] = {
    "githubRepository": REPOSITORY,
    "deployAccount": "111122223333",
    "targets": [
        {"name": "staging", "account": "222233334444", "region": "eu-west-1"},
        {"name": "prod-eu", "account": "333344445555", "region": "eu-west-1", "environment": "production"},
    ],
    "organization": {
        "centralAccount": "333344445555",
        "managementAccount": "999988887777",
        "memberOrganizationalUnits": ["ou-ab12-cd34ef56"],
        "memberAccounts": ["444455556666"],
        "regions": ["eu-west-1", "us-east-1"],
    },
}
ORGANIZATION_ID = "o-a1b2c3d4e5"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
US_TARGET = {"name": "prod-us", "account": "333344445555", "region": "us-east-1"}
#: The partitions CDK deploys to here (cdk.json target-partitions: aws, aws-cn) plus GovCloud.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


#: The organization rollout forwards the fast path's events, which needs the fast path on and a home region.
ORGANIZATION_FAST_PATH: dict[str, Any] = {"homeRegion": "eu-west-1", "fastPath": {"enabled": True}}


def _config(rollout: dict[str, Any], **top: Any) -> BaselineConfig:
    fast_path = ORGANIZATION_FAST_PATH if rollout.get("organization", {}).get("centralAccount") else {}
    return BaselineConfig.from_mapping(
        {"organizationId": ORGANIZATION_ID, **fast_path, **top, "rollout": rollout}
    )


def _with_organization(**changes: Any) -> dict[str, Any]:
    return {**GOOD_ROLLOUT, "organization": {**GOOD_ROLLOUT["organization"], **changes}}


def test_a_full_rollout_configuration_is_read_into_typed_settings() -> None:
    rollout = _config(GOOD_ROLLOUT).rollout
    assert rollout.deploy_role_enabled
    assert rollout.targets == (
        DeploymentTarget(name="staging", account="222233334444", region="eu-west-1", environment="staging"),
        DeploymentTarget(
            name="prod-eu", account="333344445555", region="eu-west-1", environment="production"
        ),
    )
    assert rollout.organization == OrganizationRolloutSettings(
        central_account="333344445555",
        management_account="999988887777",
        member_organizational_units=("ou-ab12-cd34ef56",),
        member_accounts=("444455556666",),
        regions=("eu-west-1", "us-east-1"),
    )
    assert rollout.organization.enabled
    assert rollout.target_named("prod-eu").account == "333344445555"


def test_rollout_is_off_by_default() -> None:
    rollout = BaselineConfig().rollout
    assert not rollout.deploy_role_enabled and not rollout.targets and not rollout.organization.enabled


def test_the_region_list_is_botocores_for_the_partitions_cdk_deploys_to() -> None:
    # botocore's endpoint data is maintained by AWS with the SDKs: an independent list of real regions.
    partitions = botocore.loaders.Loader().load_data("endpoints")["partitions"]
    botocore_regions = {
        region
        for partition in partitions
        if partition["partition"] in PARTITIONS
        for region in partition["regions"]
    }
    assert set(AWS_REGIONS) == botocore_regions
    assert len(AWS_REGIONS) == len(set(AWS_REGIONS))


@pytest.mark.parametrize(
    ("shape", "good", "bad"),
    [
        ("OrganizationalUnitId", "ou-ab12-cd34ef56", "ou-ab1-cd34ef56"),
        ("AccountId", "123456789012", "12345678901"),
    ],
)
def test_our_id_checks_agree_with_the_organizations_api_pattern(shape: str, good: str, bad: str) -> None:
    # Given the pattern the Organizations API itself declares for the shape (botocore's service model)
    import re

    model = botocore.loaders.Loader().load_service_model("organizations", "service-2")
    pattern = re.compile(model["shapes"][shape]["pattern"])
    key = "memberOrganizationalUnits" if shape == "OrganizationalUnitId" else "memberAccounts"
    for value in (good, bad, good.upper(), good + "0", " " + good):
        accepted = True
        try:
            _config(_with_organization(**{key: [value]}))
        except ConfigError:
            accepted = False
        # Then our validation accepts exactly what the API accepts
        assert accepted == bool(pattern.match(value)), value


BAD_ROLLOUT: list[tuple[str, dict[str, Any], list[str]]] = [
    # (case, the "rollout" object, fragments the message must contain)
    (
        "member account id of 11 digits",
        _with_organization(memberAccounts=["12345678901"]),
        ["baseline.rollout.organization.memberAccounts[0]", "'12345678901'", "exactly 12 digits"],
    ),
    (
        "target account id with a letter",
        {**GOOD_ROLLOUT, "targets": [{"name": "prod", "account": "12345678901a", "region": "eu-west-1"}]},
        ["baseline.rollout.targets[0].account", "'12345678901a'", "12 digits"],
    ),
    (
        "account id written as a JSON number",
        _with_organization(centralAccount=123456789012),
        ["baseline.rollout.organization.centralAccount", "123456789012", "as a string"],
    ),
    (
        "OU id given as the OU name",
        _with_organization(memberOrganizationalUnits=["Workloads"]),
        ["baseline.rollout.organization.memberOrganizationalUnits[0]", "'Workloads'", "ou-ab12-cd34ef56"],
    ),
    (
        "OU id with too short a root part",
        _with_organization(memberOrganizationalUnits=["ou-ab1-cd34ef56"]),
        ["memberOrganizationalUnits[0]", "'ou-ab1-cd34ef56'", "4-32"],
    ),
    (
        "region that does not exist",
        _with_organization(regions=["eu-west-1", "eu-west-9"]),
        ["baseline.rollout.organization.regions[1]", "'eu-west-9'", "existing AWS region", "AWS_REGIONS"],
    ),
    (
        "target region that does not exist",
        {**GOOD_ROLLOUT, "targets": [{"name": "prod", "account": "123456789012", "region": "europe-1"}]},
        ["baseline.rollout.targets[0].region", "'europe-1'", "existing AWS region"],
    ),
    (
        "central account also listed as a member",
        _with_organization(memberAccounts=["444455556666", "333344445555"]),
        ["baseline.rollout.organization.memberAccounts[1]", "'333344445555'", "centralAccount", "remove it"],
    ),
    (
        "management account listed as a member",
        _with_organization(memberAccounts=["999988887777"]),
        ["memberAccounts[0]", "managementAccount", "StackSets never deploy to it"],
    ),
    (
        "members without a central account",
        _with_organization(centralAccount=None),
        [
            "baseline.rollout.organization.centralAccount",
            "null",
            "set baseline.rollout.organization.centralAccount",
        ],
    ),
    (
        "central account without regions",
        _with_organization(regions=[]),
        ["baseline.rollout.organization.regions", "name the regions"],
    ),
    (
        "duplicate OU",
        _with_organization(memberOrganizationalUnits=["ou-ab12-cd34ef56", "ou-ab12-cd34ef56"]),
        ["memberOrganizationalUnits[1]", "listed twice"],
    ),
    (
        "malformed GitHub repository",
        {**GOOD_ROLLOUT, "githubRepository": "https://github.com/acme/security-baseline"},
        ["baseline.rollout.githubRepository", "'owner/repository'"],
    ),
    (
        "repository without the deploy account",
        {**GOOD_ROLLOUT, "deployAccount": None},
        ["baseline.rollout.deployAccount", "null", "set baseline.rollout.deployAccount"],
    ),
    (
        "targets without a repository",
        {"targets": GOOD_ROLLOUT["targets"]},
        ["baseline.rollout.targets", "set", "githubRepository"],
    ),
    (
        "two targets with one name",
        {
            **GOOD_ROLLOUT,
            "targets": [GOOD_ROLLOUT["targets"][0], {**GOOD_ROLLOUT["targets"][1], "name": "staging"}],
        },
        ["baseline.rollout.targets[1]", "'staging'", "listed twice"],
    ),
    (
        "target with an unknown key",
        {
            **GOOD_ROLLOUT,
            "targets": [{"name": "prod", "account": "123456789012", "region": "eu-west-1", "x": 1}],
        },
        ["baseline.rollout.targets[0]", '"environment": "production"'],
    ),
    (
        "OIDC provider of another account",
        {
            **GOOD_ROLLOUT,
            "existingOidcProviderArn": (
                "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"
            ),
        },
        ["baseline.rollout.existingOidcProviderArn", "111122223333"],
    ),
    (
        "OIDC provider of another issuer",
        {**GOOD_ROLLOUT, "existingOidcProviderArn": "arn:aws:iam::111122223333:oidc-provider/gitlab.com"},
        ["baseline.rollout.existingOidcProviderArn", "gitlab.com", "token.actions.githubusercontent.com"],
    ),
    (
        "CDK qualifier too long",
        {**GOOD_ROLLOUT, "cdkQualifier": "my-long-qualifier"},
        ["baseline.rollout.cdkQualifier", "1-10", "hnb659fds"],
    ),
    (
        "unknown rollout key",
        {**GOOD_ROLLOUT, "regions": ["eu-west-1"]},
        ["baseline.rollout.regions", "unknown key", "organization"],
    ),
]


@pytest.mark.parametrize(("case", "rollout", "fragments"), BAD_ROLLOUT, ids=[case[0] for case in BAD_ROLLOUT])
def test_bad_rollout_fails_with_a_message_naming_key_value_and_fix(
    case: str, rollout: dict[str, Any], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as error:
        _config(rollout)
    message = str(error.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"{case}: message {message!r} lacks {missing}"


def test_the_organization_rollout_needs_the_organization_id() -> None:
    with pytest.raises(ConfigError, match=r"baseline\.organizationId: null .*aws:PrincipalOrgID"):
        BaselineConfig.from_mapping({"rollout": GOOD_ROLLOUT})


def test_targets_outside_the_pinned_home_region_are_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"baseline\.rollout\.targets\[0\]\.region: 'eu-west-1' .*us-east-1"
    ):
        _config(GOOD_ROLLOUT, homeRegion="us-east-1")


def test_an_unknown_target_name_lists_the_configured_ones() -> None:
    with pytest.raises(ConfigError, match=rf"{ROLLOUT_TARGET_CONTEXT_KEY}: 'prod' .*staging, prod-eu"):
        _config(GOOD_ROLLOUT).rollout.target_named("prod")


def test_dotted_overrides_reach_the_rollout_section() -> None:
    # `-c baseline.rollout.organization.regions='["eu-west-9"]'` fails the same way as cdk.json would.
    with pytest.raises(ConfigError, match=r"baseline\.rollout\.organization\.regions\[0\]: 'eu-west-9'"):
        BaselineConfig.from_mapping(
            {"organizationId": ORGANIZATION_ID, "rollout": GOOD_ROLLOUT},
            {"rollout.organization.regions": '["eu-west-9"]'},
        )


# The four cases issue 16 names, through app.py as `cdk synth` runs it (the CLI hands the context over in
# CDK_CONTEXT_JSON): exit code 2 and one readable line, no traceback, no template.
SYNTH_CASES = {
    "account id not 12 digits": (
        {"rollout.organization.memberAccounts": '["1234"]'},
        "Configuration error: baseline.rollout.organization.memberAccounts[0]: '1234' is not allowed",
    ),
    "OU id of the wrong form": (
        {"rollout.organization.memberOrganizationalUnits": '["ou-1"]'},
        "Configuration error: baseline.rollout.organization.memberOrganizationalUnits[0]: 'ou-1' is not "
        "allowed",
    ),
    "region that does not exist": (
        {"rollout.organization.regions": '["us-north-1"]'},
        "Configuration error: baseline.rollout.organization.regions[0]: 'us-north-1' is not allowed",
    ),
    "central account also a member": (
        {"rollout.organization.memberAccounts": '["333344445555"]'},
        "Configuration error: baseline.rollout.organization.memberAccounts[0]: '333344445555' is not allowed",
    ),
}


def _app_py(context: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("case", list(SYNTH_CASES))
def test_app_py_stops_synth_on_the_issues_bad_configurations(case: str, tmp_path: Path) -> None:
    overrides, expected = SYNTH_CASES[case]
    context = cdk_json_context()
    context["baseline"] = {**context["baseline"], "organizationId": ORGANIZATION_ID, "rollout": GOOD_ROLLOUT}
    context.update({f"baseline.{key}": value for key, value in overrides.items()})
    result = _app_py(context, tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_home_region_is_checked_against_the_same_region_list() -> None:
    # One list of regions for every region setting: a well-formed but non-existent home region fails too.
    with pytest.raises(ConfigError, match=r"baseline\.homeRegion: 'eu-west-9' .*or null .*AWS_REGIONS"):
        BaselineConfig.from_mapping({"homeRegion": "eu-west-9"})
    assert BaselineConfig.from_mapping({"homeRegion": "us-gov-west-1"}).home_region == "us-gov-west-1"


@pytest.mark.parametrize(
    ("setting", "key_path"),
    [
        ({"existingKmsKeyArn": KEY_ARN}, "baseline.existingKmsKeyArn"),
        (
            {"pagerduty": {"routingKeySecretKmsKeyArn": KEY_ARN}},
            "baseline.pagerduty.routingKeySecretKmsKeyArn",
        ),
    ],
)
def test_targets_in_another_region_than_a_reused_kms_key_are_refused(
    setting: dict[str, Any], key_path: str
) -> None:
    # (without the organization rollout, whose fast path pins every target to homeRegion first)
    single_account = {key: value for key, value in GOOD_ROLLOUT.items() if key != "organization"}
    rollout = {**single_account, "targets": [*GOOD_ROLLOUT["targets"], US_TARGET]}
    with pytest.raises(ConfigError) as error:
        _config(rollout, **setting)
    message = str(error.value)
    assert message.startswith("baseline.rollout.targets[2].region: 'us-east-1'")
    assert f"{key_path} is a KMS key of eu-west-1" in message
    assert _config(GOOD_ROLLOUT, **setting).rollout.targets  # eu-west-1 targets are fine


def test_app_py_stops_synth_on_an_unknown_rollout_target(tmp_path: Path) -> None:
    # What a deploy job passes (-c rolloutTarget=<name>) must name a configured target.
    context = cdk_json_context()
    context["baseline"] = {
        **context["baseline"],
        "organizationId": ORGANIZATION_ID,
        "homeRegion": "eu-west-1",
        "fastPath": {**context["baseline"]["fastPath"], "enabled": True},
        "rollout": GOOD_ROLLOUT,
    }
    context[ROLLOUT_TARGET_CONTEXT_KEY] = "production"
    result = _app_py(context, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Configuration error: rolloutTarget: 'production' is not allowed" in result.stderr
    assert "staging, prod-eu" in result.stderr and "Traceback" not in result.stderr
