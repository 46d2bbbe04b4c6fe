"""Security Hub's CloudWatch.1-14 and CIS 1.4.0 4.15: the published filter pattern texts, pinned once.

Security Hub fails CloudWatch.1-14 "if the exact metric filters prescribed by CIS are not used. Additional
fields or terms cannot be added". Texts copied from the Security Hub user guide, "Amazon CloudWatch controls"
(awsdocs/aws-security-hub-user-guide: doc_source/cloudwatch-controls.md), remediation step "Filter Pattern"
of each control; 4.15 from CIS AWS Foundations Benchmark 1.4.0, "Ensure AWS Organizations changes are
monitored". Written here independently of detections/rules/, so a reformatted rule file fails the tests
that compare with these: the rules' own files are never the oracle.
"""

from __future__ import annotations

SECURITY_HUB_PATTERNS: dict[str, str] = {
    "CloudWatch.1": (
        '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}'  # noqa: E501 - verbatim CIS text
    ),
    "CloudWatch.2": '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
    "CloudWatch.3": (
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
    ),
    "CloudWatch.4": (
        "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || "  # noqa: E501 - verbatim CIS text
        "($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
        "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
        "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) "  # noqa: E501 - verbatim CIS text
        "|| ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) "  # noqa: E501 - verbatim CIS text
        "|| ($.eventName=DetachGroupPolicy)}"
    ),
    "CloudWatch.5": (
        "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || "
        "($.eventName=StartLogging) || ($.eventName=StopLogging)}"
    ),
    "CloudWatch.6": '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
    "CloudWatch.7": (
        "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"  # noqa: E501 - verbatim CIS text
    ),
    "CloudWatch.8": (
        "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || "  # noqa: E501 - verbatim CIS text
        "($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) "  # noqa: E501 - verbatim CIS text
        "|| ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || "
        "($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}"
    ),
    "CloudWatch.9": (
        "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || "
        "($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || "
        "($.eventName=PutConfigurationRecorder))}"
    ),
    "CloudWatch.10": (
        "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || "
        "($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || "
        "($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}"
    ),
    "CloudWatch.11": (
        "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) "  # noqa: E501 - verbatim CIS text
        "|| ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || "
        "($.eventName=ReplaceNetworkAclAssociation)}"
    ),
    "CloudWatch.12": (
        "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || "
        "($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || "
        "($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}"
    ),
    "CloudWatch.13": (
        "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || "
        "($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || "
        "($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}"
    ),
    "CloudWatch.14": (
        "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || "
        "($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || "
        "($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || "
        "($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || "
        "($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}"
    ),
}

CIS_4_15_ORGANIZATIONS_PATTERN = (
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

#: Control -> the exact text a detection carrying that control must have as its ``pattern``.
PUBLISHED_PATTERNS: dict[str, str] = {
    **SECURITY_HUB_PATTERNS,
    "CIS 1.4.0 4.15": CIS_4_15_ORGANIZATIONS_PATTERN,
}
