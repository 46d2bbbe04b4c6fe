"""The least-privilege check the scanner tests apply to every policy of every template: no wildcard action.

Shared by test_compliance_scanners.py (every deployable configuration) and test_forwarder_infra.py (the
routing-key secret variant).
"""

from __future__ import annotations

import re
from typing import Any


def _policy_documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource.get("Properties", {})
    documents = [
        props[key] for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument") if key in props
    ]
    return documents + [policy["PolicyDocument"] for policy in props.get("Policies", [])]


#: This account's root, as CDK writes it: the partition is a Ref, or a literal once homeRegion fixes it.
_ACCOUNT_ROOT_ARN = re.compile(r"arn:(\{AWS::Partition\}|aws(-[a-z]+)*):iam::\{AWS::AccountId\}:root")


def _is_account_root(principal: Any) -> bool:
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    join = principal["AWS"].get("Fn::Join") if isinstance(principal["AWS"], dict) else None
    if not (isinstance(join, list) and join[0] == "" and isinstance(join[1], list)):
        return False
    parts = [part if isinstance(part, str) else "{" + str(part.get("Ref")) + "}" for part in join[1]]
    return _ACCOUNT_ROOT_ARN.fullmatch("".join(parts)) is not None


def _is_key_administration_by_account_root(resource_type: str, statement: dict[str, Any]) -> bool:
    """AWS's documented default key-policy statement: use of the key is left to IAM in this account."""
    return (
        resource_type == "AWS::KMS::Key"
        and statement.get("Action") == "kms:*"
        and _is_account_root(statement.get("Principal"))
        and "Condition" not in statement
    )


def wildcard_grants(template: dict[str, Any]) -> list[str]:
    """Every Allow that grants a ``*`` action (or NotAction), except the account-root key statement."""
    offenders = []
    for logical_id, resource in template["Resources"].items():
        for document in _policy_documents(resource):
            for statement in document["Statement"]:
                if statement["Effect"] != "Allow":
                    continue  # a Deny of s3:*/sqs:*/sns:Publish without TLS narrows, it grants nothing
                if _is_key_administration_by_account_root(resource["Type"], statement):
                    continue
                if "NotAction" in statement:
                    offenders.append(f"{logical_id}: NotAction {statement['NotAction']}")
                actions = statement.get("Action", [])
                for action in actions if isinstance(actions, list) else [actions]:
                    if "*" in action:
                        offenders.append(f"{logical_id}: {action}")
    return offenders
