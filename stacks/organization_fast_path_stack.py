"""OrganizationFastPathStack: in the central account, the StackSet carrying the fast path to the members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from detections.targets.eventbridge import CompiledEventPattern
from stacks.config import OrganizationRolloutSettings
from stacks.constructs.organization_fast_path import OrganizationFastPath


class OrganizationFastPathStack(Stack):
    """Thin: one OrganizationFastPath construct (the service-managed StackSet)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: OrganizationRolloutSettings,
        central_region: str,
        patterns: Sequence[CompiledEventPattern],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("security-baseline:component", "fast-path")
        self.organization = OrganizationFastPath(
            self, "Organization", settings=settings, central_region=central_region, patterns=patterns
        )
