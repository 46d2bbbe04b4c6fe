"""The event names two Prowler CIS checks require, in Prowler's order: one copy shared by the catalogue's unit
tests and the infra tests' encoding of the Prowler checks (``cloudwatch_changes_to_network_route_tables_alarm_
configured`` and ``cloudwatch_log_metric_filter_aws_organizations_changes``).
"""

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
