"""DeployRoleStack: GitHub Actions' OIDC provider and deploy roles, in the account the pipeline starts from.

Deployed once by a person (it is what lets the pipeline in), never by the pipeline itself.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from stacks.config import RolloutSettings
from stacks.constructs.github_deploy_roles import GitHubDeployRoles


class DeployRoleStack(Stack):
    """Composes :class:`GitHubDeployRoles` (attribute ``roles``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: RolloutSettings, **kwargs: Any
    ) -> None:
        kwargs.setdefault(
            "description",
            f"Security baseline: GitHub Actions OIDC deploy roles for {settings.github_repository}",
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("security-baseline:component", "ci-deploy-role")
        self.roles = GitHubDeployRoles(self, "GitHubDeployRoles", settings=settings)
