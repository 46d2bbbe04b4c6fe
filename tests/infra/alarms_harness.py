"""Shared builders for the ALERTING-INFRA tests (no tests here).

Synthesis is slow (jsii + asset staging). The default alerting stack is the one in the session-wide
``synthesized_app`` fixture (tests/infra/conftest.py: the whole app as `cdk synth` builds it, once per
session); ``alerting_of`` views it. Tests that need other settings share ONE extra app per session,
``custom_alerting()``, synthesized with the same cdk.json context (feature flags) as the CLI.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from detections.catalogue import CATALOGUE, Detection
from detections.suppressions import Suppression
from stacks import ALERTING_STACK_ID, TRAIL_STACK_ID
from stacks.alerting_stack import AlertingStack
from stacks.config import AlarmOverride, BaselineConfig

REPO = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (feature flags change what CDK synthesizes, so tests must use them too)."""
    return dict(json.loads((REPO / "cdk.json").read_text())["context"])


@dataclass(frozen=True)
class SynthesizedAlerting:
    app: App
    stack: AlertingStack
    template: Template
    outdir: Path
    trail_log_group: logs.ILogGroup

    def resources(self, resource_type: str) -> Mapping[str, Mapping[str, Any]]:
        return self.template.find_resources(resource_type)

    def logical_id(self, construct: Any) -> str:
        """The template's logical id of an L2 construct's resource (its default child)."""
        return str(self.stack.resolve(self.stack.get_logical_id(construct.node.default_child)))

    def properties(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources(resource_type).items():
            yield logical_id, resource.get("Properties", {})


class _StandInTrailStack(Stack):
    """Only a log group: enough for tests that vary the alerting stack's own inputs."""

    def __init__(self, scope: App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "TrailLogGroup", log_group_name="security-baseline-trail")


def synth_alerting(
    config: BaselineConfig | None = None,
    detections: Sequence[Detection] | None = None,
    *,
    use_real_trail_stack: bool = True,
) -> SynthesizedAlerting:
    """Synthesize an app holding a trail stack and the AlertingStack; return the alerting template."""
    config = config or BaselineConfig()
    outdir = Path(tempfile.mkdtemp(prefix="alerting-synth-"))
    app = App(outdir=str(outdir), context=cdk_json_context())
    trail: AuditTrailStack | _StandInTrailStack
    if use_real_trail_stack:
        from stacks.trail_stack import AuditTrailStack

        trail = AuditTrailStack(app, TRAIL_STACK_ID, config=config)
    else:
        trail = _StandInTrailStack(app, TRAIL_STACK_ID)
    stack = AlertingStack(
        app, ALERTING_STACK_ID, config=config, trail_log_group=trail.log_group, detections=detections
    )
    app.synth()
    return SynthesizedAlerting(
        app=app,
        stack=stack,
        template=Template.from_stack(stack),
        outdir=outdir,
        trail_log_group=trail.log_group,
    )


def _once(build: Callable[[], SynthesizedAlerting]) -> Callable[[], SynthesizedAlerting]:
    """Build at most once per session, remembering a failure too (a broken synth fails fast, not N times)."""
    outcome: list[SynthesizedAlerting | BaseException] = []

    @functools.wraps(build)
    def cached() -> SynthesizedAlerting:
        if not outcome:
            try:
                outcome.append(build())
            except Exception as error:  # re-raised to every caller below
                outcome.append(error)
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    return cached


def alerting_of(synthesized_app: Any) -> SynthesizedAlerting:
    """The alerting stack of conftest's session-wide ``synthesized_app`` (default config, as `cdk synth`)."""
    return SynthesizedAlerting(
        app=synthesized_app.app,
        stack=synthesized_app.alerting_stack,
        template=Template.from_stack(synthesized_app.alerting_stack),
        outdir=synthesized_app.outdir,
        trail_log_group=synthesized_app.trail_stack.log_group,
    )


# A detection that is not in the catalogue: proves "adding a detection adds its filter and alarm".
EXTRA_DETECTION = dataclasses.replace(
    CATALOGUE[0],
    id="extra-test-detection",
    title="Extra detection used by the infra tests",
    pattern='{ $.eventName = "ExtraTestEvent" }',
    additional_patterns=('{ $.eventSource = "extra.amazonaws.com" }',),
    resolve_policy="resolve_on_ok",
)
OVERRIDDEN_DETECTION_ID = "root-account-usage"
CUSTOM_ALERT_EMAILS = ("secops@example.com",)
CUSTOM_HEALTH_EMAILS = ("platform-oncall@example.com",)
CUSTOM_HEALTH_HTTPS = ("https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue",)
CUSTOM_TRAIL_SILENCE_MINUTES = 15
CUSTOM_SUPPRESSION = Suppression(
    detection="root-account-usage",
    reason="Quarterly break-glass drill, ticket SEC-123",
    expires=date(2030, 12, 31),
    principal_arn_pattern="arn:aws:iam::*:role/BreakGlass",
    source_cidr="203.0.113.0/24",
    event_name=None,
)


def custom_config() -> BaselineConfig:
    """Non-default settings touching every input of the alerting stack."""
    base = BaselineConfig()
    return dataclasses.replace(
        base,
        alert_emails=CUSTOM_ALERT_EMAILS,
        alarms=dataclasses.replace(
            base.alarms,
            overrides={
                OVERRIDDEN_DETECTION_ID: AlarmOverride(period_seconds=300, tolerated_delay_minutes=10)
            },
        ),
        health=dataclasses.replace(
            base.health,
            emails=CUSTOM_HEALTH_EMAILS,
            https_endpoints=CUSTOM_HEALTH_HTTPS,
            trail_silence_minutes=CUSTOM_TRAIL_SILENCE_MINUTES,
        ),
        forwarder=dataclasses.replace(
            base.forwarder, reserved_concurrency=3, timeout_seconds=90, memory_mb=256
        ),
        suppressions=(CUSTOM_SUPPRESSION,),
        log_retention_days=731,
    )


@_once
def custom_alerting() -> SynthesizedAlerting:
    """The alerting stack with custom_config() and the catalogue plus EXTRA_DETECTION."""
    return synth_alerting(custom_config(), (*CATALOGUE, EXTRA_DETECTION))
