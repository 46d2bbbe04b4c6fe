"""Key-policy statements shared by the constructs that encrypt a log group with their own KMS key."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

# The explicit actions behind AWS's documented Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe* for
# CloudWatch Logs encryption with a symmetric key: no wildcard actions in our policies.
CLOUDWATCH_LOGS_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)


def cloudwatch_logs_may_encrypt(stack: Stack, *, sid: str, log_group_arn: str) -> iam.PolicyStatement:
    """Let this region's CloudWatch Logs use the key, only for the log group named in the context."""
    return iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=list(CLOUDWATCH_LOGS_KEY_ACTIONS),
        resources=["*"],  # in a key policy, "*" means this key
        conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
    )
