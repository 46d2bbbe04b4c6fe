"""Run the forwarder "as deployed" against moto's server (HTTP on loopback) and a local PagerDuty receiver.

The handler is imported fresh for every test (a cold start) from the forwarder's staged asset in the session's
synthesized cloud assembly (``synthesized_cdk_out``), with the environment the template gives the function.
Intrinsic values (the log group and queue) are replaced by the moto resources standing in for them;
PAGERDUTY_EVENTS_URL points at the receiver.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from detections.naming import DEFAULT_ALARM_NAME_PREFIX, DEFAULT_NAMESPACE
from lambdas.forwarder import environment as forwarder_env
from testkit.lambda_context import FakeLambdaContext
from testkit.moto_harness import (
    MotoHarness,
    environment,
    find_deployed_forwarder,
    forwarder_environment,
    invoke_async,
    load_forwarder,
    stale_asset_files,
)
from testkit.pagerduty_receiver import PagerDutyReceiver

ROUTING_KEY = "0123456789abcdef0123456789abcdef"
# What the template leaves to deploy time (the queue URL) and what stands in for the real PagerDuty
# (the receiver's URL) are filled in per forwarder by ``make_forwarder``.
DEFAULT_ENV = forwarder_env.forwarder_environment(
    trail_log_group_name="security-baseline-trail",
    routing_key_secret_name=forwarder_env.DEFAULT_ROUTING_KEY_SECRET_NAME,
    pagerduty_events_url="",
    dead_letter_queue_url="",
    alarm_name_prefix=DEFAULT_ALARM_NAME_PREFIX,
    metric_namespace=DEFAULT_NAMESPACE,
    suppressions_json="[]",
    episode_table_name="security-baseline-episodes",
    episode_seconds=1800,
)


@pytest.fixture(scope="session")
def aws() -> Iterator[MotoHarness]:
    with MotoHarness() as harness:
        yield harness


@pytest.fixture(scope="session")
def pagerduty() -> Iterator[PagerDutyReceiver]:
    with PagerDutyReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def deployment(synthesized_cdk_out: Path) -> dict[str, Any]:
    """The forwarder as synthesized: its staged asset directory, environment and timeout from the template."""
    deployed = find_deployed_forwarder(synthesized_cdk_out)
    assert deployed is not None, (
        f"no forwarder function in the synthesized templates in {synthesized_cdk_out}"
    )
    stale = stale_asset_files(deployed.asset_dir)
    assert not stale, f"the synthesized asset differs from the source tree: {stale}"
    return {"deployed": deployed, "code_root": deployed.asset_dir, "timeout": deployed.timeout_seconds}


@dataclass
class Forwarder:
    """A cold-started forwarder wired to the session's fakes, and what a test needs to drive and check it."""

    module: ModuleType
    env: dict[str, str]
    aws: MotoHarness
    pagerduty: PagerDutyReceiver
    timeout: float
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, event: Any) -> Any:
        """A synchronous invocation (errors propagate)."""
        return self.module.lambda_handler(event, FakeLambdaContext(timeout_seconds=self.timeout))

    def invoke_async(self, event: Any):
        """SNS -> Lambda: asynchronous, 2 retries, then the on-failure destination (the same DLQ)."""
        sqs = self.aws.client("sqs")
        return invoke_async(
            self.module.lambda_handler,
            event,
            timeout_seconds=self.timeout,
            on_failure=lambda record: sqs.send_message(
                QueueUrl=self.env["DEAD_LETTER_QUEUE_URL"], MessageBody=json.dumps(record)
            ),
        )

    def drain_dead_letters(self) -> list[dict[str, Any]]:
        self.dead_letters += self.aws.drain_queue(self.env["DEAD_LETTER_QUEUE_URL"])
        return self.dead_letters

    def put_records(self, records: list[dict[str, Any]]) -> None:
        self.aws.put_cloudtrail_records(self.env["TRAIL_LOG_GROUP_NAME"], records)


@pytest.fixture
def make_forwarder(aws, pagerduty, deployment, monkeypatch, capsys):
    """Factory: a cold-started forwarder with optional env overrides (e.g. SUPPRESSIONS)."""
    from aws_lambda_powertools.utilities import parameters

    created: list[Forwarder] = []

    def make(**overrides: str) -> Forwarder:
        aws.reset()
        pagerduty.reset()
        parameters.clear_caches()
        queue_url = aws.create_queue("security-baseline-forwarder-dlq")
        env = forwarder_environment(
            deployment["deployed"],
            resolved={**DEFAULT_ENV, "DEAD_LETTER_QUEUE_URL": queue_url},
        )
        env.update(
            {"PAGERDUTY_EVENTS_URL": pagerduty.events_url, "DEAD_LETTER_QUEUE_URL": queue_url, **overrides}
        )
        aws.create_log_group(env["TRAIL_LOG_GROUP_NAME"])
        aws.create_secret(env["ROUTING_KEY_SECRET_NAME"], ROUTING_KEY)
        aws.create_episode_table(env["EPISODE_TABLE_NAME"])
        for name, value in {**aws.base_environment(), **env}.items():
            monkeypatch.setenv(name, value)
        module = load_forwarder(deployment["code_root"])
        # Test tuning only (the behaviour is unchanged): short HTTP timeout and near-zero backoff jitter so
        # the fault matrix runs in seconds instead of minutes.
        module.PAGERDUTY.request_timeout = 0.5
        module.PAGERDUTY.rand = lambda: 0.01
        forwarder = Forwarder(module, env, aws, pagerduty, float(deployment["timeout"]))
        created.append(forwarder)
        return forwarder

    yield make
    for forwarder in created:
        forwarder.module.SECRETS.clear_cache()


@pytest.fixture
def forwarder(make_forwarder) -> Forwarder:
    return make_forwarder()


__all__ = ["ROUTING_KEY", "Forwarder", "environment"]
