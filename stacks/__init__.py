"""The CDK app's stacks. ``build_app`` is the one place deciding which stacks exist and how they connect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks

from detections.fast_path import enabled, plan
from detections.targets.eventbridge import forwarding_patterns
from stacks.alerting_stack import AlertingStack
from stacks.config import BaselineConfig, DeploymentTarget
from stacks.deploy_role_stack import DeployRoleStack
from stacks.fast_path_stack import FastPathForwardingStack
from stacks.trail_stack import AuditTrailStack

if TYPE_CHECKING:  # pragma: no cover
    from constructs import IConstruct

TRAIL_STACK_ID = "SecurityBaselineTrail"
ALERTING_STACK_ID = "SecurityBaselineAlerting"
FAST_PATH_STACK_ID_PREFIX = "SecurityBaselineFastPath-"
DEPLOY_ROLE_STACK_ID = "SecurityBaselineDeployRole"


def build_app(
    app: App, config: BaselineConfig, target: DeploymentTarget | None = None
) -> tuple[AuditTrailStack, AlertingStack]:
    """Add the baseline's stacks to ``app``. Environment-agnostic unless ``homeRegion`` is configured.

    With a ``target`` (one of ``rollout.targets``, as the workflows select it) the baseline's stacks are bound
    to its account and region, so the CLI assumes that account's bootstrap roles. Without one, and with
    ``rollout.githubRepository`` configured, the deploy-role stack is added too: a person deploys it once,
    the pipeline never does.
    """
    if target is not None:
        env: Environment | None = Environment(account=target.account, region=target.region)
    else:
        env = Environment(region=config.home_region) if config.home_region else None
    trail = AuditTrailStack(app, TRAIL_STACK_ID, config=config, env=env)
    alerting = AlertingStack(app, ALERTING_STACK_ID, config=config, trail_log_group=trail.log_group, env=env)
    build_fast_path_forwarding(app, config, account=None if target is None else target.account)
    if target is None and config.rollout.deploy_role_enabled:
        DeployRoleStack(
            app,
            DEPLOY_ROLE_STACK_ID,
            settings=config.rollout,
            env=Environment(account=config.rollout.deploy_account, region=config.home_region),
        )
    return trail, alerting


def build_fast_path_forwarding(
    app: App, config: BaselineConfig, *, account: str | None = None
) -> list[FastPathForwardingStack]:
    """One forwarding stack per fast-path region other than the home region (none when the path is off),
    in ``account`` when a rollout target binds the stacks to one."""
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
            env=Environment(account=account, region=region),
        )
        for region in config.fast_path_forwarding_regions
    ]


def nag_packs(scope: IConstruct) -> list[NagPack]:
    """The compliance rule packs the baseline is held to (cdk-nag v3: policy-validation plugins)."""
    return [AwsSolutionsChecks(scope), NIST80053R5Checks(scope)]


def add_compliance_checks(app: App) -> None:
    """Make every synth (``cdk synth``/``deploy``) fail on an unacknowledged cdk-nag finding."""
    Validations.of(app).add_plugins(*nag_packs(app))
