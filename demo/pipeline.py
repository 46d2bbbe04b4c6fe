"""The local stand-up: the synthesized pipeline on loopback, driven through simulated time.

    CloudTrail records ──> EventBridge (demo.fast_path: the synthesized rules' patterns judged by moto, delay
           │               or loss from demo.eventbridge_delivery) ──> forwarder asset, per matching rule
           ├─> delivery delay (demo.delivery_delay, seeded) ──> moto CloudWatch Logs
           │               (log group from the template; each record put when it arrives, stamped eventTime)
           └─> metric filters (patterns from the template, our engine) ─> per-minute datapoints
                 └─> alarms (settings from the template, demo.alarm_evaluator) ─> state transitions
                       └─> SNS Lambda event (CloudWatch's alarm JSON) ─> forwarder asset, Lambda-like
                             ├─> moto: FilterLogEvents (engine-taught), Secrets Manager, SQS dead letters
                             └─> local PagerDuty Events v2 receiver (validates every request: our schema)

Nothing is waited for in real time: a simulated minute is as long as the work in it takes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from demo.alarm_evaluator import AlarmDefinition, Transition
from demo.cdk_out import Deployment
from demo.delivery_delay import DEFAULT_MODEL, DEFAULT_SEED, DelayModel, delay_events, parse_delay_model
from demo.eventbridge_delivery import DEFAULT_EVENTBRIDGE_MODEL, EventBridgeModel, parse_eventbridge_model
from demo.fast_path import FastPathEvent, fast_path_events
from demo.lambda_runtime import Invocation, LambdaProcess
from demo.notifications import alarm_message, sns_lambda_event, sns_subject
from demo.simulation import LogEvent, MinuteStep, Simulation, compile_filters, simulated_window, to_log_events
from testkit.moto_harness import MotoHarness
from testkit.pagerduty_receiver import AlertView, PagerDutyReceiver, RecordedRequest, account_alerts

# A made-up integration key in PagerDuty's format (32 alphanumerics); it only ever reaches the local receiver.
DEMO_ROUTING_KEY = "LocalDemoRoutingKeyNotARealOne00"
LAMBDA_ASYNC_ATTEMPTS = 3  # the first attempt and Lambda's two retries of an asynchronous (SNS) invocation
LAMBDA_RETRY_SECONDS = 60  # the n-th retry waits about n minutes


@dataclass(frozen=True)
class Delivery:
    """One alarm notification handed to the forwarder, and what came of it."""

    transition: Transition
    topic_arn: str
    sns_event: dict[str, Any]
    attempts: tuple[Invocation, ...]
    requests: tuple[RecordedRequest, ...]  # PagerDuty requests made while handling it
    first_request: int = 0  # index of the first of ``requests`` in the receiver's log

    @property
    def succeeded(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def request_indexes(self) -> range:
        return range(self.first_request, self.first_request + len(self.requests))

    @property
    def handled_at(self) -> datetime:
        """Simulated time the last attempt ran: Lambda retries after about 1 and then 2 more minutes."""
        return _after_retries(self.transition.at, len(self.attempts))


def _after_retries(first_attempt: datetime, attempts: int) -> datetime:
    retries = attempts - 1
    return first_attempt + timedelta(seconds=LAMBDA_RETRY_SECONDS * retries * (retries + 1) // 2)


@dataclass(frozen=True)
class FastDelivery:
    """One EventBridge event handed to the forwarder (async, with Lambda's retries), and what came of it."""

    fast: FastPathEvent
    arrival: datetime
    attempts: tuple[Invocation, ...]
    requests: tuple[RecordedRequest, ...]
    first_request: int

    @property
    def succeeded(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def request_indexes(self) -> range:
        return range(self.first_request, self.first_request + len(self.requests))

    @property
    def handled_at(self) -> datetime:
        return _after_retries(self.arrival, len(self.attempts))


@dataclass(frozen=True)
class OtherNotification:
    """An alarm action not handled by the forwarder (e.g. an email-only topic): shown, not executed."""

    transition: Transition
    action: str


@dataclass
class RunResult:
    steps: list[MinuteStep] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    other_notifications: list[OtherNotification] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    matched: dict[str, list[LogEvent]] = field(default_factory=dict)
    events: list[LogEvent] = field(default_factory=list)
    alarms: list[AlarmDefinition] = field(default_factory=list)
    delay_model: str = "none"
    fast_events: list[FastPathEvent] = field(default_factory=list)  # matched by a fast-path rule (or lost)
    fast_deliveries: list[FastDelivery] = field(default_factory=list)
    eventbridge_model: str = "none"
    alerts: AlertView = field(default_factory=lambda: account_alerts([]))
    forwarder_log: Path | None = None
    start: datetime | None = None
    end: datetime | None = None


def _secret_name(value: str) -> str:
    """A secret name, or the name inside a Secrets Manager ARN (without the 6-character random suffix)."""
    if value.startswith("arn:"):
        name = value.split(":", 6)[6]
        return re.sub(r"-[A-Za-z0-9]{6}$", "", name)
    return value


def _queue_name(url: str) -> str:
    return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]


def _put_events(logs: Any, group: str, stream: str, events: Sequence[LogEvent]) -> None:
    batch: list[dict[str, Any]] = []
    size = 0
    # Records arrive out of eventTime order; one PutLogEvents batch must be in timestamp order.
    for event in sorted(events, key=lambda e: e.timestamp):
        entry = {"timestamp": event.timestamp_ms, "message": event.message}
        entry_size = len(event.message.encode()) + 26  # PutLogEvents counts 26 bytes of overhead per event
        if batch and (len(batch) >= 10_000 or size + entry_size > 1_048_576):
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        response = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
        rejected = response.get("rejectedLogEventsInfo")
        if rejected:
            raise RuntimeError(f"CloudWatch Logs (moto) rejected log events: {rejected}")


def run_pipeline(
    records: Sequence[dict[str, Any]],
    deployment: Deployment,
    *,
    output_dir: Path,
    window: tuple[datetime, datetime] | None = None,
    account_alias: str | None = None,
    on_step: Callable[[MinuteStep], None] | None = None,
    delay_model: DelayModel | None = None,
    seed: int = DEFAULT_SEED,
    eventbridge_model: EventBridgeModel | None = None,
) -> RunResult:
    """Replay ``records`` through the deployed pipeline; every PagerDuty request ends up in the result.

    ``window`` is the simulated span (default: from the first record until every alarm has settled after
    the last one); it is widened, never narrowed, to what the records and alarms need. Each record reaches
    the log group after a delay drawn from ``delay_model`` (default: the published-figures model) with
    ``seed``. Records matching a fast-path rule reach the forwarder through EventBridge after a delay (or
    never) drawn from ``eventbridge_model`` (default: the assumed model) with the same ``seed``.
    """
    fast_model = eventbridge_model or parse_eventbridge_model(DEFAULT_EVENTBRIDGE_MODEL)
    model = delay_model if delay_model is not None else parse_delay_model(DEFAULT_MODEL)
    events = delay_events(to_log_events(records), model, seed)
    start, end = simulated_window(events, deployment.alarms)
    if window is not None:
        start, end = min(start, window[0]), max(end, window[1])
    simulation = Simulation(events, compile_filters(deployment.metric_filters), deployment.alarms)
    result = RunResult(
        matched=simulation.matched,
        events=events,
        alarms=list(deployment.alarms),
        delay_model=f"{model.name} (seed {seed})",
        eventbridge_model=f"{fast_model.name} (seed {seed})",
        start=start,
        end=end,
    )
    env = deployment.forwarder.environment
    missing = [
        n
        for n in ("TRAIL_LOG_GROUP_NAME", "ROUTING_KEY_SECRET_NAME", "DEAD_LETTER_QUEUE_URL")
        if n not in env
    ]
    if missing:
        raise ValueError(f"the forwarder's environment in the template lacks {', '.join(missing)}")

    with MotoHarness(region=deployment.region) as aws, PagerDutyReceiver() as receiver:
        # First: moto's EventBridge judges the synthesized patterns (it resets moto; the rest comes after).
        result.fast_events = fast_path_events(events, deployment.fast_path_rules, fast_model, seed, aws)
        pending_fast = [f for f in result.fast_events if f.arrival is not None]
        aws.reset()  # moto's backends are process-wide: start from an empty account even on a second run
        logs = aws.client("logs")
        log_group = env["TRAIL_LOG_GROUP_NAME"]
        stream = f"{deployment.account_id}_CloudTrail_{deployment.region}"
        aws.create_log_group(log_group)
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
        aws.create_secret(_secret_name(env["ROUTING_KEY_SECRET_NAME"]), DEMO_ROUTING_KEY)
        if account_alias:
            aws.client("iam").create_account_alias(AccountAlias=account_alias)
        queue_url = aws.create_queue(_queue_name(env["DEAD_LETTER_QUEUE_URL"]))
        if "EPISODE_TABLE_NAME" in env:  # the forwarder's episodes: one alert across the fast and alarm paths
            aws.create_episode_table(env["EPISODE_TABLE_NAME"])
        cloudwatch = aws.client("cloudwatch")
        for alarm in deployment.alarms:
            cloudwatch.put_metric_alarm(
                AlarmName=alarm.name,
                AlarmDescription=alarm.description or "",
                MetricName=alarm.metric_name,
                Namespace=alarm.namespace,
                Statistic=alarm.statistic,
                Period=alarm.period_seconds,
                EvaluationPeriods=alarm.evaluation_periods,
                DatapointsToAlarm=alarm.required_breaches,
                Threshold=alarm.threshold,
                ComparisonOperator=alarm.comparison_operator,
                TreatMissingData=alarm.treat_missing_data,
                AlarmActions=list(alarm.alarm_actions),
                OKActions=list(alarm.ok_actions),
            )
        overrides = {
            **aws.base_environment(),
            "DEAD_LETTER_QUEUE_URL": queue_url,
            "PAGERDUTY_EVENTS_URL": receiver.events_url,
        }
        result.forwarder_log = output_dir / "forwarder.log"
        configured_at = start
        with LambdaProcess(
            deployment.forwarder,
            account_id=deployment.account_id,
            region=deployment.region,
            environment_overrides=overrides,
            log_path=result.forwarder_log,
        ) as forwarder:
            last_invocation_at = start

            def deliver_fast_until(moment: datetime | None) -> None:
                nonlocal last_invocation_at
                while pending_fast and (moment is None or (pending_fast[0].arrival or moment) < moment):
                    fast = pending_fast.pop(0)
                    assert fast.arrival is not None
                    frozen = max(0.0, (fast.arrival - last_invocation_at).total_seconds())
                    result.fast_deliveries.append(
                        _deliver_fast(fast, fast.arrival, forwarder, receiver, frozen)
                    )
                    last_invocation_at = max(last_invocation_at, fast.arrival)

            for step in simulation.run(start, end):
                # EventBridge invokes within seconds: before the alarms evaluate at the minute's end.
                deliver_fast_until(step.end)
                if step.events:
                    _put_events(logs, log_group, stream, step.events)
                for transition in step.transitions:
                    cloudwatch.set_alarm_state(
                        AlarmName=transition.alarm.name,
                        StateValue=transition.new_state,
                        StateReason=transition.reason[:1023],
                    )
                    for action in transition.actions:
                        if action not in deployment.forwarder_topics:
                            result.other_notifications.append(OtherNotification(transition, action))
                            continue
                        frozen = max(0.0, (transition.at - last_invocation_at).total_seconds())
                        result.deliveries.append(
                            _deliver(
                                transition, action, deployment, forwarder, receiver, configured_at, frozen
                            )
                        )
                        last_invocation_at = transition.at
                result.steps.append(step)
                if on_step is not None:
                    on_step(step)
            deliver_fast_until(None)
        result.requests = list(receiver.requests)
        result.alerts = account_alerts(result.requests)
        result.dead_letters = aws.drain_queue(queue_url)
    return result


def _deliver(
    transition: Transition,
    topic_arn: str,
    deployment: Deployment,
    forwarder: LambdaProcess,
    receiver: PagerDutyReceiver,
    configured_at: datetime,
    frozen_seconds: float,
) -> Delivery:
    message = alarm_message(
        transition,
        account_id=deployment.account_id,
        region=deployment.region,
        configuration_updated_at=configured_at,
    )
    event = sns_lambda_event(
        message,
        topic_arn=topic_arn,
        subject=sns_subject(transition, deployment.region),
        published_at=transition.at,
    )
    before = len(receiver.requests)
    attempts: list[Invocation] = []
    for attempt in range(LAMBDA_ASYNC_ATTEMPTS):
        # Lambda retries a failed asynchronous invocation after about 1 and then 2 more minutes.
        invocation = forwarder.invoke(
            event, frozen_seconds=frozen_seconds if attempt == 0 else 60.0 * attempt
        )
        attempts.append(invocation)
        if invocation.ok:
            break
    return Delivery(transition, topic_arn, event, tuple(attempts), tuple(receiver.requests[before:]), before)


def _deliver_fast(
    fast: FastPathEvent,
    arrival: datetime,
    forwarder: LambdaProcess,
    receiver: PagerDutyReceiver,
    frozen_seconds: float,
) -> FastDelivery:
    """EventBridge invokes the forwarder asynchronously with the event as CloudTrail published it; Lambda
    retries a failed asynchronous invocation twice, as for SNS (EventBridge's own retry policy covers only
    failures to invoke, which do not happen here)."""
    before = len(receiver.requests)
    attempts: list[Invocation] = []
    for attempt in range(LAMBDA_ASYNC_ATTEMPTS):
        invocation = forwarder.invoke(
            fast.envelope, frozen_seconds=frozen_seconds if attempt == 0 else 60.0 * attempt
        )
        attempts.append(invocation)
        if invocation.ok:
            break
    return FastDelivery(fast, arrival, tuple(attempts), tuple(receiver.requests[before:]), before)


def write_requests(requests: Sequence[RecordedRequest], path: Path) -> Path:
    """Every request the PagerDuty receiver got, one JSON object per line, in arrival order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for request in requests:
            out.write(
                json.dumps(
                    {
                        "path": request.path,
                        "response_status": request.response_status,
                        "valid": request.valid,
                        "errors": request.errors,
                        "event": request.event
                        if request.event is not None
                        else request.body.decode("utf-8", "replace"),
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
    return path
