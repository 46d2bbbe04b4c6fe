"""The environment is validated at cold start with errors that name the variable and the fix."""

from __future__ import annotations

import pytest

from lambdas.forwarder.pagerduty import DEFAULT_EVENTS_URL
from lambdas.forwarder.settings import ConfigurationError, ForwarderSettings

ENV = {
    "POWERTOOLS_SERVICE_NAME": "security-alert-forwarder",
    "POWERTOOLS_METRICS_NAMESPACE": "SecurityBaseline/Forwarder",
    "TRAIL_LOG_GROUP_NAME": "aws-cloudtrail-logs",
    "ROUTING_KEY_SECRET_NAME": "security-baseline/pagerduty-routing-key",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    "ALARM_NAME_PREFIX": "security-baseline-",
    "SUPPRESSIONS": "[]",
    "EPISODE_TABLE_NAME": "security-baseline-episodes",
    "EPISODE_SECONDS": "1800",
}


def test_valid_environment_with_default_events_url() -> None:
    settings = ForwarderSettings.from_environ(ENV)
    assert settings.pagerduty_events_url == DEFAULT_EVENTS_URL
    assert settings.suppressions == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TRAIL_LOG_GROUP_NAME": ""}, "TRAIL_LOG_GROUP_NAME is not set"),
        ({"ROUTING_KEY_SECRET_NAME": " "}, "ROUTING_KEY_SECRET_NAME is not set"),
        ({"DEAD_LETTER_QUEUE_URL": "dlq"}, "DEAD_LETTER_QUEUE_URL='dlq' is not a queue URL"),
        ({"PAGERDUTY_EVENTS_URL": "http://events.pagerduty.com/v2/enqueue"}, "must be an https URL"),
        ({"SUPPRESSIONS": "[{"}, "SUPPRESSIONS is not valid JSON"),
        ({"SUPPRESSIONS": '[{"detection": "x"}]'}, r"SUPPRESSIONS: suppressions\[0\]"),
        ({"POWERTOOLS_METRICS_NAMESPACE": ""}, "POWERTOOLS_METRICS_NAMESPACE is not set"),
        ({"EPISODE_TABLE_NAME": ""}, "EPISODE_TABLE_NAME is not set"),
        ({"EPISODE_SECONDS": "-5"}, "EPISODE_SECONDS='-5' is not a positive number of seconds"),
        ({"EPISODE_SECONDS": "0"}, "EPISODE_SECONDS='0' is not a positive number of seconds"),
    ],
)
def test_bad_environment_names_the_variable(change: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ForwarderSettings.from_environ({**ENV, **change})


def test_missing_prefix_is_an_error_but_an_empty_prefix_is_allowed() -> None:
    without = {k: v for k, v in ENV.items() if k != "ALARM_NAME_PREFIX"}
    with pytest.raises(ConfigurationError, match="ALARM_NAME_PREFIX is not set"):
        ForwarderSettings.from_environ(without)
    assert ForwarderSettings.from_environ({**ENV, "ALARM_NAME_PREFIX": ""}).alarm_name_prefix == ""


def test_plain_http_is_accepted_only_on_loopback() -> None:
    url = "http://127.0.0.1:8080/v2/enqueue"
    assert ForwarderSettings.from_environ({**ENV, "PAGERDUTY_EVENTS_URL": url}).pagerduty_events_url == url
