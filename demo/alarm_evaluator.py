"""CloudWatch metric alarm evaluation over simulated time: what an alarm deployed from our template would do.

Pure and deterministic: datapoints in, state transitions out. The semantics follow CloudWatch's documented
behaviour ("Alarm evaluation" and "Configuring how CloudWatch alarms treat missing data" in the CloudWatch
User Guide):

* Each evaluation looks at an *evaluation range* of recent periods, wider than ``EvaluationPeriods`` (N).
  If the range holds at least N real datapoints, the N most recent real ones are evaluated and the
  missing-data setting plays no part. Otherwise every real datapoint in the range is used and the shortfall
  is filled with missing datapoints, treated as the alarm's ``TreatMissingData`` says
  (``notBreaching`` good, ``breaching`` bad, ``missing``/``ignore``: see below).
* ALARM when at least ``DatapointsToAlarm`` (M, default N) of the evaluated datapoints breach; else OK.
* ``missing``: a range with no real datapoint gives INSUFFICIENT_DATA. ``ignore``: such a range keeps the
  current state. With some real datapoints both evaluate those alone.
* The alarm is evaluated once per minute; a datapoint is the statistic over one period-aligned bucket.

CloudWatch does not publish the exact width of the evaluation range ("depends on the length of the alarm
period"); its worked example uses N + 2 for a 3-of-3 alarm, which is what ``evaluation_range`` uses.
Not modelled: CloudWatch's extra rule that holds back a premature ALARM for ``missing`` when the newest
datapoints are absent, percentile statistics, metric math and anomaly bands (all rejected with an error,
none is used by our templates).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
TreatMissingData = Literal["missing", "notBreaching", "breaching", "ignore"]

COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (
        "greater than or equal to",
        lambda value, threshold: value >= threshold,
    ),
    "GreaterThanThreshold": ("greater than", lambda value, threshold: value > threshold),
    "LessThanThreshold": ("less than", lambda value, threshold: value < threshold),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda value, threshold: value <= threshold),
}
STATISTICS = ("Sum", "SampleCount", "Average", "Minimum", "Maximum")
TREATMENTS: tuple[TreatMissingData, ...] = ("missing", "notBreaching", "breaching", "ignore")


class AlarmDefinitionError(ValueError):
    """An alarm setting this evaluator cannot reproduce faithfully; names the alarm, the setting and why."""


@dataclass(frozen=True)
class AlarmDefinition:
    """The settings of one ``AWS::CloudWatch::Alarm`` that decide its state, as deployed."""

    name: str
    metric_name: str
    namespace: str
    statistic: str
    period_seconds: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    treat_missing_data: TreatMissingData = "missing"
    datapoints_to_alarm: int | None = None
    description: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    unit: str | None = None
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    actions_enabled: bool = True
    # Periods CloudWatch looks back beyond EvaluationPeriods when some are missing: unpublished; 2 follows
    # its worked example. The delay benchmark also runs 0, to show what its results owe to this guess.
    extra_lookback_periods: int = 2

    def __post_init__(self) -> None:
        problems = []
        if self.statistic not in STATISTICS:
            problems.append(f"Statistic {self.statistic!r} (supported: {', '.join(STATISTICS)})")
        if self.comparison_operator not in COMPARISONS:
            problems.append(
                f"ComparisonOperator {self.comparison_operator!r} (supported: {', '.join(COMPARISONS)})"
            )
        if self.treat_missing_data not in TREATMENTS:
            problems.append(
                f"TreatMissingData {self.treat_missing_data!r} (allowed: {', '.join(TREATMENTS)})"
            )
        if self.period_seconds < 60 or self.period_seconds % 60:
            problems.append(
                f"Period {self.period_seconds} (the simulation runs per minute: use a multiple of 60)"
            )
        if self.evaluation_periods < 1:
            problems.append(f"EvaluationPeriods {self.evaluation_periods} (must be at least 1)")
        if not 1 <= self.required_breaches <= self.evaluation_periods:
            problems.append(
                f"DatapointsToAlarm {self.datapoints_to_alarm} (must be between 1 and EvaluationPeriods "
                f"{self.evaluation_periods})"
            )
        if problems:
            raise AlarmDefinitionError(f"alarm {self.name!r}: cannot evaluate " + "; ".join(problems))

    @property
    def required_breaches(self) -> int:
        """M in "M out of N": CloudWatch defaults DatapointsToAlarm to EvaluationPeriods."""
        return self.datapoints_to_alarm if self.datapoints_to_alarm is not None else self.evaluation_periods

    @property
    def evaluation_range(self) -> int:
        return self.evaluation_periods + self.extra_lookback_periods

    def breaches(self, value: float) -> bool:
        return bool(COMPARISONS[self.comparison_operator][1](value, self.threshold))


@dataclass(frozen=True)
class Datapoint:
    """One period's statistic; ``start`` is the beginning of the period-aligned bucket (UTC)."""

    start: datetime
    value: float


@dataclass(frozen=True)
class Evaluation:
    state: AlarmState
    reason: str
    datapoints: tuple[Datapoint, ...]  # the real datapoints evaluated, newest first
    missing_filled: int  # how many missing datapoints were filled in


@dataclass(frozen=True)
class Transition:
    """A state change, as CloudWatch would record it and notify its actions."""

    alarm: AlarmDefinition
    at: datetime
    old_state: AlarmState
    new_state: AlarmState
    reason: str
    datapoints: tuple[Datapoint, ...]

    @property
    def actions(self) -> tuple[str, ...]:
        if not self.alarm.actions_enabled:
            return ()
        return {
            "ALARM": self.alarm.alarm_actions,
            "OK": self.alarm.ok_actions,
            "INSUFFICIENT_DATA": self.alarm.insufficient_data_actions,
        }[self.new_state]


def aggregate(statistic: str, samples: Sequence[float]) -> float:
    """The CloudWatch statistic over one period's raw samples (at least one sample)."""
    if statistic == "Sum":
        return math.fsum(samples)
    if statistic == "SampleCount":
        return float(len(samples))
    if statistic == "Average":
        return math.fsum(samples) / len(samples)
    if statistic == "Minimum":
        return min(samples)
    if statistic == "Maximum":
        return max(samples)
    raise AlarmDefinitionError(f"unsupported statistic {statistic!r}")


def bucket_start(moment: datetime, period_seconds: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=UTC)


def to_datapoints(
    samples: Iterable[tuple[datetime, float]], statistic: str, period_seconds: int
) -> dict[datetime, Datapoint]:
    """Group raw metric samples (timestamp, value) into period buckets and apply the statistic."""
    buckets: dict[datetime, list[float]] = {}
    for moment, value in samples:
        buckets.setdefault(bucket_start(moment, period_seconds), []).append(value)
    return {
        start: Datapoint(start, aggregate(statistic, values)) for start, values in sorted(buckets.items())
    }


@dataclass(frozen=True)
class ArrivingSample:
    """A metric sample stamped ``timestamp`` (the log event's time) that exists for CloudWatch only from
    ``arrival`` (when the log event reached the log group and the metric filter saw it)."""

    timestamp: datetime
    value: float
    arrival: datetime


class ArrivingDatapoints:
    """The datapoints an alarm can see as simulated time advances: a late sample lands in its own (past)
    period, and only once it has arrived. ``visible`` is the live mapping the evaluator reads."""

    def __init__(self, samples: Iterable[ArrivingSample], statistic: str, period_seconds: int) -> None:
        self._pending = sorted(samples, key=lambda sample: sample.arrival)
        self._next = 0
        self._statistic = statistic
        self._period = period_seconds
        self._values: dict[datetime, list[float]] = {}
        self.visible: dict[datetime, Datapoint] = {}

    def advance(self, at: datetime) -> None:
        """Admit every sample that arrived before ``at`` (an evaluation at ``at`` sees exactly those)."""
        touched: set[datetime] = set()
        while self._next < len(self._pending) and self._pending[self._next].arrival < at:
            sample = self._pending[self._next]
            start = bucket_start(sample.timestamp, self._period)
            self._values.setdefault(start, []).append(sample.value)
            touched.add(start)
            self._next += 1
        for start in touched:
            self.visible[start] = Datapoint(start, aggregate(self._statistic, self._values[start]))


def first_alarm_for_one_sample(alarm: AlarmDefinition, sample: ArrivingSample) -> datetime | None:
    """When ``alarm``, quiet (OK) before, first goes to ALARM because of this one late sample alone: the
    same :func:`evaluate` as the minute-by-minute simulation, run only at the minutes where its answer can
    change (the first evaluation after arrival, then each period boundary while the sample's period is in
    the evaluation range). None: the sample is never counted (it arrived too late for the window).

    Equivalent to stepping :class:`AlarmSimulation` every minute over :class:`ArrivingDatapoints`
    (tests/unit/demo prove it on samples); the benchmark uses it to run 100,000s of events quickly.
    """
    period = timedelta(seconds=alarm.period_seconds)
    datapoints = {
        bucket_start(sample.timestamp, alarm.period_seconds): Datapoint(
            bucket_start(sample.timestamp, alarm.period_seconds),
            aggregate(alarm.statistic, [sample.value]),
        )
    }
    first = bucket_start(sample.arrival, 60) + timedelta(minutes=1)  # first evaluation with arrival < it
    candidates = [first]
    boundary = bucket_start(first, alarm.period_seconds)
    for _ in range(alarm.evaluation_range + 1):
        boundary += period
        candidates.append(boundary)
    for at in candidates:
        if evaluate(alarm, datapoints, at, "OK").state == "ALARM":
            return at
    return None


def _number(value: float) -> str:
    return repr(float(value))


def _stamp(moment: datetime) -> str:
    # CloudWatch's reason text writes datapoint times as dd/MM/yy HH:mm:ss.
    return moment.strftime("%d/%m/%y %H:%M:%S")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def evaluate(
    alarm: AlarmDefinition,
    datapoints: Mapping[datetime, Datapoint],
    at: datetime,
    current_state: AlarmState,
) -> Evaluation:
    """Evaluate ``alarm`` at ``at`` over the complete periods before it."""
    period = timedelta(seconds=alarm.period_seconds)
    newest = bucket_start(at, alarm.period_seconds) - period  # the last period that has ended by ``at``
    in_range = [newest - i * period for i in range(alarm.evaluation_range)]  # newest first
    real = [datapoints[start] for start in in_range if start in datapoints]
    n, m = alarm.evaluation_periods, alarm.required_breaches
    phrase = COMPARISONS[alarm.comparison_operator][0]

    if len(real) >= n:
        evaluated, filled = real[:n], 0
    else:
        evaluated, filled = real, n - len(real)
        if not real and alarm.treat_missing_data in ("missing", "ignore"):
            if alarm.treat_missing_data == "ignore":
                return Evaluation(current_state, "", (), filled)
            return Evaluation(
                "INSUFFICIENT_DATA",
                f"Insufficient Data: {_plural(filled, 'datapoint')} {_was(filled)} unknown.",
                (),
                filled,
            )

    breaching = [dp for dp in evaluated if alarm.breaches(dp.value)]
    breach_count = len(breaching)
    if filled and alarm.treat_missing_data == "breaching":
        breach_count += filled
    new_state: AlarmState = "ALARM" if breach_count >= m else "OK"

    if not evaluated:
        treated_as = "Breaching" if alarm.treat_missing_data == "breaching" else "NonBreaching"
        reason = (
            f"Threshold Crossed: no datapoints were received for {_plural(filled, 'period')} and "
            f"{_plural(filled, 'missing datapoint')} {_was(filled)} treated as [{treated_as}]."
        )
        return Evaluation(new_state, reason, (), filled)

    shown = breaching if new_state == "ALARM" else [dp for dp in evaluated if not alarm.breaches(dp.value)]
    listed = ", ".join(f"{_number(dp.value)} ({_stamp(dp.start)})" for dp in shown)
    verb = _was(len(shown))
    negation = "" if new_state == "ALARM" else "not "
    direction = f"{current_state} -> {new_state}"
    needed = m if new_state == "ALARM" else n - m + 1
    reason = (
        f"Threshold Crossed: {len(shown)} out of the last {len(evaluated)} datapoints [{listed}] {verb} "
        f"{negation}{phrase} the threshold ({_number(alarm.threshold)}) "
        f"(minimum {_plural(needed, 'datapoint')} for {direction} transition)."
    )
    return Evaluation(new_state, reason, tuple(evaluated), filled)


@dataclass
class AlarmSimulation:
    """One alarm stepping through simulated minutes; remembers its state between evaluations."""

    alarm: AlarmDefinition
    datapoints: dict[datetime, Datapoint]
    state: AlarmState = "INSUFFICIENT_DATA"
    transitions: list[Transition] = field(default_factory=list)

    def settle(self, at: datetime) -> None:
        """Put the alarm in the state it would hold at ``at`` after a long quiet time, without notifying.

        A deployed alarm has been evaluated for days before the scenario starts; starting it in
        INSUFFICIENT_DATA would send every OK action at minute 0, which real alarms would have sent long ago.
        """
        self.state = evaluate(self.alarm, {}, at, self.state).state

    def step(self, at: datetime) -> Transition | None:
        result = evaluate(self.alarm, self.datapoints, at, self.state)
        if result.state == self.state:
            return None
        transition = Transition(self.alarm, at, self.state, result.state, result.reason, result.datapoints)
        self.state = result.state
        self.transitions.append(transition)
        return transition


def minutes_between(start: datetime, end: datetime) -> list[datetime]:
    """Evaluation instants: every whole minute after ``start`` up to and including ``end``."""
    first = bucket_start(start, 60) + timedelta(minutes=1)
    count = max(0, int((end - first).total_seconds() // 60) + 1)
    return [first + timedelta(minutes=i) for i in range(count)]
