"""Lambda entry point: Powertools wiring and module-scope clients; the work happens in service.forward_event.

Everything here runs once per container (cold start): the environment is validated (a bad deployment fails
at init with a message naming the variable), SDK clients are built once and reused, and the routing key is
read through Powertools parameters with a cache so a burst of alarms costs one Secrets Manager call.
The SDK reads AWS_ENDPOINT_URL itself, so the same code runs against AWS or an emulator.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from detections.fast_path import has_fast_path
from detections.rule_files import PACKAGED_RULES_DIR, detection_lookup, load_rules
from lambdas.forwarder.budget import FILTER_LOG_EVENTS_CONNECT_TIMEOUT, FILTER_LOG_EVENTS_READ_TIMEOUT
from lambdas.forwarder.enrichment import Place
from lambdas.forwarder.environment import ForwarderMetric
from lambdas.forwarder.episode_store import DynamoEpisodeStore
from lambdas.forwarder.evidence import RatePacer
from lambdas.forwarder.models import partition_of_region
from lambdas.forwarder.pagerduty import PagerDutyClient
from lambdas.forwarder.service import Dependencies, account_alias_reader, forward_event
from lambdas.forwarder.settings import ForwarderSettings

ROUTING_KEY_MAX_AGE_SECONDS = 300  # a rotated key is picked up within five minutes

SETTINGS = ForwarderSettings.from_environ(os.environ)
logger = Logger()
# X-Ray: patch only what this function calls through a patchable library - botocore (FilterLogEvents,
# Secrets Manager, IAM, SQS). The default (patch_all) also imports and patches every other supported
# library it can find (requests, sqlite3, ...) at cold start, for calls we never make. The PagerDuty POST
# uses urllib, which patch_all leaves unpatched too (httplib is not in X-Ray's NO_DOUBLE_PATCH list), so
# the traces are the same.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()

# Short timeouts: the whole invocation has a budget, and the callers (evidence, service) handle retries.
_SDK_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})
# FilterLogEvents retries are ours (paced, budgeted): the SDK must not retry behind our back.
_LOGS_CONFIG = Config(
    connect_timeout=FILTER_LOG_EVENTS_CONNECT_TIMEOUT,
    read_timeout=FILTER_LOG_EVENTS_READ_TIMEOUT,
    retries={"mode": "standard", "total_max_attempts": 1},
)
# The episode store only joins pages into one alert: quick tries, and a failure pages anyway (service.py).
_DYNAMODB_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
)
# The account alias only decorates the page: one quick try (at most ~3 s, once per container), no retries.
_IAM_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 1})


class _ClientOnFirstUse:
    """A boto3 client built the first time it is used: for a client only a rare path needs (dead-lettering),
    so the common alarm does not pay for building it at cold start (~30 ms: loading the service model)."""

    def __init__(self, service: str, config: Config) -> None:
        self._service, self._config = service, config
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = boto3.client(self._service, config=self._config)
        return getattr(self._client, name)


LOGS = boto3.client("logs", config=_LOGS_CONFIG)
SQS = _ClientOnFirstUse("sqs", _SDK_CONFIG)  # malformed/unknown alarms and PagerDuty 4xx only
IAM = boto3.client("iam", config=_IAM_CONFIG)  # the account alias, read on the first page of a container
SECRETS = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager", config=_SDK_CONFIG))
EPISODES = DynamoEpisodeStore(
    boto3.client("dynamodb", config=_DYNAMODB_CONFIG), SETTINGS.episode_table_name or ""
)
PACER = RatePacer()
PAGERDUTY = PagerDutyClient(
    url=SETTINGS.pagerduty_events_url,
    on_retry=lambda reason: metrics.add_metric(name=ForwarderMetric.RETRIES, unit=MetricUnit.Count, value=1),
)
_invoked_account: dict[str, str | None] = {"id": None}
ACCOUNT_ALIAS = account_alias_reader(IAM, lambda: _invoked_account["id"])


def _routing_key() -> str:
    secret = SECRETS.get(SETTINGS.routing_key_secret_name, max_age=ROUTING_KEY_MAX_AGE_SECONDS)
    # The key is a plain string secret. A binary one (bytes) is no routing key: "" gets the service's
    # "not 32 characters" warning, and PagerDuty's rejection dead-letters the event, as any bad key does.
    return secret if isinstance(secret, str) else ""


def _count(name: str, value: float) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# The rules packaged with this code: in the deployed asset exactly the deployment's rules in use, validated
# again here so a broken package fails the cold start, not a page.
RULES = load_rules(PACKAGED_RULES_DIR, require_cases=False)
HOME_REGION = os.environ.get("AWS_REGION", "")
DEPENDENCIES = Dependencies(
    settings=SETTINGS,
    logs=LOGS,
    sqs=SQS,
    routing_key=_routing_key,
    account_alias=ACCOUNT_ALIAS,
    pagerduty=PAGERDUTY,
    pacer=PACER,
    lookup_detection=detection_lookup(RULES),
    logger=logger,
    count=_count,
    episodes=EPISODES,
    fast_path_detections=tuple(rule for rule in RULES if has_fast_path(rule)),
    home=Place(HOME_REGION, partition_of_region(HOME_REGION)) if HOME_REGION else None,
    own_account=lambda: _invoked_account["id"],
)


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    arn_parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    _invoked_account["id"] = arn_parts[4] if len(arn_parts) > 4 else None
    return forward_event(event, DEPENDENCIES, lambda: context.get_remaining_time_in_millis() / 1000)
