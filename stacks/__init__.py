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
from stacks.organization_fast_path_stack import OrganizationFastPathStack
from stacks.trail_stack import AuditTrailStack

if TYPE_CHECKING:  # pragma: no cover
    from constructs import IConstruct

TRAIL_STACK_ID = "SecurityBaselineTrail"
ALERTING_STACK_ID = "SecurityBaselineAlerting"
FAST_PATH_STACK_ID_PREFIX = "SecurityBaselineFastPath-"
DEPLOY_ROLE_STACK_ID = "SecurityBaselineDeployRole"
ORGANIZATION_FAST_PATH_STACK_ID = "SecurityBaselineOrganizationFastPath"
#: + "<account>-<region>": forwarding stacks of the accounts the StackSet cannot reach (the management
#: account; memberAccounts outside the member OUs), deployed with that account's credentials.
ACCOUNT_FAST_PATH_STACK_ID_PREFIX = "SecurityBaselineFastPathAccount-"


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
    build_organization_fast_path(app, config, target)
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


def build_organization_fast_path(
    app: App, config: BaselineConfig, target: DeploymentTarget | None = None
) -> list[OrganizationFastPathStack | FastPathForwardingStack]:
    """With ``rollout.organization``: the StackSet stack in the central account and home region, and one
    forwarding stack per region for each account the StackSet does not reach.

    Under a rollout ``target`` only the central account's StackSet stack (when the target is the central
    account): the other accounts' stacks are deployed by hand with their own credentials (README)."""
    organization = config.rollout.organization
    home_region = config.home_region
    if not organization.enabled or home_region is None:  # config: the organization rollout needs both
        return []
    central = organization.central_account
    fast = [d.compiled for d in enabled(plan(config.detections_in_use)) if d.compiled is not None]
    patterns = forwarding_patterns(fast)
    built: list[OrganizationFastPathStack | FastPathForwardingStack] = []
    if organization.member_organizational_units and (target is None or target.account == central):
        built.append(
            OrganizationFastPathStack(
                app,
                ORGANIZATION_FAST_PATH_STACK_ID,
                settings=organization,
                central_region=home_region,
                patterns=patterns,
                env=Environment(account=central, region=home_region),
            )
        )
    if target is not None:
        return built
    for account in organization.accounts_outside_the_stack_set:
        built += [
            FastPathForwardingStack(
                app,
                f"{ACCOUNT_FAST_PATH_STACK_ID_PREFIX}{account}-{region}",
                patterns=patterns,
                home_region=home_region,
                home_account=central,
                env=Environment(account=account, region=region),
            )
            for region in organization.regions
        ]
    return built


def nag_packs(scope: IConstruct) -> list[NagPack]:
    """The compliance rule packs the baseline is held to (cdk-nag v3: policy-validation plugins)."""
    return [AwsSolutionsChecks(scope), NIST80053R5Checks(scope)]


def add_compliance_checks(app: App) -> None:
    """Make every synth (``cdk synth``/``deploy``) fail on an unacknowledged cdk-nag finding."""
    Validations.of(app).add_plugins(*nag_packs(app))
