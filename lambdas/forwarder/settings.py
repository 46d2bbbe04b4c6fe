"""The forwarder's environment, validated once at cold start: a bad deployment fails loudly, not at 3 a.m."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from detections.alarm_window import DEFAULT_EPISODE_SECONDS
from detections.naming import DEFAULT_ALARM_NAME_PREFIX, DEFAULT_NAMESPACE
from detections.suppressions import Suppression, parse_suppressions
from lambdas.forwarder import environment as env
from lambdas.forwarder.pagerduty import DEFAULT_EVENTS_URL

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class ConfigurationError(ValueError):
    """An environment variable is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True)
class ForwarderSettings:
    trail_log_group_name: str
    routing_key_secret_name: str
    dead_letter_queue_url: str
    alarm_name_prefix: str
    suppressions: tuple[Suppression, ...]
    pagerduty_events_url: str = DEFAULT_EVENTS_URL
    metric_namespace: str = DEFAULT_NAMESPACE
    #: None only where no store is wired (unit tests); the deployment always sets it.
    episode_table_name: str | None = None
    episode_seconds: int = DEFAULT_EPISODE_SECONDS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ForwarderSettings:
        def required(name: str, hint: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set: {hint}")
            return value

        for name in (env.POWERTOOLS_SERVICE_NAME, env.POWERTOOLS_METRICS_NAMESPACE):
            required(name, "the AlertForwarder construct sets it; redeploy the alerting stack")
        queue_url = required(env.DEAD_LETTER_QUEUE_URL, "set it to the dead-letter SQS queue URL")
        if urlparse(queue_url).scheme not in ("https", "http"):
            raise ConfigurationError(
                f"{env.DEAD_LETTER_QUEUE_URL}={queue_url!r} is not a queue URL (https://sqs...)"
            )
        events_url = environ.get(env.PAGERDUTY_EVENTS_URL, "").strip() or DEFAULT_EVENTS_URL
        parsed = urlparse(events_url)
        if parsed.scheme != "https" and not (parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS):
            raise ConfigurationError(
                f"{env.PAGERDUTY_EVENTS_URL}={events_url!r} must be an https URL "
                "(plain http only on loopback, for tests); "
                f"default {DEFAULT_EVENTS_URL}"
            )
        if env.ALARM_NAME_PREFIX not in environ:
            raise ConfigurationError(
                f"environment variable {env.ALARM_NAME_PREFIX} is not set: use the alarm name prefix "
                "from the config "
                f"(default {DEFAULT_ALARM_NAME_PREFIX!r}), or an empty string for none"
            )
        raw_suppressions = environ.get(env.SUPPRESSIONS, "[]").strip() or "[]"
        try:
            suppressions = parse_suppressions(json.loads(raw_suppressions))
        except json.JSONDecodeError as error:
            raise ConfigurationError(
                f"{env.SUPPRESSIONS} is not valid JSON ({error}); use a JSON array, '[]' for none"
            ) from None
        except ValueError as error:
            raise ConfigurationError(f"{env.SUPPRESSIONS}: {error}") from None
        raw_episode_seconds = required(
            env.EPISODE_SECONDS, "the AlertForwarder construct sets it; redeploy the alerting stack"
        )
        if not raw_episode_seconds.isdigit() or int(raw_episode_seconds) <= 0:
            raise ConfigurationError(
                f"{env.EPISODE_SECONDS}={raw_episode_seconds!r} is not a positive number of seconds"
            )
        return cls(
            episode_table_name=required(
                env.EPISODE_TABLE_NAME, "set it to the DynamoDB episode table (the AlertForwarder creates it)"
            ),
            episode_seconds=int(raw_episode_seconds),
            trail_log_group_name=required(
                env.TRAIL_LOG_GROUP_NAME, "set it to the trail's CloudWatch Logs log group"
            ),
            routing_key_secret_name=required(
                env.ROUTING_KEY_SECRET_NAME,
                "set it to the Secrets Manager secret holding the PagerDuty routing key "
                f"(default {env.DEFAULT_ROUTING_KEY_SECRET_NAME})",
            ),
            dead_letter_queue_url=queue_url,
            alarm_name_prefix=environ[env.ALARM_NAME_PREFIX],
            suppressions=suppressions,
            pagerduty_events_url=events_url,
            # Absent only in an environment older than this variable: the config's default namespace.
            metric_namespace=environ.get(env.METRIC_NAMESPACE, "").strip() or DEFAULT_NAMESPACE,
        )
