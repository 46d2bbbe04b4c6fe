"""The forwarder's environment, validated once at cold start: a bad deployment fails loudly, not at 3 a.m."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from detections.suppressions import Suppression, parse_suppressions
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

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ForwarderSettings:
        def required(name: str, hint: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set: {hint}")
            return value

        for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
            required(name, "the AlertForwarder construct sets it; redeploy the alerting stack")
        queue_url = required("DEAD_LETTER_QUEUE_URL", "set it to the dead-letter SQS queue URL")
        if urlparse(queue_url).scheme not in ("https", "http"):
            raise ConfigurationError(
                f"DEAD_LETTER_QUEUE_URL={queue_url!r} is not a queue URL (https://sqs...)"
            )
        events_url = environ.get("PAGERDUTY_EVENTS_URL", "").strip() or DEFAULT_EVENTS_URL
        parsed = urlparse(events_url)
        if parsed.scheme != "https" and not (parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS):
            raise ConfigurationError(
                f"PAGERDUTY_EVENTS_URL={events_url!r} must be an https URL "
                "(plain http only on loopback, for tests); "
                f"default {DEFAULT_EVENTS_URL}"
            )
        if "ALARM_NAME_PREFIX" not in environ:
            raise ConfigurationError(
                "environment variable ALARM_NAME_PREFIX is not set: use the alarm name prefix "
                "from the config "
                "(default 'security-baseline-'), or an empty string for none"
            )
        raw_suppressions = environ.get("SUPPRESSIONS", "[]").strip() or "[]"
        try:
            suppressions = parse_suppressions(json.loads(raw_suppressions))
        except json.JSONDecodeError as error:
            raise ConfigurationError(
                f"SUPPRESSIONS is not valid JSON ({error}); use a JSON array, '[]' for none"
            ) from None
        except ValueError as error:
            raise ConfigurationError(f"SUPPRESSIONS: {error}") from None
        return cls(
            trail_log_group_name=required(
                "TRAIL_LOG_GROUP_NAME", "set it to the trail's CloudWatch Logs log group"
            ),
            routing_key_secret_name=required(
                "ROUTING_KEY_SECRET_NAME",
                "set it to the Secrets Manager secret holding the PagerDuty routing key "
                "(default security-baseline/pagerduty-routing-key)",
            ),
            dead_letter_queue_url=queue_url,
            alarm_name_prefix=environ["ALARM_NAME_PREFIX"],
            suppressions=suppressions,
            pagerduty_events_url=events_url,
        )
