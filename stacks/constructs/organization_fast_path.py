"""The fast path across an organization: a service-managed StackSet puts the forwarding rules in every member.

Each member account and region gets the same forwarding rules as a non-home region of the central account
(``FastPathForwarding``, one home: the two cannot drift), targeting the CENTRAL account's default bus in its
home region through a role that may only ``events:PutEvents`` there. The central bus admits the members by
``aws:PrincipalOrgID`` (``FastPathRules(organization_id=...)``).

Why ``CfnStackSet`` and not cdk-stacksets: cdk-stacksets uploads the member template as a file asset and
points the StackSet at its URL (the bootstrap bucket must then be readable by StackSets), and its
``StackSetTarget.fromOrganizationalUnits`` silently drops ``excludeAccounts`` when ``additionalAccounts`` is
set (UNION wins). Here the member template is synthesized in its own throw-away app (no bootstrap version
parameter, no CDK metadata, no asset possible: ``BootstraplessSynthesizer`` refuses them) and inlined as
``TemplateBody``, and the central account is excluded with ``AccountFilterType: DIFFERENCE``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import App, BootstraplessSynthesizer, Stack, Tags
from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from detections.targets.eventbridge import CompiledEventPattern
from stacks.config import OrganizationRolloutSettings
from stacks.constructs.fast_path import FastPathForwarding

#: The StackSet's name (one per organization: the members' stacks are named StackSet-<this>-<uuid>).
STACK_SET_NAME = "security-baseline-fast-path-forwarding"
#: The member template's stack id inside its throw-away app (never deployed as a stack of its own).
MEMBER_STACK_ID = "SecurityBaselineFastPathMember"
#: CloudFormation's limit for an inline TemplateBody (bytes); larger templates need a TemplateURL (an asset).
TEMPLATE_BODY_MAX_BYTES = 51_200
#: Rollout pace: a quarter of the accounts at once per region, all regions in parallel; the operation stops
#: once more than a tenth of the accounts of a region failed (a bad template is seen early, not everywhere).
MAX_CONCURRENT_PERCENTAGE = 25
FAILURE_TOLERANCE_PERCENTAGE = 10


def member_forwarding_stack(
    app: App, *, patterns: Sequence[CompiledEventPattern], central_account: str, central_region: str
) -> Stack:
    """The member template's stack in ``app``: environment-agnostic, no asset, no bootstrap dependency."""
    stack = Stack(
        app,
        MEMBER_STACK_ID,
        synthesizer=BootstraplessSynthesizer(),
        analytics_reporting=False,
        description=(
            f"Security baseline fast path: forwards CloudTrail events to the default bus of account "
            f"{central_account} in {central_region} (deployed by the StackSet {STACK_SET_NAME})"
        ),
    )
    Tags.of(stack).add("security-baseline:component", "fast-path")  # as FastPathForwardingStack's
    FastPathForwarding(
        stack, "Forwarding", patterns=patterns, home_region=central_region, home_account=central_account
    )
    return stack


def member_forwarding_template(
    *,
    patterns: Sequence[CompiledEventPattern],
    central_account: str,
    central_region: str,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Synthesize the member template on its own (``context``: the outer app's, for the same feature flags).

    The outdir is explicit: the CDK CLI sets CDK_OUTDIR for the outer app, which a second App would
    otherwise write its manifest into."""
    with tempfile.TemporaryDirectory(prefix="stackset-member-") as outdir:
        app = App(outdir=outdir, analytics_reporting=False, context=context)
        member_forwarding_stack(
            app, patterns=patterns, central_account=central_account, central_region=central_region
        )
        artifact = app.synth().get_stack_by_name(MEMBER_STACK_ID)
        template: dict[str, Any] = json.loads(Path(artifact.template_full_path).read_text())
    return template


class OrganizationFastPath(Construct):
    """The service-managed StackSet deploying the forwarding rules to the member OUs in ``settings.regions``.

    Attributes:
        stack_set: the StackSet resource.
        member_template: the template every member stack instance gets (inlined as TemplateBody).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: OrganizationRolloutSettings,
        central_region: str,
        patterns: Sequence[CompiledEventPattern],
    ) -> None:
        super().__init__(scope, construct_id)
        central_account = settings.central_account
        assert central_account is not None, "only built when rollout.organization.centralAccount is set"
        context = {
            key: value
            for key, value in Stack.of(self).node.get_all_context().items()
            if key.startswith("@aws-cdk")  # the feature flags; not the outer app's baseline or target
        }
        self.member_template = member_forwarding_template(
            patterns=patterns, central_account=central_account, central_region=central_region, context=context
        )
        body = json.dumps(self.member_template, separators=(",", ":"))
        if len(body.encode()) > TEMPLATE_BODY_MAX_BYTES:
            raise ValueError(
                f"the StackSet's member template is {len(body.encode())} bytes, over CloudFormation's "
                f"{TEMPLATE_BODY_MAX_BYTES}-byte TemplateBody limit: fewer fast-path detections, or fewer "
                "forwarding patterns"
            )
        self.stack_set = cloudformation.CfnStackSet(
            self,
            "StackSet",
            stack_set_name=STACK_SET_NAME,
            description=(
                "Security baseline fast path: in every member account and region, EventBridge rules "
                f"forwarding CloudTrail events to the default bus of {central_account} in {central_region}"
            ),
            permission_model="SERVICE_MANAGED",
            # From the central account StackSets act as a delegated administrator; from the management
            # account (central == management) as itself.
            call_as="SELF" if central_account == settings.management_account else "DELEGATED_ADMIN",
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            # Operations on the StackSet queue behind each other instead of failing as "in progress".
            managed_execution={"Active": True},
            capabilities=["CAPABILITY_IAM"],  # the forwarding role (generated name)
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                region_concurrency_type="PARALLEL",
                max_concurrent_percentage=MAX_CONCURRENT_PERCENTAGE,
                failure_tolerance_percentage=FAILURE_TOLERANCE_PERCENTAGE,
                # SOFT: the concurrency above holds; STRICT would cap it at failure tolerance + 1 accounts.
                concurrency_mode="SOFT_FAILURE_TOLERANCE",
            ),
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(settings.member_organizational_units),
                        # The central account's own stacks receive the events; a member rule there would
                        # forward its bus to itself. Excluding an account outside the OUs excludes nothing.
                        accounts=[central_account],
                        account_filter_type="DIFFERENCE",
                    ),
                    regions=list(settings.regions),
                )
            ],
            template_body=body,
        )
