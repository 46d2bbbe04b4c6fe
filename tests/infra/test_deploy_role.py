"""The GitHub OIDC deploy roles: who may assume them (exactly) and what they may do (only bootstrap roles)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from stacks import ALERTING_STACK_ID, DEPLOY_ROLE_STACK_ID, TRAIL_STACK_ID, build_app
from stacks.config import BaselineConfig
from stacks.deploy_role_stack import DeployRoleStack
from tests.infra.least_privilege import wildcard_grants

REPOSITORY = "acme/security-baseline"
DEPLOY_ACCOUNT = "111122223333"
ROLLOUT: dict[str, Any] = {
    "githubRepository": REPOSITORY,
    "deployAccount": DEPLOY_ACCOUNT,
    "targets": [
        {"name": "staging", "account": "222233334444", "region": "eu-west-1"},
        {"name": "prod-eu", "account": "333344445555", "region": "eu-west-1", "environment": "production"},
        {"name": "prod-us", "account": "333344445555", "region": "us-east-1", "environment": "production"},
    ],
}
PROVIDER_ARN = f"arn:aws:iam::{DEPLOY_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def _template(cdk_context: dict[str, Any], rollout: dict[str, Any]) -> Template:
    app = cdk.App(context=cdk_context)
    config = BaselineConfig.from_mapping({"rollout": rollout})
    stack = DeployRoleStack(
        app, "DeployRole", settings=config.rollout, env=cdk.Environment(account=DEPLOY_ACCOUNT)
    )
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(cdk_context: dict[str, Any]) -> Template:
    return _template(cdk_context, ROLLOUT)


def _role(template: Template, name: str) -> dict[str, Any]:
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": name}})
    assert len(roles) == 1, roles
    return dict(next(iter(roles.values()))["Properties"])


def _role_logical_id(template: Template, name: str) -> str:
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": name}})
    return next(iter(roles))


def _trust(provider: Any, subjects: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": subjects,
                    }
                },
            }
        ],
    }


def test_the_github_oidc_provider_is_created_for_sts(template: Template) -> None:
    template.resource_count_is("AWS::IAM::OIDCProvider", 1)
    template.has_resource_properties(
        "AWS::IAM::OIDCProvider",
        {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]},
    )


def test_the_deploy_role_trusts_exactly_the_target_environments_of_the_repository(template: Template) -> None:
    provider = {"Ref": next(iter(template.find_resources("AWS::IAM::OIDCProvider")))}
    trust = _role(template, "security-baseline-github-deploy")["AssumeRolePolicyDocument"]
    # Each environment once (prod-eu and prod-us share "production"), no wildcard, no branch, no PR.
    assert trust == _trust(
        provider,
        [f"repo:{REPOSITORY}:environment:staging", f"repo:{REPOSITORY}:environment:production"],
    )


def test_the_diff_role_trusts_exactly_the_repositorys_pull_requests(template: Template) -> None:
    provider = {"Ref": next(iter(template.find_resources("AWS::IAM::OIDCProvider")))}
    trust = _role(template, "security-baseline-github-diff")["AssumeRolePolicyDocument"]
    assert trust == _trust(provider, [f"repo:{REPOSITORY}:pull_request"])


def _assumable_roles(template: Template, role_name: str) -> list[str]:
    """The role ARNs (partition resolved to 'aws') the named role may sts:AssumeRole, from every policy."""
    logical_id = _role_logical_id(template, role_name)
    arns: list[str] = []
    policies = {
        **template.find_resources("AWS::IAM::ManagedPolicy"),
        **template.find_resources("AWS::IAM::Policy"),
    }
    for policy in policies.values():
        properties = policy["Properties"]
        if {"Ref": logical_id} not in properties.get("Roles", []):
            continue
        for statement in properties["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert statement["Action"] == "sts:AssumeRole", statement
            for resource in statement["Resource"]:
                parts = resource["Fn::Join"][1]
                assert parts[0] == "arn:" and parts[1] == {"Ref": "AWS::Partition"}
                arns.append("arn:aws" + parts[2])
    return arns


def test_the_deploy_role_may_only_assume_the_bootstrap_roles_of_each_target(template: Template) -> None:
    expected = [
        f"arn:aws:iam::{account}:role/cdk-hnb659fds-{role}-{account}-{region}"
        for account, region in (
            ("222233334444", "eu-west-1"),
            ("333344445555", "eu-west-1"),
            ("333344445555", "us-east-1"),
        )
        for role in ("deploy-role", "file-publishing-role", "lookup-role")
    ]
    # (policy minimization may reorder the ARNs; each appears once)
    assert sorted(_assumable_roles(template, "security-baseline-github-deploy")) == sorted(expected)


def test_the_diff_role_may_only_assume_the_lookup_roles(template: Template) -> None:
    assert sorted(_assumable_roles(template, "security-baseline-github-diff")) == [
        "arn:aws:iam::222233334444:role/cdk-hnb659fds-lookup-role-222233334444-eu-west-1",
        "arn:aws:iam::333344445555:role/cdk-hnb659fds-lookup-role-333344445555-eu-west-1",
        "arn:aws:iam::333344445555:role/cdk-hnb659fds-lookup-role-333344445555-us-east-1",
    ]


def test_no_role_has_a_managed_aws_policy_or_a_wildcard(template: Template) -> None:
    for name in ("security-baseline-github-deploy", "security-baseline-github-diff"):
        assert "ManagedPolicyArns" not in _role(template, name)
    assert wildcard_grants(dict(template.to_json())) == []


def test_a_custom_qualifier_names_the_bootstrap_roles(cdk_context: dict[str, Any]) -> None:
    template = _template(cdk_context, {**ROLLOUT, "cdkQualifier": "secbase"})
    assert all(
        "/cdk-secbase-" in arn for arn in _assumable_roles(template, "security-baseline-github-deploy")
    )


def test_an_existing_provider_is_trusted_instead_of_creating_one(cdk_context: dict[str, Any]) -> None:
    template = _template(cdk_context, {**ROLLOUT, "existingOidcProviderArn": PROVIDER_ARN})
    template.resource_count_is("AWS::IAM::OIDCProvider", 0)
    trust = _role(template, "security-baseline-github-diff")["AssumeRolePolicyDocument"]
    assert trust == _trust(PROVIDER_ARN, [f"repo:{REPOSITORY}:pull_request"])


def test_without_targets_the_roles_can_assume_nothing(cdk_context: dict[str, Any]) -> None:
    template = _template(cdk_context, {**ROLLOUT, "targets": []})
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.has_resource_properties("AWS::IAM::Role", {"RoleName": Match.any_value()})


# ------------------------------------------------------------------------------------------- build_app


def _stacks(cdk_context: dict[str, Any], rollout: dict[str, Any], target: str | None) -> dict[str, cdk.Stack]:
    app = cdk.App(context=cdk_context)
    config = BaselineConfig.from_mapping({"rollout": rollout})
    build_app(app, config, None if target is None else config.rollout.target_named(target))
    return {child.node.id: child for child in app.node.children if isinstance(child, cdk.Stack)}


def test_build_app_adds_the_deploy_role_stack_only_when_a_repository_is_configured(
    cdk_context: dict[str, Any],
) -> None:
    assert set(_stacks(cdk_context, {}, None)) == {TRAIL_STACK_ID, ALERTING_STACK_ID}
    stacks = _stacks(cdk_context, ROLLOUT, None)
    assert set(stacks) == {TRAIL_STACK_ID, ALERTING_STACK_ID, DEPLOY_ROLE_STACK_ID}
    assert stacks[DEPLOY_ROLE_STACK_ID].account == DEPLOY_ACCOUNT


def test_a_selected_target_binds_the_baseline_to_its_account_and_region_without_the_deploy_role(
    cdk_context: dict[str, Any],
) -> None:
    # What the deploy job synthesizes: the CLI then assumes that account's bootstrap roles.
    stacks = _stacks(cdk_context, ROLLOUT, "prod-us")
    assert set(stacks) == {TRAIL_STACK_ID, ALERTING_STACK_ID}
    assert {(stack.account, stack.region) for stack in stacks.values()} == {("333344445555", "us-east-1")}
