"""Prowler's CIS CloudWatch checks, encoded once: the regexes its checks apply to a metric filter's pattern.

A Prowler ``cloudwatch_log_metric_filter_*`` / ``cloudwatch_changes_to_*`` check passes when a filter on a
trail's log group has a pattern matching a regex of REQUIRED CLAUSES, plus an alarm whose metric name equals
the filter's. Current releases build the regex from per-clause lookaheads, so clause order does not matter
(prowler-cloud/prowler: prowler/providers/aws/services/cloudwatch/lib/metric_filters.py,
build_metric_filter_pattern and check_cloudwatch_log_metric_filter); the clause lists come from each check's
prowler/providers/aws/services/cloudwatch/<check>/<check>.py. Root usage and unauthorized API calls keep
sequential regexes there. Releases before 5.30 used one ordered regex per check (``ordered_regex``).
"""

from __future__ import annotations

import re

ROUTE_TABLE_EVENT_NAMES = (
    "CreateRoute",
    "CreateRouteTable",
    "ReplaceRoute",
    "ReplaceRouteTableAssociation",
    "DeleteRouteTable",
    "DeleteRoute",
    "DisassociateRouteTable",
)

ORGANIZATIONS_EVENT_NAMES = (
    "AcceptHandshake",
    "AttachPolicy",
    "CancelHandshake",
    "CreateAccount",
    "CreateOrganization",
    "CreateOrganizationalUnit",
    "CreatePolicy",
    "DeclineHandshake",
    "DeleteOrganization",
    "DeleteOrganizationalUnit",
    "DeletePolicy",
    "EnableAllFeatures",
    "EnablePolicyType",
    "InviteAccountToOrganization",
    "LeaveOrganization",
    "DetachPolicy",
    "DisablePolicyType",
    "MoveAccount",
    "RemoveAccountFromOrganization",
    "UpdateOrganizationalUnit",
    "UpdatePolicy",
)


def required_clauses(
    *,
    event_names: tuple[str, ...] = (),
    event_source: str | None = None,
    extra_clauses: tuple[tuple[str, str, str], ...] = (),
) -> str:
    """Our re-statement of Prowler's build_metric_filter_pattern: one lookahead per required clause.

    ``.?`` tolerates a quote before the value; ``\\b`` after an event name keeps CreateRoute from being
    satisfied by CreateRouteTable.
    """
    parts = []
    if event_source is not None:
        parts.append(rf"(?=.*\$\.eventSource\s*=\s*.?{re.escape(event_source)})")
    for name in event_names:
        parts.append(rf"(?=.*\$\.eventName\s*=\s*.?{re.escape(name)}\b)")
    for field, operator, value in extra_clauses:
        op = r"\s*!=\s*" if operator == "!=" else r"\s*=\s*"
        parts.append(rf"(?=.*\$\.{re.escape(field)}{op}.?{re.escape(value)})")
    return "".join(parts)


PROWLER_CHECKS: dict[str, str] = {
    # Sequential regexes (fixed clause order), as in Prowler's checks for these two controls.
    "cloudwatch_log_metric_filter_root_usage": (
        r"\$\.userIdentity\.type\s*=\s*.?Root.+\$\.userIdentity\.invokedBy NOT EXISTS"
        r".+\$\.eventType\s*!=\s*.?AwsServiceEvent.?"
    ),
    "cloudwatch_log_metric_filter_unauthorized_api_calls": (
        r"\$\.errorCode\s*=\s*.?\*UnauthorizedOperation.+\$\.errorCode\s*=\s*.?AccessDenied\*.?"
    ),
    "cloudwatch_log_metric_filter_sign_in_without_mfa": required_clauses(
        event_names=("ConsoleLogin",), extra_clauses=(("additionalEventData.MFAUsed", "!=", "Yes"),)
    ),
    "cloudwatch_log_metric_filter_policy_changes": required_clauses(
        event_names=(
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        )
    ),
    "cloudwatch_log_metric_filter_and_alarm_for_cloudtrail_configuration_changes_enabled": required_clauses(
        event_names=("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")
    ),
    "cloudwatch_log_metric_filter_authentication_failures": required_clauses(
        event_names=("ConsoleLogin",), extra_clauses=(("errorMessage", "=", "Failed authentication"),)
    ),
    "cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk": required_clauses(
        event_source="kms.amazonaws.com", event_names=("DisableKey", "ScheduleKeyDeletion")
    ),
    "cloudwatch_log_metric_filter_for_s3_bucket_policy_changes": required_clauses(
        event_source="s3.amazonaws.com",
        event_names=(
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ),
    ),
    "cloudwatch_log_metric_filter_and_alarm_for_aws_config_configuration_changes_enabled": required_clauses(
        event_source="config.amazonaws.com",
        event_names=(
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        ),
    ),
    "cloudwatch_log_metric_filter_security_group_changes": required_clauses(
        event_names=(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        )
    ),
    "cloudwatch_changes_to_network_acls_alarm_configured": required_clauses(
        event_names=(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        )
    ),
    "cloudwatch_changes_to_network_gateways_alarm_configured": required_clauses(
        event_names=(
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        )
    ),
    "cloudwatch_changes_to_network_route_tables_alarm_configured": required_clauses(
        event_source="ec2.amazonaws.com",
        event_names=ROUTE_TABLE_EVENT_NAMES,
    ),
    "cloudwatch_changes_to_vpcs_alarm_configured": required_clauses(
        event_names=(
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        )
    ),
    "cloudwatch_log_metric_filter_aws_organizations_changes": required_clauses(
        event_source="organizations.amazonaws.com",
        event_names=ORGANIZATIONS_EVENT_NAMES,
    ),
}


def ordered_regex(
    *, event_source: str | None, event_names: tuple[str, ...], quote_allowed: bool = True
) -> str:
    """Prowler before 5.30: one regex, clauses in a fixed order (the oldest form allowed no quote)."""
    optional_quote = ".?" if quote_allowed else ""
    parts = [rf"\$\.eventSource\s*=\s*{optional_quote}{re.escape(event_source)}"] if event_source else []
    parts += [rf"\$\.eventName\s*=\s*{optional_quote}{re.escape(name)}" for name in event_names]
    return ".+".join(parts)


def passes(regex: str, pattern: str) -> bool:
    """Whether a filter pattern satisfies a Prowler check's regex (as Prowler searches it)."""
    return re.search(regex, pattern, flags=re.DOTALL) is not None
