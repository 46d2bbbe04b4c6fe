"""The environment contract: what the construct writes is what the settings read, and SUMMARY_FIELDS is what
the page fills."""

from __future__ import annotations

from detections.catalogue import SUMMARY_FIELDS
from lambdas.forwarder import enrichment
from lambdas.forwarder import environment as env
from lambdas.forwarder.settings import ForwarderSettings
from testkit.alarms import cloudtrail_record


def test_the_settings_read_back_every_value_the_environment_carries() -> None:
    variables = env.forwarder_environment(
        trail_log_group_name="trail",
        routing_key_secret_name="pd-key",
        pagerduty_events_url="https://events.eu.pagerduty.com/v2/enqueue",
        dead_letter_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
        alarm_name_prefix="sb-",
        metric_namespace="Team/Security",
        suppressions_json="[]",
        episode_table_name="episodes",
        episode_seconds=1800,
    )
    settings = ForwarderSettings.from_environ(variables)
    assert (
        settings.trail_log_group_name,
        settings.routing_key_secret_name,
        settings.pagerduty_events_url,
        settings.dead_letter_queue_url,
        settings.alarm_name_prefix,
        settings.metric_namespace,
        settings.suppressions,
        settings.episode_table_name,
        settings.episode_seconds,
    ) == (
        "trail",
        "pd-key",
        "https://events.eu.pagerduty.com/v2/enqueue",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
        "sb-",
        "Team/Security",
        (),
        "episodes",
        1800,
    )


def test_environment_bytes_counts_names_and_values_as_utf8() -> None:
    assert env.environment_bytes({"AB": "cd", "E": "é"}) == 2 + 2 + 1 + 2


def test_summary_fields_are_exactly_what_the_forwarder_fills() -> None:
    fields = enrichment.summary_fields(
        title="T", records=[cloudtrail_record()], account="123456789012", region="us-east-1", count=1
    )
    assert list(fields) == list(SUMMARY_FIELDS)
    assert all(isinstance(value, str) for value in fields.values())  # ready for str.format_map
