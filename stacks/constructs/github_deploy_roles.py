"""GitHub Actions' way into AWS without stored keys: an OIDC provider and two roles the workflows assume.

The deploy role is trusted only by jobs of the configured repository that run in the GitHub environment of
a deployment target (the ``sub`` claim ``repo:<owner>/<repo>:environment:<name>``; the environment's
required reviewers and branch rule gate it). The diff role is trusted only by the repository's pull-request
jobs. Neither can do anything in AWS except assume CDK bootstrap roles of the target accounts, named one by
one: what CloudFormation may then change is decided by each target's ``cdk bootstrap
--cloudformation-execution-policies``, not here.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import DeploymentTarget, RolloutSettings

GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"
#: The audience configure-aws-credentials requests for its token (its default `audience` input).
STS_AUDIENCE = "sts.amazonaws.com"
#: Bootstrap roles the CLI assumes for `cdk deploy` (template, file assets, context lookups) and `cdk diff`.
DEPLOY_BOOTSTRAP_ROLES = ("deploy-role", "file-publishing-role", "lookup-role")
DIFF_BOOTSTRAP_ROLES = ("lookup-role",)


def bootstrap_role_arn(qualifier: str, role: str, target: DeploymentTarget) -> str:
    """The ARN `cdk bootstrap` gives a bootstrap role (bootstrap-template.yaml: RoleName)."""
    name = f"cdk-{qualifier}-{role}-{target.account}-{target.region}"
    return f"arn:{Aws.PARTITION}:iam::{target.account}:role/{name}"


def deploy_subjects(repository: str, targets: Iterable[DeploymentTarget]) -> list[str]:
    """The ``sub`` claims of jobs running in the targets' GitHub environments, each once, in target order."""
    return list(dict.fromkeys(f"repo:{repository}:environment:{target.environment}" for target in targets))


def pull_request_subject(repository: str) -> str:
    return f"repo:{repository}:pull_request"


class GitHubDeployRoles(Construct):
    """The OIDC provider (created, or imported from ``existing_oidc_provider_arn``) and the two roles.

    Attributes:
        provider_arn: the OIDC provider's ARN.
        deploy_role: assumed by deploy jobs (one per target environment).
        diff_role: assumed by pull-request jobs for `cdk diff` (lookup roles only: read-only).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: RolloutSettings) -> None:
        super().__init__(scope, construct_id)
        repository = settings.github_repository
        if repository is None:
            raise ValueError("GitHubDeployRoles needs baseline.rollout.githubRepository")
        if settings.existing_oidc_provider_arn is not None:
            self.provider_arn = settings.existing_oidc_provider_arn
        else:
            # The native AWS::IAM::OIDCProvider: no custom-resource Lambda. IAM no longer checks the
            # thumbprint for GitHub's issuer (it trusts its root CAs), so none is pinned here.
            provider = iam.OidcProviderNative(
                self, "GitHubOidcProvider", url=f"https://{GITHUB_OIDC_ISSUER}", client_ids=[STS_AUDIENCE]
            )
            self.provider_arn = provider.oidc_provider_arn

        self.deploy_role = self._role(
            "DeployRole",
            role_name=settings.deploy_role_name,
            subjects=deploy_subjects(repository, settings.targets),
            description=f"GitHub Actions deploys of {repository}: assumes CDK bootstrap roles of the targets",
        )
        self._allow_assume(self.deploy_role, settings.deploy_role_name, settings, DEPLOY_BOOTSTRAP_ROLES)
        self.diff_role = self._role(
            "DiffRole",
            role_name=settings.diff_role_name,
            subjects=[pull_request_subject(repository)],
            description=f"GitHub Actions pull requests of {repository}: cdk diff through the lookup roles",
        )
        self._allow_assume(self.diff_role, settings.diff_role_name, settings, DIFF_BOOTSTRAP_ROLES)

    def _role(self, construct_id: str, *, role_name: str, subjects: list[str], description: str) -> iam.Role:
        # StringEquals on both claims: no wildcard in `sub`, so no other repository, branch, tag,
        # environment or event of this repository matches.
        principal = iam.FederatedPrincipal(
            self.provider_arn,
            conditions={
                "StringEquals": {
                    f"{GITHUB_OIDC_ISSUER}:aud": STS_AUDIENCE,
                    f"{GITHUB_OIDC_ISSUER}:sub": subjects,
                }
            },
            assume_role_action="sts:AssumeRoleWithWebIdentity",
        )
        return iam.Role(
            self,
            construct_id,
            role_name=role_name,
            assumed_by=principal,
            description=description,
        )

    def _allow_assume(
        self, role: iam.Role, role_name: str, settings: RolloutSettings, bootstrap_roles: tuple[str, ...]
    ) -> None:
        arns = [
            bootstrap_role_arn(settings.cdk_qualifier, bootstrap_role, target)
            for target in settings.targets
            for bootstrap_role in bootstrap_roles
        ]
        if not arns:  # no target yet: the role can assume nothing (IAM refuses a policy without statements)
            return
        # A customer-managed policy, not an inline one (cdk-nag NIST.800.53.R5-IAMNoInlinePolicy).
        iam.ManagedPolicy(
            self,
            f"{role.node.id}Policy",
            description=f"{role_name}: assume only these CDK bootstrap roles of the deployment targets",
            statements=[
                iam.PolicyStatement(sid="AssumeCdkBootstrapRoles", actions=["sts:AssumeRole"], resources=arns)
            ],
            roles=[role],
        )
