"""Accepting a scanner finding: always on one resource, for one rule, with the reason an auditor reads.

The two helpers the constructs share, so every acknowledgement and skip is written the same way and lands
where the scanner looks for it (cdk-nag v3: construct metadata read by ``validate_scope``; checkov: the
CloudFormation resource's ``Metadata.checkov.skip`` list).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """cdk-nag v3 acknowledgement of one rule (or finding, e.g. ``IAM5[Resource::*]``) on one construct."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Add one checkov skip (id + reason) to the CloudFormation resource behind ``construct``."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to carry a checkov skip")
    metadata: dict[str, Any] = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)
