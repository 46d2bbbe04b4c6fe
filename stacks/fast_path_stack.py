"""FastPathForwardingStack: in one non-home region, forward the fast path's CloudTrail events home."""

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
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("security-baseline:component", "fast-path")
        forwarding = FastPathForwarding(self, "Forwarding", patterns=patterns, home_region=home_region)
        self.forwarding = forwarding
