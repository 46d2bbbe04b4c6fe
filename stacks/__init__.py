"""The CDK app's stacks. ``build_app`` is the one place deciding which stacks exist and how they connect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks

from stacks.alerting_stack import AlertingStack
from stacks.config import BaselineConfig
from stacks.trail_stack import AuditTrailStack

if TYPE_CHECKING:  # pragma: no cover
    from constructs import IConstruct

TRAIL_STACK_ID = "SecurityBaselineTrail"
ALERTING_STACK_ID = "SecurityBaselineAlerting"


def build_app(app: App, config: BaselineConfig) -> tuple[AuditTrailStack, AlertingStack]:
    """Add the baseline's stacks to ``app``. Environment-agnostic unless ``homeRegion`` is configured."""
    env = Environment(region=config.home_region) if config.home_region else None
    trail = AuditTrailStack(app, TRAIL_STACK_ID, config=config, env=env)
    alerting = AlertingStack(app, ALERTING_STACK_ID, config=config, trail_log_group=trail.log_group, env=env)
    return trail, alerting


def nag_packs(scope: IConstruct) -> list[NagPack]:
    """The compliance rule packs the baseline is held to (cdk-nag v3: policy-validation plugins)."""
    return [AwsSolutionsChecks(scope), NIST80053R5Checks(scope)]


def add_compliance_checks(app: App) -> None:
    """Make every synth (``cdk synth``/``deploy``) fail on an unacknowledged cdk-nag finding."""
    Validations.of(app).add_plugins(*nag_packs(app))
