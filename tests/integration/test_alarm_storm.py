"""An alarm storm holds: every detection alarm of two accounts fires within one minute, SNS delivers every
notification twice, PagerDuty answers 429 past 120 events a minute and FilterLogEvents throttles past 5
requests a second. Every notification must end as exactly one PagerDuty alert per alarm episode, or as a
dead letter with its reason: nothing lost, nothing doubled.

The model (stated, because it is a simulation):
* The forwarder is the synthesized asset, cold-started five times: five containers (its reserved
  concurrency) running in five threads, each with its own module state (token-bucket pacer, clients), in
  real time against moto's server and the receiver on loopback.
* Two accounts share one PagerDuty integration key (an organization rollout pages one service), so 82
  alarms x 2 deliveries = 164 events reach PagerDuty in the storm's first minute, past the 120 limit. Both
  accounts' forwarders search one moto log group and share one 5/s FilterLogEvents limit: stricter than
  AWS, where each account has its own quota.
* Lambda's asynchronous retries wait about 1 and then 2 more minutes: that wait is simulated by moving the
  receiver's clock forward (its rate window is the only thing here that spans minutes).
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stacks.config import BaselineConfig
from testkit.lambda_context import FakeLambdaContext
from testkit.moto_harness import MotoHarness, forwarder_environment, load_forwarder
from testkit.pagerduty_receiver import PagerDutyReceiver
from testkit.scenarios import (
    ACCOUNT,
    REGION,
    alarm_message,
    root_console_login,
    sns_event,
)
from tests.integration.conftest import DEFAULT_ENV, ROUTING_KEY

PAGERDUTY_EVENTS_PER_MINUTE = 120
FILTER_LOG_EVENTS_PER_SECOND = 5
CONTAINERS = 5
LAMBDA_ATTEMPTS = 3
SECOND_ACCOUNT = "210987654321"
# Every alarm the default configuration deploys (the forwarder asset carries exactly those rules).
DEPLOYED = BaselineConfig.from_mapping({}).detections_in_use


class StormClock:
    """Real monotonic time plus the simulated waits of Lambda's retries."""

    def __init__(self) -> None:
        self._skipped = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.monotonic() + self._skipped

    def skip(self, seconds: float) -> None:
        with self._lock:
            self._skipped += seconds


@dataclass
class Tally:
    lambda_retries: int = 0
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def notification(detection_id: str, account: str, second: int) -> dict[str, Any]:
    message = alarm_message(detection_id, at=f"2026-11-24T06:21:{second:02d}.123+0000")
    name = message["AlarmName"]
    message["AWSAccountId"] = account
    message["AlarmArn"] = f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{name}"
    message["Trigger"]["EvaluationPeriods"] = 20  # the default window since issue 10
    return message


def episodes() -> list[tuple[str, str, dict[str, Any]]]:
    """(account, detection id, SNS event) for every detection alarm of both accounts, within one minute."""
    result = []
    for account in (ACCOUNT, SECOND_ACCOUNT):
        for index, detection in enumerate(DEPLOYED):
            message_id = f"{account}-{detection.id}"
            event = sns_event(notification(detection.id, account, index % 60), message_id=message_id)
            result.append((account, detection.id, event))
    return result


@pytest.fixture
def storm_receiver() -> Iterator[tuple[PagerDutyReceiver, StormClock]]:
    clock = StormClock()
    with PagerDutyReceiver(rate_limit=PAGERDUTY_EVENTS_PER_MINUTE, clock=clock) as receiver:
        yield receiver, clock


def containers(
    aws: MotoHarness, receiver: PagerDutyReceiver, deployment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[ModuleType], dict[str, str]]:
    """Five cold-started forwarders (the synthesized asset and environment) wired to moto and the receiver."""
    from aws_lambda_powertools.utilities import parameters

    aws.reset()
    parameters.clear_caches()
    queue_url = aws.create_queue("security-baseline-forwarder-dlq")
    env = forwarder_environment(
        deployment["deployed"], resolved={**DEFAULT_ENV, "DEAD_LETTER_QUEUE_URL": queue_url}
    )
    env.update({"PAGERDUTY_EVENTS_URL": receiver.events_url, "DEAD_LETTER_QUEUE_URL": queue_url})
    aws.create_log_group(env["TRAIL_LOG_GROUP_NAME"])
    aws.create_secret(env["ROUTING_KEY_SECRET_NAME"], ROUTING_KEY)
    aws.create_episode_table(env["EPISODE_TABLE_NAME"])
    aws.put_cloudtrail_records(env["TRAIL_LOG_GROUP_NAME"], [root_console_login()])
    for name, value in {**aws.base_environment(), **env}.items():
        monkeypatch.setenv(name, value)
    code_root: Path = deployment["code_root"]
    return [load_forwarder(code_root) for _ in range(CONTAINERS)], env


def invoke_like_lambda(
    module: ModuleType,
    event: dict[str, Any],
    timeout: float,
    clock: StormClock,
    aws: MotoHarness,
    queue_url: str,
    tally: Tally,
) -> None:
    """Asynchronous invocation: first attempt and two retries (after ~1 and ~2 simulated minutes), then
    the on-failure destination gets AWS's invocation record (the dead-letter queue)."""
    last_error = ""
    for attempt in range(1, LAMBDA_ATTEMPTS + 1):
        if attempt > 1:
            clock.skip(60.0 * (attempt - 1))
            with tally.lock:
                tally.lambda_retries += 1
        try:
            module.lambda_handler(event, FakeLambdaContext(timeout_seconds=timeout))
            return
        except Exception as error:
            last_error = f"{type(error).__name__}: {error}"
    record = {
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": LAMBDA_ATTEMPTS},
        "requestPayload": event,
        "responsePayload": {"errorMessage": last_error},
    }
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))


def test_the_storm_ends_as_one_alert_per_episode_or_a_dead_letter_with_its_reason(
    aws: MotoHarness,
    deployment: dict[str, Any],
    storm_receiver: tuple[PagerDutyReceiver, StormClock],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, clock = storm_receiver
    modules, env = containers(aws, receiver, deployment, monkeypatch)
    aws.faults.throttle_filter_log_events(per_second=FILTER_LOG_EVENTS_PER_SECOND)
    storm = episodes()
    deliveries = [event for _, _, event in storm] * 2  # SNS delivers every notification twice
    random.Random(10).shuffle(deliveries)
    work: queue.Queue[dict[str, Any]] = queue.Queue()
    for event in deliveries:
        work.put(event)
    tally = Tally()

    def container(module: ModuleType) -> None:
        while True:
            try:
                event = work.get_nowait()
            except queue.Empty:
                return
            try:
                invoke_like_lambda(
                    module,
                    event,
                    float(deployment["timeout"]),
                    clock,
                    aws,
                    env["DEAD_LETTER_QUEUE_URL"],
                    tally,
                )
            except Exception as error:  # a harness failure must fail the test, not vanish in a thread
                with tally.lock:
                    tally.errors.append(repr(error))

    started = time.monotonic()
    threads = [threading.Thread(target=container, args=(module,)) for module in modules]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    drained_in = time.monotonic() - started
    dead_letters = aws.drain_queue(env["DEAD_LETTER_QUEUE_URL"])
    for module in modules:
        module.SECRETS.clear_cache()

    assert tally.errors == []
    assert all(not thread.is_alive() for thread in threads)
    requests = list(receiver.requests)
    assert [r.errors for r in requests if not r.valid] == []  # every request met the schema
    throttled_by_pagerduty = sum(r.response_status == 429 for r in requests)
    assert throttled_by_pagerduty > 0, "the storm should have gone past PagerDuty's rate limit"

    accepted_keys: dict[tuple[str, str], set[str]] = {}
    for request in requests:
        if request.response_status == 202:
            event = request.event
            assert event["event_action"] == "trigger"
            source = event["payload"]["source"]  # aws:<account>:<region>
            account = source.split(":")[1]
            accepted_keys.setdefault((account, event["payload"]["class"]), set()).add(event["dedup_key"])
    dead_by_episode: dict[tuple[str, str], list[str]] = {}
    for letter in dead_letters:
        message = json.loads(letter["requestPayload"]["Records"][0]["Sns"]["Message"])
        detection = message["AlarmName"].removeprefix("security-baseline-")
        reason = letter["responsePayload"]["errorMessage"]
        assert reason, letter
        dead_by_episode.setdefault((message["AWSAccountId"], detection), []).append(reason)

    for account, detection, _ in storm:
        keys = accepted_keys.get((account, detection), set())
        # exactly one PagerDuty alert (one dedup key) per episode, or a dead letter saying why
        assert len(keys) == 1 or (not keys and dead_by_episode.get((account, detection))), (
            account,
            detection,
            keys,
        )
    assert set(accepted_keys) <= {(a, d) for a, d, _ in storm}

    print(
        f"\nalarm storm: {len(storm)} episodes, {len(deliveries)} SNS deliveries, {CONTAINERS} containers; "
        f"drained in {drained_in:.1f} s real time (+{clock() - time.monotonic():.0f} s simulated Lambda "
        f"retry waits); PagerDuty requests {len(requests)}, 429s {throttled_by_pagerduty}; "
        f"FilterLogEvents throttled {aws.faults.hits.get('filter_log_events (rate)', 0)} time(s); "
        f"Lambda retries {tally.lambda_retries}; dead letters {len(dead_letters)}; "
        f"alerts {sum(len(k) for k in accepted_keys.values())}"
    )


def test_the_receiver_answers_429_past_its_rate_limit() -> None:
    clock = StormClock()
    with PagerDutyReceiver(rate_limit=2, clock=clock) as receiver:
        statuses = [_post(receiver.events_url) for _ in range(3)]
        clock.skip(61)
        statuses.append(_post(receiver.events_url))
    assert statuses == [202, 202, 429, 202]


def test_filter_log_events_throttles_past_its_rate(aws: MotoHarness) -> None:
    from botocore.exceptions import ClientError

    aws.reset()
    aws.create_log_group("g")
    aws.faults.throttle_filter_log_events(per_second=5, clock=lambda: 100.0)  # all calls in one second
    logs = aws.client("logs")
    outcomes = []
    for _ in range(6):
        try:
            logs.filter_log_events(logGroupName="g")
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    aws.reset()
    assert outcomes == ["ok"] * 5 + ["ThrottlingException"]


def _post(url: str) -> int:
    import urllib.error
    import urllib.request

    body = json.dumps(
        {
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "dedup_key": "k",
            "payload": {"summary": "s", "source": "aws:1:us-east-1", "severity": "error"},
        }
    ).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
