"""The demo's fast path: which records the SYNTHESIZED EventBridge rules hand to the forwarder, and when.

    CloudTrail record ──> EventBridge envelope (detections.targets.eventbridge.eventbridge_envelope)
        ──> the alerting stack's rules, patterns as synthesized, judged by moto's EventBridge
            (testkit.eventbridge; independent of our compiler)
            ──> delivery delay or loss (demo.eventbridge_delivery, seeded)
            ──> the forwarder asset, invoked asynchronously per matching rule (demo.pipeline)

Read-only management events reach only rules in state ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html); moto
has no such state, so the demo applies it after moto's verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo.cdk_out import FastPathRuleDefinition
from demo.eventbridge_delivery import EventBridgeDelivery, EventBridgeModel, rng_for
from demo.simulation import LogEvent
from detections.targets.eventbridge import eventbridge_envelope
from testkit.eventbridge import MotoEventBridge
from testkit.moto_harness import MotoHarness

ALL_MANAGEMENT_EVENTS_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


@dataclass(frozen=True)
class FastPathEvent:
    """One record the fast path carries to the forwarder for one rule (EventBridge invokes once per rule)."""

    event: LogEvent
    rule: FastPathRuleDefinition
    envelope: dict[str, Any]
    delivery: EventBridgeDelivery

    @property
    def arrival(self) -> datetime | None:
        """When the forwarder is first invoked with it; None when EventBridge never got the record."""
        if self.delivery.delay_seconds is None:
            return None
        return self.event.timestamp + timedelta(seconds=self.delivery.delay_seconds)

    @property
    def detection_id(self) -> str:
        return self.rule.detection_id or self.rule.name


def reaches_rule(rule: FastPathRuleDefinition, record: dict[str, Any]) -> bool:
    return record.get("readOnly") is not True or rule.state == ALL_MANAGEMENT_EVENTS_STATE


def fast_path_events(
    events: Sequence[LogEvent],
    rules: Sequence[FastPathRuleDefinition],
    model: EventBridgeModel,
    seed: int,
    aws: MotoHarness,
) -> list[FastPathEvent]:
    """Every (record, rule) moto's EventBridge matches, with the record's EventBridge fate, in arrival order.

    Resets moto (the matcher stands up its own rules and queues): call it before anything else uses ``aws``.
    One draw per record in event order, matched or not, so a seed gives the same fates whatever the rules.
    """
    if not rules:
        return []
    rng = rng_for(seed)
    deliveries = [model.sample(rng) for _ in events]
    envelopes = [eventbridge_envelope(event.record) for event in events]
    published = [(index, envelope) for index, envelope in enumerate(envelopes) if envelope is not None]
    verdicts = MotoEventBridge(aws).matches(
        {rule.logical_id: rule.event_pattern for rule in rules}, [envelope for _, envelope in published]
    )
    found = []
    for rule in rules:
        for position in sorted(verdicts[rule.logical_id]):
            index, envelope = published[position]
            if reaches_rule(rule, events[index].record):
                found.append(FastPathEvent(events[index], rule, envelope, deliveries[index]))
    found.sort(key=lambda f: (f.arrival is None, f.arrival or f.event.timestamp, f.rule.logical_id))
    return found
