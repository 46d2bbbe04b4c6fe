"""An SNS topic that CloudWatch alarms can really publish to.

The trap this avoids: an SNS topic encrypted with the AWS-managed ``alias/aws/sns`` key silently drops
CloudWatch alarm notifications, because that key's policy cannot be changed to let
``cloudwatch.amazonaws.com`` use it. So the topic gets a customer-managed key (rotation on) whose policy
lets CloudWatch, and only for alarms of this account, generate data keys and decrypt.

Used twice by the alerting stack: the alerts topic (detection alarms -> forwarder) and the separate
health topic (pipeline self-monitoring -> humans, never through the forwarder).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

CLOUDWATCH_SERVICE_PRINCIPAL = "cloudwatch.amazonaws.com"
# What a publishing AWS service needs on the topic's key: SNS generates a data key per message and
# decrypts it. The SNS developer guide ("Enable compatibility between event sources from AWS services and
# encrypted topics") writes kms:GenerateDataKey*; the wildcard would also cover
# GenerateDataKeyWithoutPlaintext and the key-pair actions, which SNS never calls.
PUBLISHER_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def cloudwatch_alarm_arn_pattern(stack: Stack, alarm_name_prefix: str) -> str:
    """``arn:PARTITION:cloudwatch:REGION:ACCOUNT:alarm:PREFIX*``: this account's and region's alarms whose
    names start with the baseline's prefix (every alarm of the alerting stack does; tests check it)."""
    return f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{alarm_name_prefix}*"


def cloudwatch_alarms_of_this_account(stack: Stack, alarm_name_prefix: str) -> dict[str, dict[str, str]]:
    """Confused-deputy guard: the service principal acts only on behalf of this account's alarms.

    aws:SourceAccount/aws:SourceArn are supported in the KMS key policy for CloudWatch alarm delivery
    (unlike EventBridge delivery, where a KMS request carries no source keys).
    """
    return {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {"aws:SourceArn": cloudwatch_alarm_arn_pattern(stack, alarm_name_prefix)},
    }


class AlertTopic(Construct):
    """KMS-encrypted SNS topic that only this account's CloudWatch alarms may publish to, over TLS.

    Attributes:
        key: the customer-managed key (rotation on) encrypting the topic.
        topic: the SNS topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        purpose: str,
        alarm_name_prefix: str,
        email_subscribers: Sequence[str] = (),
        https_subscribers: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        for url in https_subscribers:
            if not url.startswith("https://"):
                raise ValueError(
                    f"HTTPS subscriber {url!r} for the {purpose} topic must start with https:// "
                    "(PagerDuty's CloudWatch integration URL, e.g. https://events.pagerduty.com/integration/"
                    "<key>/enqueue)."
                )

        # The default key policy statement (account root, kms:*) is kept: it is what lets IAM in this
        # account administer the key at all; without it the key becomes unmanageable.
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the {purpose} SNS topic; usable by this account's CloudWatch alarms",
            enable_key_rotation=True,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccountToUseTheKey",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE_PRINCIPAL)],
                actions=list(PUBLISHER_KEY_ACTIONS),
                resources=["*"],  # in a key policy "*" means "this key"
                conditions=cloudwatch_alarms_of_this_account(stack, alarm_name_prefix),
            )
        )

        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"Security baseline {purpose}",
            master_key=self.key,
            # Adds a Deny of sns:Publish for requests with aws:SecureTransport=false.
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccountToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=cloudwatch_alarms_of_this_account(stack, alarm_name_prefix),
            )
        )
        for email in email_subscribers:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        for url in https_subscribers:
            self.topic.add_subscription(
                subscriptions.UrlSubscription(url, protocol=sns.SubscriptionProtocol.HTTPS)
            )
