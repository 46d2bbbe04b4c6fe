"""The CDK app's stacks. ``build_app`` is the one place deciding which stacks exist and how they connect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks

from detections.fast_path import enabled, plan
from detections.targets.eventbridge import forwarding_patterns
from stacks.alerting_stack import AlertingStack
from stacks.config import BaselineConfig
from stacks.fast_path_stack import FastPathForwardingStack
from stacks.trail_stack import AuditTrailStack

if TYPE_CHECKING:  # pragma: no cover
    from constructs import IConstruct

TRAIL_STACK_ID = "SecurityBaselineTrail"
ALERTING_STACK_ID = "SecurityBaselineAlerting"
FAST_PATH_STACK_ID_PREFIX = "SecurityBaselineFastPath-"


def build_app(app: App, config: BaselineConfig) -> tuple[AuditTrailStack, AlertingStack]:
    """Add the baseline's stacks to ``app``. Environment-agnostic unless ``homeRegion`` is configured."""
    env = Environment(region=config.home_region) if config.home_region else None
    trail = AuditTrailStack(app, TRAIL_STACK_ID, config=config, env=env)
    alerting = AlertingStack(app, ALERTING_STACK_ID, config=config, trail_log_group=trail.log_group, env=env)
    build_fast_path_forwarding(app, config)
    return trail, alerting


def build_fast_path_forwarding(app: App, config: BaselineConfig) -> list[FastPathForwardingStack]:
    """One forwarding stack per fast-path region other than the home region (none when the path is off)."""
    fast = [d.compiled for d in enabled(plan(config.detections_in_use)) if d.compiled is not None]
    if not fast or config.home_region is None:
        return []
    patterns = forwarding_patterns(fast)
    return [
        FastPathForwardingStack(
            app,
            f"{FAST_PATH_STACK_ID_PREFIX}{region}",
            patterns=patterns,
            home_region=config.home_region,
            env=Environment(region=region),
        )
        for region in config.fast_path_forwarding_regions
    ]


def nag_packs(scope: IConstruct) -> list[NagPack]:
    """The compliance rule packs the baseline is held to (cdk-nag v3: policy-validation plugins)."""
    return [AwsSolutionsChecks(scope), NIST80053R5Checks(scope)]


def add_compliance_checks(app: App) -> None:
    """Make every synth (``cdk synth``/``deploy``) fail on an unacknowledged cdk-nag finding."""
    Validations.of(app).add_plugins(*nag_packs(app))
