"""How late each CloudTrail record reaches the trail's CloudWatch Logs log group: a seeded delay model.

This is a SIMULATION. No distribution of CloudTrail -> CloudWatch Logs delivery is published; the default
model (``published``) is fitted to what is published about CloudTrail delivery:

* CloudTrail User Guide: delivery to S3 and CloudWatch Logs "within an average of about 5 minutes of an
  API call. This time is not guaranteed."
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html
* Tracebit (Nov 2023), S3 delivery measured with Athena (``$file_modified_time - eventTime``): average about
  2.5 minutes, p95 and p99 just over 5 minutes, fewer than 1 event in 3,000 later than 10 minutes, rare
  outliers of hours. https://tracebit.com/blog/2023/11/how-fast-is-cloudtrail-today-investigating-cloudtrail-delays-using-athena/

The fit (three parts; a fit to four published numbers, not a model of CloudTrail's internals):

* body: ``uniform(0, 260 s)`` with probability 0.9, else ``uniform(290 s, 320 s)`` (the records that wait for
  the next of CloudTrail's roughly 5-minute deliveries), plus a log-normal processing time (median
  ``PROCESSING_MEDIAN_SECONDS``, sigma ``PROCESSING_SIGMA``). Measured over 100,000 draws (seed 20261130):
  mean 2.6 min, p95 5.2 min, p99 5.4 min (tests/unit/demo/test_demo_late_delivery.py holds it to these).
* tail: with probability ``TAIL_PROBABILITY`` (1 in 5,000, under the published "fewer than 1 in 3,000 over
  10 minutes") a record is instead ``uniform(10, 30)`` minutes late:
the tail the issue asks for, some of it beyond the default tolerated delay of 19 minutes. Outliers of hours
are not modelled by default (use ``fixed:N`` to replay one). Measure your own trail with the README's Logs
Insights query before trusting any of these numbers.

Models by name (``--delivery-delay``): ``published`` (default), ``fixed:N`` (every record N minutes late,
N may be fractional), ``none`` (every record arrives at its eventTime, as the demo did before).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

from demo.simulation import LogEvent

DEFAULT_MODEL = "published"
DEFAULT_SEED = 20261130

FAST_PROBABILITY = 0.9
FAST_SECONDS = (0.0, 260.0)
NEXT_DELIVERY_SECONDS = (290.0, 320.0)
PROCESSING_MEDIAN_SECONDS = 5.0
PROCESSING_SIGMA = 0.5
TAIL_PROBABILITY = 1 / 5000
TAIL_MINUTES = (10.0, 30.0)


class DelayModelError(ValueError):
    """The delay model's name cannot be used; the message names the allowed forms."""


@dataclass(frozen=True)
class DelayModel:
    """A named delivery-delay distribution; ``sample`` draws one delay in seconds from ``rng``."""

    kind: Literal["published", "fixed", "none"]
    fixed_seconds: float = 0.0

    @property
    def name(self) -> str:
        if self.kind == "fixed":
            return f"fixed:{self.fixed_seconds / 60:g}"
        return self.kind

    def sample(self, rng: random.Random) -> float:
        if self.kind == "none":
            return 0.0
        if self.kind == "fixed":
            return self.fixed_seconds
        # Draw every variate on every call so one record's tail draw never shifts the next record's body.
        tail_roll, fast_roll, fast, next_delivery, processing, tail = (
            rng.random(),
            rng.random(),
            rng.uniform(*FAST_SECONDS),
            rng.uniform(*NEXT_DELIVERY_SECONDS),
            rng.lognormvariate(math.log(PROCESSING_MEDIAN_SECONDS), PROCESSING_SIGMA),
            rng.uniform(TAIL_MINUTES[0] * 60, TAIL_MINUTES[1] * 60),
        )
        if tail_roll < TAIL_PROBABILITY:
            return round(tail, 3)
        return round((fast if fast_roll < FAST_PROBABILITY else next_delivery) + processing, 3)

    def samples(self, count: int, seed: int) -> list[float]:
        rng = random.Random(seed)
        return [self.sample(rng) for _ in range(count)]


def parse_delay_model(text: str) -> DelayModel:
    """``published`` | ``fixed:N`` (N minutes, >= 0) | ``none``."""
    if text in ("published", "none"):
        return DelayModel(kind=text)  # type: ignore[arg-type]
    if text.startswith("fixed:"):
        try:
            minutes = float(text.removeprefix("fixed:"))
        except ValueError:
            minutes = -1.0
        if minutes >= 0 and math.isfinite(minutes):
            return DelayModel(kind="fixed", fixed_seconds=minutes * 60)
    raise DelayModelError(
        f"--delivery-delay {text!r}: expected 'published' (the default, fitted to published CloudTrail "
        "delivery figures), 'fixed:N' (every record N minutes late, e.g. fixed:6) or 'none'"
    )


def delay_events(events: Sequence[LogEvent], model: DelayModel, seed: int) -> list[LogEvent]:
    """Each event with its delivery delay drawn in event order (same seed and records: same arrivals)."""
    rng = random.Random(seed)
    return [replace(event, delay=timedelta(seconds=model.sample(rng))) for event in events]
