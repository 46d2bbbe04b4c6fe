"""FastPathForwardingStack: in one region, forward the fast path's CloudTrail events to the home bus.

A non-home region of this account, or (organization rollout) one region of an account the StackSet does not
reach: the management account, or a member account listed outside the member OUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from detections.targets.eventbridge import CompiledEventPattern
from stacks.constructs.fast_path import FastPathForwarding


class FastPathForwardingStack(Stack):
    """Thin: one FastPathForwarding construct (rules + the role that may only put events on the home bus)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        patterns: Sequence[CompiledEventPattern],
        home_region: str,
        home_account: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("security-baseline:component", "fast-path")
        forwarding = FastPathForwarding(
            self, "Forwarding", patterns=patterns, home_region=home_region, home_account=home_account
        )
        self.forwarding = forwarding
