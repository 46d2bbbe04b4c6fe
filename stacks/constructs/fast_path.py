"""The fast path: EventBridge rules that hand CloudTrail events to the forwarder within seconds of the call.

Home region (``FastPathRules``): one rule per fast-path detection on the default bus, with the exact compiled
pattern (detections/targets/eventbridge.py), the detail-types it needs and the rule state it needs (read-only
events only where a detection matches them), targeting the forwarder with a retry policy and an encrypted
dead-letter queue that PipelineHealth alarms on; plus a bus policy letting only this account put events.

Every other region (``FastPathForwarding``): a few rules whose patterns together cover every fast-path pattern
(``forwarding_patterns``), forwarding to the home region's default bus through a role that may only
``events:PutEvents`` there. The home rules then decide exactly.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aws_cdk import Annotations, Aws, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from detections.fast_path import FAST_PATH_METADATA_KEY, FastPathDecision
from detections.naming import fast_path_rule_name
from detections.targets.eventbridge import CompiledEventPattern
from stacks.constructs.compliance import acknowledge, skip_checkov

#: How long EventBridge keeps retrying a delivery the forwarder did not accept (throttling, a missing
#: permission) before parking it in the dead-letter queue, which pages a human through PipelineHealth.
#: An hour-old page is still worth sending; the alarm path pages anyway within minutes.
DELIVERY_MAX_EVENT_AGE = Duration.hours(1)
DELIVERY_RETRY_ATTEMPTS = 24
DEAD_LETTER_RETENTION = Duration.days(14)
#: The statement id of the home bus's policy (one per account and bus).
BUS_POLICY_STATEMENT_ID = "SecurityBaselineFastPathThisAccountOnly"
#: The statement id admitting the organization's accounts (the organization rollout's member rules).
ORGANIZATION_BUS_POLICY_STATEMENT_ID = "SecurityBaselineFastPathOrganizationOnly"


def default_bus_arn(region: str, account: str | None = None) -> str:
    """The default event bus of ``region`` in ``account`` (this stack's account when None)."""
    return f"arn:{Aws.PARTITION}:events:{region}:{account or Aws.ACCOUNT_ID}:event-bus/default"


def _event_pattern(compiled: CompiledEventPattern) -> events.EventPattern:
    pattern = compiled.pattern
    return events.EventPattern(detail_type=list(pattern["detail-type"]), detail=pattern.get("detail"))


class FastPathRules(Construct):
    """Home region: per-detection rules -> forwarder, their dead-letter queue, the bus policy.

    Attributes:
        rules: detection id -> its rule.
        dead_letter_queue: where EventBridge parks events it could not deliver to the forwarder.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        decisions: Sequence[FastPathDecision],
        forwarder: lambda_.IFunction,
        name_prefix: str,
        organization_id: str | None = None,
    ) -> None:
        """``organization_id``: also admit ``events:PutEvents`` on the bus from any principal of that
        organization (the organization rollout's member rules); None: this account only."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            # SQS-managed keys: EventBridge can write to the queue without a key policy naming each rule.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=DEAD_LETTER_RETENTION,
            removal_policy=RemovalPolicy.RETAIN,  # parked events are undelivered pages
            enforce_ssl=True,
        )
        skip_checkov(
            self.dead_letter_queue,
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled, the default); the check only "
            "accepts a KMS key, whose policy would have to name every rule (the rules depend on this queue: "
            "a cycle) or every rule of the account. Same data as the trail's events, encrypted either way.",
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the fast-path rules; a DLQ for it would only move the "
            "problem. Its depth is alarmed by PipelineHealth (fast-path-dead-letters).",
        )
        self.rules: dict[str, events.Rule] = {}
        for decision in decisions:
            if not decision.enabled or decision.compiled is None:
                continue
            rule = events.Rule(
                self,
                f"Rule-{decision.detection_id}",
                # Named after the detection (detections/naming.py): the rule ARN in a dead-lettered event's
                # RULE_ARN attribute, or in the console, says which detection it is.
                rule_name=fast_path_rule_name(decision.detection_id, name_prefix),
                description=f"Fast path for detection {decision.detection_id} ({decision.reason})",
                event_pattern=_event_pattern(decision.compiled),
                targets=[
                    targets.LambdaFunction(
                        forwarder,
                        dead_letter_queue=self.dead_letter_queue,
                        max_event_age=DELIVERY_MAX_EVENT_AGE,
                        retry_attempts=DELIVERY_RETRY_ATTEMPTS,
                    )
                ],
            )
            # The L2 construct has no rule state beyond ENABLED/DISABLED; read-only events need the third.
            cfn_rule = rule.node.default_child
            assert isinstance(cfn_rule, events.CfnRule)
            cfn_rule.state = decision.rule_state
            self.rules[decision.detection_id] = rule

        this_account_policy = _bus_policy_statement(
            self,
            "BusPolicy",
            {
                "Sid": BUS_POLICY_STATEMENT_ID,
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:root"},
                "Action": "events:PutEvents",
                "Resource": default_bus_arn(stack.region),
            },
        )
        if organization_id is not None:
            # In addition to the statement above, not instead: this account's own forwarding stacks keep
            # working while the organization id is being corrected, and the single-account contract stays
            # one statement that never changes. Both admit only principals of the organization.
            organization_policy = _bus_policy_statement(
                self,
                "OrganizationBusPolicy",
                {
                    "Sid": ORGANIZATION_BUS_POLICY_STATEMENT_ID,
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": default_bus_arn(stack.region),
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_id}},
                },
            )
            # One bus policy document: two statements written at once would race (concurrent modification).
            organization_policy.add_resource_dependency(this_account_policy)
        stack.add_metadata(
            FAST_PATH_METADATA_KEY,
            {
                decision.detection_id: {
                    "enabled": decision.enabled,
                    "reason": decision.reason,
                    **(
                        {
                            "detailTypes": list(decision.compiled.detail_types),
                            "state": decision.rule_state,
                            "patternCharacters": decision.compiled.size,
                        }
                        if decision.enabled and decision.compiled
                        else {}
                    ),
                }
                for decision in decisions
            },
        )


def fast_path_uncovered_warning(regions: Sequence[str]) -> str:
    listed = ", ".join(regions)
    return (
        "the fast path covers only the region the alerting stack is deployed in: baseline.homeRegion is not "
        f"set, so no forwarding stacks are built for fastPath.regions ({listed}); API calls in the other "
        "regions page only through the alarm path (minutes, not seconds). Fix: set baseline.homeRegion "
        "(e.g. 'eu-west-1') in cdk.json, or list only that region in baseline.fastPath.regions."
    )


def warn_about_uncovered_regions(scope: Construct, regions: Sequence[str]) -> None:
    """A CDK warning annotation (listed by `cdk synth`, fails `--strict`) and a line on stderr."""
    message = fast_path_uncovered_warning(regions)
    Annotations.of(scope).add_warning_v2("security-baseline:fast-path-regions-uncovered", message)
    print(f"Warning: {message}", file=sys.stderr)


class FastPathForwarding(Construct):
    """Another region: rules covering every fast-path pattern, forwarding to the home region's default bus.

    Attributes:
        rules: the forwarding rules (one per pattern of ``patterns``).
        role: the role EventBridge assumes to put events on the home bus (that one action, that one bus).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        patterns: Sequence[CompiledEventPattern],
        home_region: str,
        home_account: str | None = None,
    ) -> None:
        """``home_account``: the account whose bus receives the events (the central account of the
        organization rollout); None: this stack's own account."""
        super().__init__(scope, construct_id)
        home_bus_arn = default_bus_arn(home_region, home_account)
        self.role = iam.Role(
            self,
            "Role",
            description=f"EventBridge puts fast-path events on the default bus of {home_region} only",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
        )
        # A customer-managed policy, not inline: reviewable and reusable on its own (NIST IAMNoInlinePolicy).
        iam.ManagedPolicy(
            self,
            "PutEventsOnHomeBus",
            description=f"events:PutEvents on the default event bus of {home_region} only",
            statements=[iam.PolicyStatement(actions=["events:PutEvents"], resources=[home_bus_arn])],
            roles=[self.role],
        )
        home_bus = events.EventBus.from_event_bus_arn(self, "HomeBus", home_bus_arn)
        self.rules: list[events.Rule] = []
        for index, compiled in enumerate(patterns, start=1):
            rule = events.Rule(
                self,
                f"Forward{index}",
                description=f"Fast path: CloudTrail events to {home_region} ({index}/{len(patterns)})",
                event_pattern=_event_pattern(compiled),
                # without_policy_updates: the target would add its own inline grant; the managed policy above
                # is the role's only permission.
                targets=[targets.EventBus(home_bus, role=self.role.without_policy_updates())],
            )
            cfn_rule = rule.node.default_child
            assert isinstance(cfn_rule, events.CfnRule)
            cfn_rule.state = (
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
                if compiled.needs_read_only_events
                else "ENABLED"
            )
            self.rules.append(rule)


def _bus_policy_statement(scope: Construct, construct_id: str, statement: dict[str, object]) -> CfnResource:
    """One statement of the default bus's policy (AWS::Events::EventBusPolicy, identified by its Sid).

    A plain CfnResource rather than events.CfnEventBusPolicy: the Python binding of the latter hands its
    deprecated ``principal`` property to the CDK library even when unset, and every synth then printed a
    deprecation warning users cannot act on. The template is the same.
    """
    return CfnResource(
        scope,
        construct_id,
        type="AWS::Events::EventBusPolicy",
        properties={"StatementId": statement["Sid"], "EventBusName": "default", "Statement": statement},
    )
