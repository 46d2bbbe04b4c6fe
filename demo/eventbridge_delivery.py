"""How late (and whether) CloudTrail hands each record to EventBridge: a seeded model, in seconds.

This is a SIMULATION built on an ASSUMPTION. AWS publishes no latency figure or distribution for CloudTrail ->
EventBridge delivery; what it documents is that CloudTrail's events reach EventBridge on a "best effort"
basis: "the service attempts to send all events to EventBridge, but in some rare cases an event might not be
delivered" (EventBridge User Guide, "Events from AWS services", and the EventBridge Events Reference,
events-ref-cloudtrail.html). AWS describes it as near real time; no measurement of it was found to fit to
(contrast demo/delivery_delay.py, fitted to published CloudTrail -> CloudWatch Logs figures).

The ``assumed`` model (default), parameters chosen, not measured:

* body: log-normal with median ``BODY_MEDIAN_SECONDS`` (3 s) and sigma ``BODY_SIGMA`` (0.8): p50 3 s,
  p95 about 11 s, p99 about 20 s;
* slow tail: with probability ``SLOW_PROBABILITY`` (1 in 1,000) the record is instead ``uniform(60, 300)``
  seconds late;
* loss: with probability ``LOSS_PROBABILITY`` (1 in 10,000) the record never reaches EventBridge ("in some
  rare cases an event might not be delivered"); the alarm path is then the only one that pages.

Measure your own account before trusting any of this (the README shows how: the forwarder logs the event's
``time`` beside the moment it handled it). The cross-region hop (another region's rule forwarding to the home
bus) is not modelled separately; the demo's records are in the home region.

Models by name (``--eventbridge-delay``): ``assumed`` (default), ``fixed:N`` (every record N seconds late,
none lost), ``none`` (every record at its eventTime, none lost).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

DEFAULT_EVENTBRIDGE_MODEL = "assumed"

BODY_MEDIAN_SECONDS = 3.0
BODY_SIGMA = 0.8
SLOW_PROBABILITY = 1 / 1000
SLOW_SECONDS = (60.0, 300.0)
LOSS_PROBABILITY = 1 / 10_000


class EventBridgeModelError(ValueError):
    """The model's name cannot be used; the message names the allowed forms."""


@dataclass(frozen=True)
class EventBridgeDelivery:
    """One record's fate: delivered after ``delay_seconds``, or lost (``delay_seconds`` is then None)."""

    delay_seconds: float | None

    @property
    def lost(self) -> bool:
        return self.delay_seconds is None


@dataclass(frozen=True)
class EventBridgeModel:
    kind: Literal["assumed", "fixed", "none"]
    fixed_seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"fixed:{self.fixed_seconds:g}" if self.kind == "fixed" else self.kind

    def sample(self, rng: random.Random) -> EventBridgeDelivery:
        if self.kind == "none":
            return EventBridgeDelivery(0.0)
        if self.kind == "fixed":
            return EventBridgeDelivery(self.fixed_seconds)
        # Draw every variate on every call so one record's rare draw never shifts the next record's body.
        loss_roll, slow_roll, body, slow = (
            rng.random(),
            rng.random(),
            rng.lognormvariate(math.log(BODY_MEDIAN_SECONDS), BODY_SIGMA),
            rng.uniform(*SLOW_SECONDS),
        )
        if loss_roll < LOSS_PROBABILITY:
            return EventBridgeDelivery(None)
        return EventBridgeDelivery(round(slow if slow_roll < SLOW_PROBABILITY else body, 3))

    def samples(self, count: int, seed: int) -> list[EventBridgeDelivery]:
        rng = rng_for(seed)
        return [self.sample(rng) for _ in range(count)]


def rng_for(seed: int) -> random.Random:
    """This model's generator for ``seed``: a stream of its own, so that the same seed given to the CloudWatch
    Logs delay model (demo/delivery_delay.py) does not make a record's two fates correlated."""
    return random.Random(f"eventbridge/{seed}")


def parse_eventbridge_model(text: str) -> EventBridgeModel:
    """``assumed`` | ``fixed:N`` (N seconds, >= 0) | ``none``."""
    if text in ("assumed", "none"):
        return EventBridgeModel(kind=text)  # type: ignore[arg-type]
    if text.startswith("fixed:"):
        try:
            seconds = float(text.removeprefix("fixed:"))
        except ValueError:
            seconds = -1.0
        if seconds >= 0 and math.isfinite(seconds):
            return EventBridgeModel(kind="fixed", fixed_seconds=seconds)
    raise EventBridgeModelError(
        f"--eventbridge-delay {text!r}: expected 'assumed' (the default; AWS publishes no CloudTrail -> "
        "EventBridge latency, see demo/eventbridge_delivery.py), 'fixed:N' (every record N seconds late, "
        "e.g. fixed:5) or 'none'"
    )
