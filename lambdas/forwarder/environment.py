"""The forwarder's environment contract: every variable name, fixed value and limit, defined once.

The AlertForwarder construct writes the environment with ``forwarder_environment``, the config sizes it
against Lambda's limit with the same function, the forwarder's settings read the names from here, and the
tests and the benchmark build their environments from here too. Pure standard library: the Lambda asset
carries this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
TRAIL_LOG_GROUP_NAME = "TRAIL_LOG_GROUP_NAME"
ROUTING_KEY_SECRET_NAME = "ROUTING_KEY_SECRET_NAME"
PAGERDUTY_EVENTS_URL = "PAGERDUTY_EVENTS_URL"
DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"
ALARM_NAME_PREFIX = "ALARM_NAME_PREFIX"
METRIC_NAMESPACE = "METRIC_NAMESPACE"  # the detections' metric namespace: alarms map to detections by metric
SUPPRESSIONS = "SUPPRESSIONS"
EPISODE_TABLE_NAME = "EPISODE_TABLE_NAME"  # the DynamoDB table of open episodes (one alert across both paths)
EPISODE_SECONDS = "EPISODE_SECONDS"  # how long an episode stays open: the alarm's window plus a margin

SERVICE_NAME = "security-alert-forwarder"
FORWARDER_METRICS_NAMESPACE = "SecurityBaseline/Forwarder"  # the forwarder's own metrics (PagesSent, ...)
DEFAULT_ROUTING_KEY_SECRET_NAME = "security-baseline/pagerduty-routing-key"


class ForwarderMetric(StrEnum):
    """The forwarder's own metrics: namespace FORWARDER_METRICS_NAMESPACE, one dimension ``service`` =
    SERVICE_NAME (Powertools Metrics adds it). The health alarms watch some of them by these names."""

    PAGES_SENT = "PagesSent"
    RESOLVES_SENT = "ResolvesSent"
    IGNORED = "Ignored"
    SUPPRESSED = "Suppressed"
    DUPLICATE_EVENTS = "DuplicateEvents"
    DEAD_LETTERED = "DeadLettered"
    DELIVERY_FAILURES = "DeliveryFailures"
    ENRICHMENT_FAILURES = "EnrichmentFailures"
    EVENTS_FOUND = "EventsFound"
    RETRIES = "Retries"
    #: The episode table failed: the page went out on its own key, maybe as a second alert.
    EPISODE_STORE_FAILURES = "EpisodeStoreFailures"
    #: A fast-path event matched no fast-path detection: the EventBridge and filter patterns disagree.
    FAST_PATH_MISMATCHES = "FastPathMismatches"


#: The dimension Powertools Metrics puts on every metric of the function.
SERVICE_DIMENSION = "service"

#: Lambda caps the whole environment (all names + values) at 4 KB.
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096
#: Room for a slow secret read, one bounded evidence search and one PagerDuty attempt (see budget.py).
MIN_TIMEOUT_SECONDS = 30
#: What ``environment_bytes`` cannot know at synth: the dead-letter queue URL, resolved at deploy time
#: (~130 bytes with account, region and generated name), plus headroom for settings added later.
UNKNOWN_AT_SYNTH_BYTES = 900


def forwarder_environment(
    *,
    trail_log_group_name: str,
    routing_key_secret_name: str,
    pagerduty_events_url: str,
    dead_letter_queue_url: str,
    alarm_name_prefix: str,
    metric_namespace: str,
    suppressions_json: str,
    episode_table_name: str,
    episode_seconds: int,
) -> dict[str, str]:
    """The function's environment, in the order the template lists it."""
    return {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: FORWARDER_METRICS_NAMESPACE,
        TRAIL_LOG_GROUP_NAME: trail_log_group_name,
        # The secret's NAME only: the routing key itself never enters the template or environment.
        ROUTING_KEY_SECRET_NAME: routing_key_secret_name,
        PAGERDUTY_EVENTS_URL: pagerduty_events_url,
        DEAD_LETTER_QUEUE_URL: dead_letter_queue_url,
        ALARM_NAME_PREFIX: alarm_name_prefix,
        METRIC_NAMESPACE: metric_namespace,
        SUPPRESSIONS: suppressions_json,
        EPISODE_TABLE_NAME: episode_table_name,
        EPISODE_SECONDS: str(episode_seconds),
    }


def environment_bytes(environment: Mapping[str, str]) -> int:
    """What Lambda counts against its limit: every name and value, UTF-8 encoded."""
    return sum(len(name.encode()) + len(value.encode()) for name, value in environment.items())
