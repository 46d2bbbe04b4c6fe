"""The detection catalogue: the single source of truth for every metric filter, alarm and page.

Each :class:`Detection` carries the exact CloudWatch Logs filter pattern that the alerting stack puts on the
trail's log group, the metadata the forwarder turns into a PagerDuty event, and a runbook for the responder.

Two groups of detections:

* **Compliance** (``CloudWatch.1`` .. ``CloudWatch.14`` and CIS 1.4.0 4.15). Their ``pattern`` is the exact
  text Security Hub publishes (awsdocs/aws-security-hub-user-guide ``doc_source/cloudwatch-controls.md``) and
  CIS prints for 4.15. Security Hub fails a control if any term is added, so these patterns are never
  "improved": noise control belongs in the forwarder's suppressions. Where Prowler's checks want a different
  text, a second filter in ``additional_patterns`` feeds the *same* metric, so both scanners pass and nobody
  is paged twice.
* **Beyond CIS**: detections for threats the CIS set misses. Each one earns its place by catching a Stratus
  Red Team technique or a documented attack (named in ``description``). Unlike the CIS texts they require
  ``$.errorCode NOT EXISTS``: a denied attempt is already counted by ``unauthorized-api-calls``, and the page
  should say that the change *happened*.

Severity follows PagerDuty (``critical`` > ``error`` > ``warning`` > ``info``): ``critical`` for root use and
for blinding the main threat detector; ``error`` for changes that expose data or create persistence;
``warning`` for changes that are routine for deploy pipelines but dangerous from a person; ``info`` for
activity that is only suspicious in context.

Resolve policy: a detection describes a *change*; a security change does not undo itself when the metric goes
back to 0, so the incident stays open until a human resolves it (``manual``). Only rate-type detections, where
the page means "this is happening now" (unauthorized API calls, console authentication failures), send a
resolve when the alarm returns to OK (``resolve_on_ok``).

Limits honoured by every pattern (checked by tests with ``compile_pattern``): at most 1024 characters, at most
2 regular expressions per pattern, and one regex-using pattern in the whole catalogue (CloudWatch allows 5 per
log group, shared with anyone else's filters on the trail's log group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from detections import naming

Severity = Literal["critical", "error", "warning", "info"]
ResolvePolicy = Literal["resolve_on_ok", "manual"]

#: Keys a ``summary_template`` may use: exactly the ones the forwarder fills from the matching CloudTrail
#: records (lambdas/forwarder/page.py builds its values from this tuple).
SUMMARY_FIELDS: tuple[str, ...] = (
    "title",
    "principal",
    "source_ip",
    "account",
    "region",
    "event_name",
    "count",
)


@dataclass(frozen=True)
class Detection:
    """One detection: a filter pattern on the trail's log group, one metric, one alarm, one kind of page."""

    id: str
    title: str
    description: str
    severity: Severity
    pattern: str
    controls: tuple[str, ...]
    mitre_attack: tuple[str, ...]
    runbook: str
    resolve_policy: ResolvePolicy
    summary_template: str
    additional_patterns: tuple[str, ...] = ()

    @property
    def metric_name(self) -> str:
        return naming.metric_name(self.id)

    @property
    def all_patterns(self) -> tuple[str, ...]:
        return (self.pattern, *self.additional_patterns)


_WHO = "by {principal} from {source_ip} in account {account} ({region}); {count} event(s)"

# --------------------------------------------------------------------------------------------------------
# Compliance detections: pattern texts copied verbatim from Security Hub's CloudWatch.1-14 remediation steps
# and CIS AWS Foundations 1.4.0 recommendation 4.15. Do not reformat them.
# --------------------------------------------------------------------------------------------------------

_CIS_ROOT_USAGE = (
    '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}'
)
_CIS_UNAUTHORIZED_API_CALLS = '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}'
_CIS_CONSOLE_SIGNIN_NO_MFA = (
    '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = '
    '"IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
)
_CIS_IAM_POLICY_CHANGES = (
    "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) "
    "|| ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
    "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
    "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) "
    "|| ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) "
    "|| ($.eventName=DetachGroupPolicy)}"
)
_CIS_CLOUDTRAIL_CHANGES = (
    "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || "
    "($.eventName=StartLogging) || ($.eventName=StopLogging)}"
)
_CIS_CONSOLE_AUTH_FAILURES = '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}'
_CIS_CMK_DISABLE_OR_DELETION = (
    "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"
)
_CIS_S3_BUCKET_POLICY_CHANGES = (
    "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || "
    "($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) "
    "|| ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || "
    "($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}"
)
_CIS_CONFIG_CHANGES = (
    "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || "
    "($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || "
    "($.eventName=PutConfigurationRecorder))}"
)
_CIS_SECURITY_GROUP_CHANGES = (
    "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || "
    "($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || "
    "($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}"
)
_CIS_NACL_CHANGES = (
    "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || "
    "($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || "
    "($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}"
)
_CIS_NETWORK_GATEWAY_CHANGES = (
    "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || "
    "($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || "
    "($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}"
)
_CIS_ROUTE_TABLE_CHANGES = (
    "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || "
    "($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || "
    "($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}"
)
_CIS_VPC_CHANGES = (
    "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || "
    "($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || "
    "($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || "
    "($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || "
    "($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}"
)
# CIS AWS Foundations Benchmark 1.4.0, 4.15 "Ensure AWS Organizations changes are monitored" (18 events).
_CIS_ORGANIZATIONS_CHANGES = (
    '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName '
    '= "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || '
    '($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = '
    '"DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") '
    '|| ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = '
    '"EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = '
    '"LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = '
    '"RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = '
    '"UpdateOrganizationalUnit")) }'
)

# Prowler variants (issue 4 part 2).
# Prowler's check `cloudwatch_changes_to_network_route_tables_alarm_configured` requires, in a filter on the
# trail's log group with an alarm on the same metric:
#   $.eventSource = ec2.amazonaws.com  and  $.eventName = CreateRoute, CreateRouteTable, ReplaceRoute,
#   ReplaceRouteTableAssociation, DeleteRouteTable, DeleteRoute, DisassociateRouteTable.
# Current releases match each clause anywhere (lookaheads, exact names); releases before 5.30 used one
# regex with the names in exactly that order and, in the oldest form, no quote allowed before a name.
# So the variant below keeps that order and leaves the values unquoted, which satisfies every version.
# Security Hub's CloudWatch.13 text has no eventSource, so it cannot satisfy Prowler on its own.
_PROWLER_ROUTE_TABLE_CHANGES = (
    "{($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = "
    "CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || "
    "($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = "
    "DisassociateRouteTable))}"
)
# Prowler's `cloudwatch_log_metric_filter_aws_organizations_changes` requires
#   $.eventSource = organizations.amazonaws.com  and 21 event names: the 18 of CIS 4.15 plus CancelHandshake,
#   CreateOrganization and EnableAllFeatures.
# Before 5.30 it was one ordered regex: source first, then AcceptHandshake, AttachPolicy, CancelHandshake,
# CreateAccount, CreateOrganization, CreateOrganizationalUnit, CreatePolicy, DeclineHandshake,
# DeleteOrganization, DeleteOrganizationalUnit, DeletePolicy, EnableAllFeatures, EnablePolicyType,
# InviteAccountToOrganization, LeaveOrganization, DetachPolicy, DisablePolicyType, MoveAccount,
# RemoveAccountFromOrganization, UpdateOrganizationalUnit, UpdatePolicy (an optional quote allowed before each
# value). The variant keeps that order. It is a superset of the CIS text, so on an event both match the
# metric counts 2, which still raises exactly one alarm.
_PROWLER_ORGANIZATIONS_CHANGES = (
    "{($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake) || ($.eventName = "
    "AttachPolicy) || ($.eventName = CancelHandshake) || ($.eventName = CreateAccount) || ($.eventName = "
    "CreateOrganization) || ($.eventName = CreateOrganizationalUnit) || ($.eventName = CreatePolicy) || "
    "($.eventName = DeclineHandshake) || ($.eventName = DeleteOrganization) || ($.eventName = "
    "DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || ($.eventName = EnableAllFeatures) || "
    "($.eventName = EnablePolicyType) || ($.eventName = InviteAccountToOrganization) || ($.eventName = "
    "LeaveOrganization) || ($.eventName = DetachPolicy) || ($.eventName = DisablePolicyType) || "
    "($.eventName = MoveAccount) || ($.eventName = RemoveAccountFromOrganization) || ($.eventName = "
    "UpdateOrganizationalUnit) || ($.eventName = UpdatePolicy))}"
)

_COMPLIANCE: tuple[Detection, ...] = (
    Detection(
        id="root-account-usage",
        title="Root user activity",
        description=(
            "The account's root user made a call that was not made on its behalf by an AWS service. Root "
            "has unrestricted access and cannot be limited by IAM policies; it should be used only for the "
            "few tasks that require it."
        ),
        severity="critical",
        pattern=_CIS_ROOT_USAGE,
        controls=("CloudWatch.1", "CIS 1.2.0 1.1", "CIS 1.2.0 3.3", "CIS 1.4.0 1.7", "CIS 1.4.0 4.3"),
        mitre_attack=("T1078.004",),
        runbook=(
            "Ask the account owner whether a planned root task is under way (billing, support plan, account "
            "closure).\nIf not: reset the root password, check root MFA devices and access keys "
            "(iam:GetAccountSummary AccountAccessKeysPresent), and review every root event since the first "
            "one in CloudTrail (sourceIPAddress, userAgent)."
        ),
        resolve_policy="manual",
        summary_template="Root user activity ({event_name}) " + _WHO,
    ),
    Detection(
        id="unauthorized-api-calls",
        title="Unauthorized API calls",
        description=(
            "Calls rejected with an UnauthorizedOperation or AccessDenied error. A burst usually means a "
            "broken deployment or a principal enumerating what its stolen credentials allow."
        ),
        severity="warning",
        pattern=_CIS_UNAUTHORIZED_API_CALLS,
        controls=("CloudWatch.2", "CIS 1.2.0 3.1", "CIS 1.4.0 4.1"),
        mitre_attack=("T1580", "T1526"),
        runbook=(
            "Group the failing calls by userIdentity.arn and eventSource (python -m detections match ... "
            "--summary on the period).\nOne principal failing across many services with read calls is "
            "enumeration: check where its credentials are used (sourceIPAddress, userAgent) and rotate "
            "them. A single failing call repeated is usually a misconfigured workload."
        ),
        # Rate-type: the alarm returns to OK when the failures stop, which is what the page is about.
        resolve_policy="resolve_on_ok",
        summary_template="{count} unauthorized API call(s), e.g. {event_name} by {principal} from "
        "{source_ip} in account {account} ({region})",
    ),
    Detection(
        id="console-signin-without-mfa",
        title="Console sign-in without MFA",
        description="An IAM user signed in to the AWS Management Console successfully without MFA.",
        severity="error",
        pattern=_CIS_CONSOLE_SIGNIN_NO_MFA,
        controls=("CloudWatch.3", "CIS 1.2.0 3.2", "CIS 1.4.0 4.2"),
        mitre_attack=("T1078.004",),
        runbook=(
            "Confirm with the user that the sign-in was theirs (sourceIPAddress, userAgent, time).\nIf not, "
            "disable the login profile and access keys, and review the session's actions. Either way, "
            "enforce an MFA device for the user."
        ),
        resolve_policy="manual",
        summary_template="Console sign-in without MFA " + _WHO,
    ),
    Detection(
        id="iam-policy-changes",
        title="IAM policy changed",
        description="An IAM policy was created, changed, deleted, attached or detached.",
        severity="warning",
        pattern=_CIS_IAM_POLICY_CHANGES,
        controls=("CloudWatch.4", "CIS 1.2.0 3.4", "CIS 1.4.0 4.4"),
        mitre_attack=("T1098", "T1098.003"),
        runbook=(
            "Check whether the change came from the deployment pipeline (userIdentity.arn is the deploy "
            "role, userAgent is CloudFormation).\nIf a person made it: read requestParameters "
            "(policyArn/policyDocument) for broad grants such as Action '*' or iam:PassRole, and who it was "
            "attached to."
        ),
        resolve_policy="manual",
        summary_template="IAM policy change ({event_name}) " + _WHO,
    ),
    Detection(
        id="cloudtrail-configuration-changes",
        title="CloudTrail configuration changed",
        description="A trail was created, updated or deleted, or its logging started or stopped.",
        severity="error",
        pattern=_CIS_CLOUDTRAIL_CHANGES,
        controls=("CloudWatch.5", "CIS 1.2.0 3.5", "CIS 1.4.0 4.5"),
        mitre_attack=("T1562.008",),
        runbook=(
            "StopLogging or DeleteTrail on the baseline trail means the account is going blind: restart "
            "logging (aws cloudtrail start-logging) at once, then investigate the principal.\nFor "
            "UpdateTrail, compare requestParameters with the deployed configuration (S3 bucket, KMS key, "
            "log group, multi-region)."
        ),
        resolve_policy="manual",
        summary_template="CloudTrail change ({event_name}) " + _WHO,
    ),
    Detection(
        id="console-authentication-failures",
        title="Console authentication failures",
        description="Failed console sign-ins with a wrong password (a burst suggests password guessing).",
        severity="warning",
        pattern=_CIS_CONSOLE_AUTH_FAILURES,
        controls=("CloudWatch.6", "CIS 1.2.0 3.6", "CIS 1.4.0 4.6"),
        mitre_attack=("T1110", "T1110.003"),
        runbook=(
            "Group the failures by userIdentity.userName and sourceIPAddress.\nMany users from one IP is "
            "password spraying: block the IP where possible and check for a success from it. Many failures "
            "on one user: contact the user and check MFA is enabled."
        ),
        # Rate-type: the incident is the ongoing burst; it resolves when the failures stop.
        resolve_policy="resolve_on_ok",
        summary_template="{count} failed console sign-in(s), e.g. {principal} from {source_ip} "
        "in account {account} ({region})",
    ),
    Detection(
        id="kms-cmk-disabled-or-scheduled-for-deletion",
        title="KMS key disabled or scheduled for deletion",
        description=(
            "A customer managed KMS key was disabled or scheduled for deletion; data encrypted under it "
            "becomes unreadable (also a ransom technique)."
        ),
        severity="error",
        pattern=_CIS_CMK_DISABLE_OR_DELETION,
        controls=("CloudWatch.7", "CIS 1.2.0 3.7", "CIS 1.4.0 4.7"),
        mitre_attack=("T1485", "T1486"),
        runbook=(
            "Identify the key (requestParameters.keyId) and what it encrypts (trail logs, buckets, "
            "databases).\nIf unplanned: aws kms cancel-key-deletion / enable-key while the waiting period "
            "runs, then investigate the principal."
        ),
        resolve_policy="manual",
        summary_template="KMS key {event_name} " + _WHO,
    ),
    Detection(
        id="s3-bucket-policy-changes",
        title="S3 bucket policy or ACL changed",
        description="A bucket's policy, ACL, CORS, lifecycle or replication configuration was changed.",
        severity="warning",
        pattern=_CIS_S3_BUCKET_POLICY_CHANGES,
        controls=("CloudWatch.8", "CIS 1.2.0 3.8", "CIS 1.4.0 4.8"),
        mitre_attack=("T1530", "T1537"),
        runbook=(
            "Read requestParameters.bucketName and the new policy/ACL: look for Principal '*', grants to "
            "AllUsers/AuthenticatedUsers, other accounts, or replication to a bucket outside the "
            "organization.\nRevert with the previous policy if it was not a planned change."
        ),
        resolve_policy="manual",
        summary_template="S3 bucket configuration change ({event_name}) " + _WHO,
    ),
    Detection(
        id="aws-config-changes",
        title="AWS Config recording changed",
        description="The AWS Config recorder was stopped or changed, or a delivery channel changed or "
        "deleted.",
        severity="error",
        pattern=_CIS_CONFIG_CHANGES,
        controls=("CloudWatch.9", "CIS 1.2.0 3.9", "CIS 1.4.0 4.9"),
        mitre_attack=("T1562.001", "T1562.008"),
        runbook=(
            "Check the recorder status (aws configservice describe-configuration-recorder-status).\nIf it "
            "is stopped and that was not planned, start it again and review what changed in the account "
            "while it was off."
        ),
        resolve_policy="manual",
        summary_template="AWS Config change ({event_name}) " + _WHO,
    ),
    Detection(
        id="security-group-changes",
        title="Security group changed",
        description="A security group was created or deleted, or an ingress/egress rule added or removed.",
        severity="warning",
        pattern=_CIS_SECURITY_GROUP_CHANGES,
        controls=("CloudWatch.10", "CIS 1.2.0 3.10", "CIS 1.4.0 4.10"),
        mitre_attack=("T1562.007",),
        runbook=(
            "Read requestParameters.ipPermissions: a rule from 0.0.0.0/0 or ::/0 to an admin port (22, "
            "3389, databases) is the urgent case.\nRevoke it if the change was not planned."
        ),
        resolve_policy="manual",
        summary_template="Security group change ({event_name}) " + _WHO,
    ),
    Detection(
        id="network-acl-changes",
        title="Network ACL changed",
        description="A network ACL or one of its entries was created, replaced or deleted.",
        severity="warning",
        pattern=_CIS_NACL_CHANGES,
        controls=("CloudWatch.11", "CIS 1.2.0 3.11", "CIS 1.4.0 4.11"),
        mitre_attack=("T1562.007",),
        runbook=(
            "Read requestParameters (cidrBlock, ruleAction, portRange, egress): an allow rule from "
            "0.0.0.0/0 is the urgent case.\nCompare with the network's infrastructure code and revert drift."
        ),
        resolve_policy="manual",
        summary_template="Network ACL change ({event_name}) " + _WHO,
    ),
    Detection(
        id="network-gateway-changes",
        title="Network gateway changed",
        description="A customer or internet gateway was created, deleted, attached or detached.",
        severity="warning",
        pattern=_CIS_NETWORK_GATEWAY_CHANGES,
        controls=("CloudWatch.12", "CIS 1.2.0 3.12", "CIS 1.4.0 4.12"),
        mitre_attack=("T1599",),
        runbook=(
            "An internet gateway attached to a private VPC opens a path out of it: check "
            "requestParameters.vpcId and whether the VPC is meant to be private.\nDetach it if the change "
            "was not planned."
        ),
        resolve_policy="manual",
        summary_template="Network gateway change ({event_name}) " + _WHO,
    ),
    Detection(
        id="route-table-changes",
        title="Route table changed",
        description="A route or route table was created, replaced, deleted or (dis)associated.",
        severity="warning",
        pattern=_CIS_ROUTE_TABLE_CHANGES,
        controls=("CloudWatch.13", "CIS 1.2.0 3.13", "CIS 1.4.0 4.13"),
        mitre_attack=("T1599",),
        runbook=(
            "Check requestParameters (destinationCidrBlock, gatewayId, instanceId): a default route to a "
            "new gateway or instance can redirect traffic.\nCompare with the infrastructure code."
        ),
        resolve_policy="manual",
        summary_template="Route table change ({event_name}) " + _WHO,
        additional_patterns=(_PROWLER_ROUTE_TABLE_CHANGES,),
    ),
    Detection(
        id="vpc-changes",
        title="VPC changed",
        description="A VPC was created, deleted or modified, or a peering/ClassicLink connection changed.",
        severity="warning",
        pattern=_CIS_VPC_CHANGES,
        controls=("CloudWatch.14", "CIS 1.2.0 3.14", "CIS 1.4.0 4.14"),
        mitre_attack=("T1599",),
        runbook=(
            "A peering connection to an account outside the organization is the urgent case: check "
            "requestParameters.peerOwnerId.\nCompare other changes with the infrastructure code."
        ),
        resolve_policy="manual",
        summary_template="VPC change ({event_name}) " + _WHO,
    ),
    Detection(
        id="organizations-changes",
        title="AWS Organizations changed",
        description=(
            "The organization's structure, accounts or policies (SCPs) changed, or an account left it "
            "(leaving removes the organization's guardrails from that account)."
        ),
        severity="error",
        pattern=_CIS_ORGANIZATIONS_CHANGES,
        controls=("CIS 1.4.0 4.15",),
        mitre_attack=("T1666",),
        runbook=(
            "LeaveOrganization, RemoveAccountFromOrganization, DetachPolicy of an SCP and "
            "DeleteOrganization are the urgent cases.\nCheck the principal is an organization administrator "
            "acting on a change request."
        ),
        resolve_policy="manual",
        summary_template="AWS Organizations change ({event_name}) " + _WHO,
        additional_patterns=(_PROWLER_ORGANIZATIONS_CHANGES,),
    ),
)

# --------------------------------------------------------------------------------------------------------
# Beyond CIS. Each description names what it catches (Stratus Red Team technique or documented threat).
# --------------------------------------------------------------------------------------------------------

_BEYOND_CIS: tuple[Detection, ...] = (
    Detection(
        id="root-console-login",
        title="Root user console sign-in",
        description=(
            "The root user signed in to the console successfully. Catches the compromised-root-credentials "
            "scenario directly, with its own runbook, even where root-account-usage is suppressed for a "
            "planned task."
        ),
        severity="critical",
        pattern=(
            '{($.eventName = ConsoleLogin) && ($.userIdentity.type = "Root") && '
            '($.responseElements.ConsoleLogin = "Success")}'
        ),
        controls=(),
        mitre_attack=("T1078.004",),
        runbook=(
            "Call the root credential owner now. If nobody signed in: reset the root password, re-register "
            "MFA, delete any root access keys, then review every root event after this sign-in."
        ),
        resolve_policy="manual",
        summary_template="Root user console sign-in from {source_ip} in account {account} ({region})",
    ),
    Detection(
        id="guardduty-disabled",
        title="GuardDuty disabled or blinded",
        description=(
            "GuardDuty's detector was deleted or suspended, the account left its administrator, findings "
            "export was removed, an auto-archive filter was created, or a trusted IP list was set (findings "
            "from listed IPs are no longer generated). Documented defense-evasion step of cloud intrusions."
        ),
        severity="critical",
        pattern=(
            '{($.eventSource = "guardduty.amazonaws.com") && ($.errorCode NOT EXISTS) && (($.eventName = '
            "DeleteDetector) || (($.eventName = UpdateDetector) && ($.requestParameters.enable IS FALSE)) "
            "|| ($.eventName = DisassociateFromMasterAccount) || ($.eventName = "
            "DisassociateFromAdministratorAccount) || ($.eventName = DeletePublishingDestination) || "
            "($.eventName = StopMonitoringMembers) || (($.eventName = CreateFilter) && "
            '($.requestParameters.action = "ARCHIVE")) || ($.eventName = CreateIPSet) || ($.eventName = '
            "UpdateIPSet))}"
        ),
        controls=(),
        mitre_attack=("T1562.001",),
        runbook=(
            "Check the detector (aws guardduty list-detectors / get-detector) and re-enable it.\nFor "
            "CreateFilter/CreateIPSet read requestParameters: an archive filter or trusted IP list covering "
            "broad ranges hides findings. Then review the principal's other actions."
        ),
        resolve_policy="manual",
        summary_template="GuardDuty impaired ({event_name}) " + _WHO,
    ),
    Detection(
        id="securityhub-disabled",
        title="Security Hub disabled or standards turned off",
        description=(
            "Security Hub was disabled, left its administrator, had standards or controls disabled or "
            "members removed: the findings aggregation the security team relies on goes quiet."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "securityhub.amazonaws.com") && ($.errorCode NOT EXISTS) && (($.eventName = '
            "DisableSecurityHub) || ($.eventName = BatchDisableStandards) || ($.eventName = "
            "DisassociateFromMasterAccount) || ($.eventName = DisassociateFromAdministratorAccount) || "
            "($.eventName = DeleteMembers) || (($.eventName = UpdateStandardsControl) && "
            '($.requestParameters.ControlStatus = "DISABLED")))}'
        ),
        controls=(),
        mitre_attack=("T1562.001",),
        runbook=(
            "Check Security Hub status in the region (aws securityhub describe-hub, get-enabled-standards) "
            "and re-enable what was turned off.\nA disabled control needs a written reason "
            "(requestParameters.DisabledReason)."
        ),
        resolve_policy="manual",
        summary_template="Security Hub impaired ({event_name}) " + _WHO,
    ),
    Detection(
        id="config-recorder-or-rules-deleted",
        title="AWS Config recorder or rules deleted",
        description=(
            "The Config recorder, rules, conformance packs or aggregator were deleted. CloudWatch.9 covers "
            "stopping the recorder, not deleting it or the rules that evaluate compliance."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "config.amazonaws.com") && ($.errorCode NOT EXISTS) && (($.eventName = '
            "DeleteConfigurationRecorder) || ($.eventName = DeleteConfigRule) || ($.eventName = "
            "DeleteConformancePack) || ($.eventName = DeleteOrganizationConfigRule) || ($.eventName = "
            "DeleteOrganizationConformancePack) || ($.eventName = DeleteConfigurationAggregator))}"
        ),
        controls=(),
        mitre_attack=("T1562.001",),
        runbook=(
            "Check what was deleted (requestParameters) and whether a deployment removed it on "
            "purpose.\nRestore the recorder/rules from infrastructure code."
        ),
        resolve_policy="manual",
        summary_template="AWS Config deletion ({event_name}) " + _WHO,
    ),
    Detection(
        id="access-analyzer-removed",
        title="IAM Access Analyzer deleted or findings auto-archived",
        description=(
            "An IAM Access Analyzer was deleted, or an archive rule was created or changed (archive rules "
            "silently hide future findings about resources shared outside the account)."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "access-analyzer.amazonaws.com") && ($.errorCode NOT EXISTS) && '
            "(($.eventName = DeleteAnalyzer) || ($.eventName = CreateArchiveRule) || ($.eventName = "
            "UpdateArchiveRule))}"
        ),
        controls=(),
        mitre_attack=("T1562.001",),
        runbook=(
            "List analyzers and archive rules (aws accessanalyzer list-analyzers / list-archive-rules).\nAn "
            "archive rule with broad filters (any principal, any resource) hides external sharing: delete "
            "it and review archived findings."
        ),
        resolve_policy="manual",
        summary_template="Access Analyzer change ({event_name}) " + _WHO,
    ),
    Detection(
        id="cloudtrail-event-selectors-changed",
        title="CloudTrail event selectors or event data store changed",
        description=(
            "A trail's event selectors were replaced (e.g. management events excluded) or a CloudTrail Lake "
            "event data store was stopped, changed or deleted: logging continues but records less. Catches "
            "Stratus aws.defense-evasion.cloudtrail-event-selectors; not in CIS 4.5's list."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "cloudtrail.amazonaws.com") && ($.errorCode NOT EXISTS) && (($.eventName = '
            "PutEventSelectors) || ($.eventName = DeleteEventDataStore) || ($.eventName = "
            "StopEventDataStoreIngestion) || ($.eventName = UpdateEventDataStore))}"
        ),
        controls=(),
        mitre_attack=("T1562.008",),
        runbook=(
            "Read requestParameters.eventSelectors/advancedEventSelectors: includeManagementEvents false or "
            "readWriteType ReadOnly on the baseline trail disables these detections.\nRestore the deployed "
            "selectors (redeploy the trail stack)."
        ),
        resolve_policy="manual",
        summary_template="CloudTrail selectors change ({event_name}) " + _WHO,
    ),
    Detection(
        id="log-group-or-metric-filter-deleted",
        title="CloudWatch Logs group, stream, metric or subscription filter deleted",
        description=(
            "A log group or stream, a metric filter or a subscription filter was deleted. On the trail's "
            "log group this removes the evidence and these very detections (indicator removal)."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "logs.amazonaws.com") && ($.errorCode NOT EXISTS) && (($.eventName = '
            "DeleteLogGroup) || ($.eventName = DeleteLogStream) || ($.eventName = DeleteMetricFilter) || "
            "($.eventName = DeleteSubscriptionFilter))}"
        ),
        controls=(),
        mitre_attack=("T1562.008", "T1070"),
        runbook=(
            "Check requestParameters.logGroupName: if it is the trail's log group, treat as critical and "
            "redeploy the alerting stack.\nOther groups: confirm with the owner (stack teardown is the "
            "common benign cause)."
        ),
        resolve_policy="manual",
        summary_template="CloudWatch Logs deletion ({event_name}) " + _WHO,
    ),
    Detection(
        id="network-logging-deleted",
        title="VPC flow logs or DNS query logging deleted",
        description=(
            "VPC flow logs or a Route 53 Resolver query logging configuration were deleted or detached. "
            "Catches Stratus aws.defense-evasion.vpc-remove-flow-logs and "
            "aws.defense-evasion.dns-delete-logs."
        ),
        severity="error",
        pattern=(
            '{($.errorCode NOT EXISTS) && ((($.eventSource = "ec2.amazonaws.com") && ($.eventName = '
            'DeleteFlowLogs)) || (($.eventSource = "route53resolver.amazonaws.com") && (($.eventName = '
            "DeleteResolverQueryLogConfig) || ($.eventName = DisassociateResolverQueryLogConfig))))}"
        ),
        controls=(),
        mitre_attack=("T1562.008",),
        runbook=(
            "Identify the VPC/flow log (requestParameters) and recreate the logging from infrastructure "
            "code.\nReview the principal's actions around the deletion: network logging is removed before "
            "exfiltration."
        ),
        resolve_policy="manual",
        summary_template="Network logging deleted ({event_name}) " + _WHO,
    ),
    Detection(
        id="s3-block-public-access-removed",
        title="S3 Block Public Access removed or weakened",
        description=(
            "Account- or bucket-level S3 Block Public Access was deleted, or set with any of its four "
            "settings false: the last guard against a public bucket policy or ACL."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "s3.amazonaws.com") && ($.errorCode NOT EXISTS) && (($.eventName = '
            "DeleteBucketPublicAccessBlock) || ($.eventName = DeleteAccountPublicAccessBlock) || "
            "((($.eventName = PutBucketPublicAccessBlock) || ($.eventName = PutAccountPublicAccessBlock)) "
            "&& (($.requestParameters.PublicAccessBlockConfiguration.BlockPublicAcls IS FALSE) || "
            "($.requestParameters.PublicAccessBlockConfiguration.IgnorePublicAcls IS FALSE) || "
            "($.requestParameters.PublicAccessBlockConfiguration.BlockPublicPolicy IS FALSE) || "
            "($.requestParameters.PublicAccessBlockConfiguration.RestrictPublicBuckets IS FALSE))))}"
        ),
        controls=(),
        mitre_attack=("T1530",),
        runbook=(
            "Restore Block Public Access (aws s3control put-public-access-block for the account, s3api "
            "put-public-access-block for requestParameters.bucketName).\nThen check the bucket's policy and "
            "ACL for public grants made after the change."
        ),
        resolve_policy="manual",
        summary_template="S3 Block Public Access weakened ({event_name}) " + _WHO,
    ),
    Detection(
        id="kms-key-policy-changed",
        title="KMS key policy changed",
        description=(
            "A KMS key policy was replaced. A policy granting another account, or removing the owner's "
            "access, enables exfiltration of encrypted data or a ransom lock-out."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "kms.amazonaws.com") && ($.eventName = PutKeyPolicy) && ($.errorCode NOT '
            "EXISTS)}"
        ),
        controls=(),
        mitre_attack=("T1486", "T1537"),
        runbook=(
            "Read requestParameters.policy: look for principals outside the organization and for the "
            "account root losing kms:* (lock-out).\nRevert from infrastructure code if not planned."
        ),
        resolve_policy="manual",
        summary_template="KMS key policy changed " + _WHO,
    ),
    Detection(
        id="ec2-ami-shared",
        title="AMI shared or made public",
        description=(
            "An AMI's launch permission was granted to another account, an organization/OU or everyone "
            "(group all). Catches Stratus aws.exfiltration.ec2-share-ami."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "ec2.amazonaws.com") && ($.eventName = ModifyImageAttribute) && ($.errorCode '
            'NOT EXISTS) && (($.requestParameters.launchPermission.add.items[0].group = "all") || '
            "($.requestParameters.launchPermission.add.items[0].userId = *) || "
            "($.requestParameters.launchPermission.add.items[0].organizationArn = *) || "
            "($.requestParameters.launchPermission.add.items[0].organizationalUnitArn = *))}"
        ),
        controls=(),
        mitre_attack=("T1537",),
        runbook=(
            "Check requestParameters.imageId and the grantee. Unknown account or 'all': remove the launch "
            "permission (aws ec2 modify-image-attribute --launch-permission Remove=...) and assume the "
            "image's data (disks, baked secrets) is copied."
        ),
        resolve_policy="manual",
        summary_template="AMI shared outside the account " + _WHO,
    ),
    Detection(
        id="ebs-snapshot-shared",
        title="EBS snapshot shared or made public",
        description=(
            "An EBS snapshot's createVolumePermission was granted to another account or everyone. Catches "
            "Stratus aws.exfiltration.ec2-share-ebs-snapshot."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "ec2.amazonaws.com") && ($.eventName = ModifySnapshotAttribute) && '
            "($.errorCode NOT EXISTS) && (($.requestParameters.createVolumePermission.add.items[0].group = "
            '"all") || ($.requestParameters.createVolumePermission.add.items[0].userId = *))}'
        ),
        controls=(),
        mitre_attack=("T1537",),
        runbook=(
            "Check requestParameters.snapshotId and the grantee; remove the permission if unknown and treat "
            "the volume's data as copied."
        ),
        resolve_policy="manual",
        summary_template="EBS snapshot shared outside the account " + _WHO,
    ),
    Detection(
        id="rds-snapshot-shared",
        title="RDS snapshot shared or made public",
        description=(
            "An RDS DB or cluster snapshot's restore attribute was granted to another account or 'all'. "
            "Catches Stratus aws.exfiltration.rds-share-snapshot."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "rds.amazonaws.com") && (($.eventName = ModifyDBSnapshotAttribute) || '
            "($.eventName = ModifyDBClusterSnapshotAttribute)) && ($.errorCode NOT EXISTS) && "
            '($.requestParameters.attributeName = "restore") && ($.requestParameters.valuesToAdd[0] = *)}'
        ),
        controls=(),
        mitre_attack=("T1537",),
        runbook=(
            "Check the snapshot identifier and requestParameters.valuesToAdd; remove unknown accounts (aws "
            "rds modify-db-snapshot-attribute --values-to-remove) and treat the database as copied."
        ),
        resolve_policy="manual",
        summary_template="RDS snapshot shared outside the account " + _WHO,
    ),
    Detection(
        id="access-key-created-for-user-or-root",
        title="Access key created for a named user or for root",
        description=(
            "An access key was created naming a user (requestParameters.userName: someone minting long-term "
            "credentials for a user, the classic backdoor) or by the root user. Catches Stratus "
            "aws.persistence.iam-backdoor-user and iam-create-admin-user. A filter pattern cannot compare "
            "the caller with the target, so a user naming themselves also matches."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "iam.amazonaws.com") && ($.eventName = CreateAccessKey) && ($.errorCode NOT '
            'EXISTS) && (($.requestParameters.userName = *) || ($.userIdentity.type = "Root"))}'
        ),
        controls=(),
        mitre_attack=("T1098.001",),
        runbook=(
            "Compare userIdentity with requestParameters.userName. If someone created a key for another "
            "user, or root created one, deactivate the key (responseElements.accessKey.accessKeyId) unless "
            "the owner confirms, then review the caller."
        ),
        resolve_policy="manual",
        summary_template="Access key created for another user or root " + _WHO,
    ),
    Detection(
        id="lambda-function-made-public",
        title="Lambda function made publicly invocable",
        description=(
            "A Lambda resource policy granted invoke to principal '*', or a function URL was created or "
            "changed with AuthType NONE. Catches Stratus aws.persistence.lambda-backdoor-function. Uses the "
            "catalogue's only regular expression (principal exactly '*': '= \"*\"' would be a wildcard)."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "lambda.amazonaws.com") && ($.errorCode NOT EXISTS) && ((($.eventName = '
            "AddPermission*) && ($.requestParameters.principal = %^\\*$%)) || ((($.eventName = "
            "CreateFunctionUrlConfig*) || ($.eventName = UpdateFunctionUrlConfig*)) && "
            '($.requestParameters.authType = "NONE")))}'
        ),
        controls=(),
        mitre_attack=("T1648", "T1098"),
        runbook=(
            "Read the function's policy (aws lambda get-policy) and URL config; remove the public statement "
            "or set AuthType AWS_IAM unless the function is meant to be public.\nCheck the function's code "
            "for recent changes by the same principal."
        ),
        resolve_policy="manual",
        summary_template="Lambda function made public ({event_name}) " + _WHO,
    ),
    Detection(
        id="lambda-layer-attached",
        title="Lambda layer attached to a function",
        description=(
            "A function's configuration was updated with layers: a layer can carry an extension that sees "
            "every invocation. Catches Stratus aws.persistence.lambda-layer-extension."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "lambda.amazonaws.com") && ($.eventName = UpdateFunctionConfiguration*) && '
            "($.errorCode NOT EXISTS) && ($.requestParameters.layers[0] = *)}"
        ),
        controls=(),
        mitre_attack=("T1525", "T1648"),
        runbook=(
            "Check requestParameters.layers: a layer from another account, or not built by your pipeline, "
            "is suspect. Inspect it (aws lambda get-layer-version) and roll the function back."
        ),
        resolve_policy="manual",
        summary_template="Lambda layer attached " + _WHO,
    ),
    Detection(
        id="iam-role-trust-policy-changed",
        title="IAM role trust policy changed",
        description=(
            "A role's trust (assume-role) policy was replaced, e.g. to let an external account assume it. "
            "Catches Stratus aws.persistence.iam-backdoor-role; not in CIS 4.4's list."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "iam.amazonaws.com") && ($.eventName = UpdateAssumeRolePolicy) && '
            "($.errorCode NOT EXISTS)}"
        ),
        controls=(),
        mitre_attack=("T1098", "T1098.003"),
        runbook=(
            "Read requestParameters.policyDocument for principals outside the organization or '*'.\nRevert "
            "from infrastructure code if unplanned and check whether the new principal already assumed the "
            "role (AssumeRole events on requestParameters.roleName)."
        ),
        resolve_policy="manual",
        summary_template="Role trust policy changed " + _WHO,
    ),
    Detection(
        id="iam-login-profile-changed",
        title="Console password created or reset for an IAM user",
        description=(
            "A console login profile was created or its password changed by an administrator call. Catches "
            "Stratus aws.persistence.iam-create-user-login-profile and "
            "aws.privilege-escalation.iam-update-user-login-profile."
        ),
        severity="error",
        pattern=(
            '{($.eventSource = "iam.amazonaws.com") && (($.eventName = CreateLoginProfile) || ($.eventName '
            "= UpdateLoginProfile)) && ($.errorCode NOT EXISTS)}"
        ),
        controls=(),
        mitre_attack=("T1098.001",),
        runbook=(
            "Confirm with the user named in requestParameters.userName. If unexpected: delete the login "
            "profile, and review the caller (password resets let an attacker sign in as another user)."
        ),
        resolve_policy="manual",
        summary_template="Console password set for a user ({event_name}) " + _WHO,
    ),
    Detection(
        id="identity-provider-or-trust-anchor-changed",
        title="Identity provider or Roles Anywhere trust anchor added or changed",
        description=(
            "A SAML/OIDC identity provider or an IAM Roles Anywhere trust anchor was created or changed: an "
            "outside identity source can then obtain role credentials. Catches Stratus "
            "aws.persistence.rolesanywhere-create-trust-anchor."
        ),
        severity="error",
        pattern=(
            '{($.errorCode NOT EXISTS) && ((($.eventSource = "iam.amazonaws.com") && (($.eventName = '
            "CreateSAMLProvider) || ($.eventName = UpdateSAMLProvider) || ($.eventName = "
            "CreateOpenIDConnectProvider) || ($.eventName = AddClientIDToOpenIDConnectProvider) || "
            "($.eventName = UpdateOpenIDConnectProviderThumbprint))) || (($.eventSource = "
            '"rolesanywhere.amazonaws.com") && (($.eventName = CreateTrustAnchor) || ($.eventName = '
            "UpdateTrustAnchor))))}"
        ),
        controls=(),
        mitre_attack=("T1484.002", "T1098.001"),
        runbook=(
            "Identify the provider/anchor (requestParameters) and who manages it. Unknown: delete it and "
            "look for AssumeRoleWithSAML/AssumeRoleWithWebIdentity/CreateSession through it."
        ),
        resolve_policy="manual",
        summary_template="Identity trust changed ({event_name}) " + _WHO,
    ),
    Detection(
        id="sts-federation-token-issued",
        title="Federation token issued to an IAM user",
        description=(
            "GetFederationToken issued temporary credentials that survive deletion of the user's access "
            "key. Catches Stratus aws.persistence.sts-federation-token; rare in modern setups."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "sts.amazonaws.com") && ($.eventName = GetFederationToken) && ($.errorCode '
            "NOT EXISTS)}"
        ),
        controls=(),
        mitre_attack=("T1550.001", "T1078.004"),
        runbook=(
            "Check the calling user and requestParameters.policy. Unexpected: deny the user "
            "sts:GetFederationToken, and revoke by attaching a deny policy with aws:TokenIssueTime "
            "condition."
        ),
        resolve_policy="manual",
        summary_template="Federation token issued " + _WHO,
    ),
    Detection(
        id="ec2-serial-console-access",
        title="EC2 serial console access enabled or used",
        description=(
            "Serial console access was enabled for the account, or an SSH key was pushed to an instance's "
            "serial console: interactive access that bypasses network controls. Catches Stratus "
            "aws.lateral-movement.ec2-serial-console-send-ssh-public-key."
        ),
        severity="error",
        pattern=(
            '{($.errorCode NOT EXISTS) && ((($.eventSource = "ec2.amazonaws.com") && ($.eventName = '
            'EnableSerialConsoleAccess)) || (($.eventSource = "ec2-instance-connect.amazonaws.com") && '
            "($.eventName = SendSerialConsoleSSHPublicKey)))}"
        ),
        controls=(),
        mitre_attack=("T1021",),
        runbook=(
            "Confirm with the instance owner (requestParameters.instanceId). If unexpected: disable serial "
            "console access (aws ec2 disable-serial-console-access) and investigate the instance."
        ),
        resolve_policy="manual",
        summary_template="EC2 serial console ({event_name}) " + _WHO,
    ),
    Detection(
        id="ec2-user-data-modified",
        title="EC2 instance user data modified",
        description=(
            "An instance's user data was replaced; it runs as root at the next boot. Catches Stratus "
            "aws.execution.ec2-user-data."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "ec2.amazonaws.com") && ($.eventName = ModifyInstanceAttribute) && '
            "($.errorCode NOT EXISTS) && ($.requestParameters.userData = *)}"
        ),
        controls=(),
        mitre_attack=("T1059", "T1525"),
        runbook=(
            "Read the instance's user data (aws ec2 describe-instance-attribute --attribute userData) and "
            "compare with the launch template; a Stop/Start around the change is the execution step."
        ),
        resolve_policy="manual",
        summary_template="EC2 user data modified " + _WHO,
    ),
    Detection(
        id="secrets-batch-retrieved",
        title="Secrets retrieved in bulk",
        description=(
            "BatchGetSecretValue returned several secrets in one call: mass credential theft. Catches "
            "Stratus aws.credential-access.secretsmanager-batch-retrieve-secrets."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "secretsmanager.amazonaws.com") && ($.eventName = BatchGetSecretValue) && '
            "($.errorCode NOT EXISTS)}"
        ),
        controls=(),
        mitre_attack=("T1555.006",),
        runbook=(
            "Check the caller and requestParameters (secretIdList/filters). Unexpected: rotate every "
            "returned secret and review the caller's other activity."
        ),
        resolve_policy="manual",
        summary_template="Secrets retrieved in bulk " + _WHO,
    ),
    Detection(
        id="secret-scheduled-for-deletion",
        title="Secrets Manager secret scheduled for deletion",
        description=(
            "A secret was scheduled for deletion (or force-deleted): an impact action, and a way to break "
            "workloads that depend on it."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "secretsmanager.amazonaws.com") && ($.eventName = DeleteSecret) && '
            "($.errorCode NOT EXISTS)}"
        ),
        controls=(),
        mitre_attack=("T1485",),
        runbook=(
            "Check requestParameters.secretId and forceDeleteWithoutRecovery. Within the recovery window: "
            "aws secretsmanager restore-secret if unplanned."
        ),
        resolve_policy="manual",
        summary_template="Secret scheduled for deletion " + _WHO,
    ),
    Detection(
        id="bedrock-model-access-enabled",
        title="Bedrock model access enabled",
        description=(
            "Access to a Bedrock foundation model was requested or an agreement accepted: the first step of "
            "LLMjacking (stolen keys used to resell model access). Catches Stratus "
            "aws.impact.bedrock-invoke-model."
        ),
        severity="warning",
        pattern=(
            '{($.eventSource = "bedrock.amazonaws.com") && ($.errorCode NOT EXISTS) && (($.eventName = '
            "PutUseCaseForModelAccess) || ($.eventName = PutFoundationModelEntitlement) || ($.eventName = "
            "CreateFoundationModelAgreement))}"
        ),
        controls=(),
        mitre_attack=("T1496.004",),
        runbook=(
            "Ask whether a team requested model access. If not, the caller's credentials are likely stolen: "
            "disable them and check Bedrock InvokeModel volume and cost."
        ),
        resolve_policy="manual",
        summary_template="Bedrock model access enabled ({event_name}) " + _WHO,
    ),
    Detection(
        id="ssm-shell-command-sent",
        title="Shell command sent to instances through SSM",
        description=(
            "SSM Run Command sent an arbitrary shell script (AWS-RunShellScript / AWS-RunPowerShellScript). "
            "Legitimate for admins; used by attackers to run code and steal instance credentials. Catches "
            "Stratus aws.execution.ssm-send-command and "
            "aws.credential-access.ec2-steal-instance-credentials."
        ),
        severity="info",
        pattern=(
            '{($.eventSource = "ssm.amazonaws.com") && ($.eventName = SendCommand) && ($.errorCode NOT '
            'EXISTS) && (($.requestParameters.documentName = "AWS-RunShellScript") || '
            '($.requestParameters.documentName = "AWS-RunPowerShellScript"))}'
        ),
        controls=(),
        mitre_attack=("T1651",),
        runbook=(
            "Check the caller and the instances (requestParameters.instanceIds). Read the command output "
            "(aws ssm get-command-invocation); curl to the metadata service (169.254.169.254) means "
            "credential theft."
        ),
        resolve_policy="manual",
        summary_template="Shell command sent via SSM " + _WHO,
    ),
)

CATALOGUE: tuple[Detection, ...] = _COMPLIANCE + _BEYOND_CIS


def get_detection(detection_id: str) -> Detection:
    """Return the detection with this id; KeyError naming the known ids otherwise."""
    for detection in CATALOGUE:
        if detection.id == detection_id:
            return detection
    known = ", ".join(d.id for d in CATALOGUE)
    raise KeyError(f"Unknown detection id {detection_id!r}. Known ids: {known}")
