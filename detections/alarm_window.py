"""How wide a detection alarm's evaluation window must be to page on CloudTrail records that reach the log
group late: the one home of that rule, used by the alarm construct, the demo and the benchmark.

A metric filter stamps its data point with the log event's time (the record's ``eventTime``), so a record
delivered ``d`` seconds late adds a data point ``d`` seconds in the alarm's past. An alarm with Period P,
EvaluationPeriods N and DatapointsToAlarm 1 is evaluated every minute over the N most recent complete
periods (CloudWatch looks a little further back, by an unpublished amount, only when some of those N are
missing, so the guarantee below does not count on it). A record in period ``[s, s+P)`` that becomes
visible at ``a`` is first evaluated at the first whole minute after ``a``; it is inside the N periods when
``a - eventTime <= (N - 1) * P``. Hence: tolerating a delay D needs ``N = ceil(D / P) + 1``, and an
on-time record still pages at the first evaluation after it lands, exactly as with N = 1.

Sources: CloudWatch User Guide, "Alarm evaluation" (evaluation range, actions on state change only) and
"PutMetricAlarm" (Period x EvaluationPeriods at most one day for periods under an hour); CloudTrail User
Guide ("within an average of about 5 minutes ... not guaranteed").
"""

from __future__ import annotations

import math

#: Tolerated CloudTrail -> CloudWatch Logs delivery delay when nothing is configured, in minutes. Published
#: S3-delivery measurements put p99 just over 5 minutes and fewer than 1 in 3,000 past 10 minutes; 19
#: minutes keeps a 60 s alarm at 20 evaluation periods (a 20-minute window).
DEFAULT_TOLERATED_DELAY_MINUTES = 19
#: CloudTrail's own documented average is "about 5 minutes": a smaller tolerance would miss ordinary records.
MIN_TOLERATED_DELAY_MINUTES = 5
#: CloudWatch: Period x EvaluationPeriods must be at most one day (for periods under an hour).
MAX_EVALUATION_WINDOW_SECONDS = 86_400


def evaluation_periods_for_delay(tolerated_delay_seconds: int, period_seconds: int) -> int:
    """EvaluationPeriods (with DatapointsToAlarm 1) that still counts a record ``tolerated_delay_seconds``
    late: ``ceil(delay / period) + 1``.

    >>> evaluation_periods_for_delay(19 * 60, 60)
    20
    >>> evaluation_periods_for_delay(0, 60)
    1
    """
    if period_seconds <= 0 or tolerated_delay_seconds < 0:
        raise ValueError(
            f"period must be positive and delay non-negative; got {period_seconds} s, "
            f"{tolerated_delay_seconds} s"
        )
    return math.ceil(tolerated_delay_seconds / period_seconds) + 1


def tolerated_delay_seconds(period_seconds: int, evaluation_periods: int) -> int:
    """The delivery delay an alarm of ``evaluation_periods`` x ``period_seconds`` (1 datapoint to alarm)
    is guaranteed to tolerate: ``(N - 1) * P``. The inverse of :func:`evaluation_periods_for_delay`."""
    return max(0, evaluation_periods - 1) * period_seconds


#: After the alarm's evaluation window, how long its page may still take to reach the forwarder: the alarm is
#: evaluated once a minute, then SNS, a Lambda retry or two (minutes apart) and the evidence search.
EPISODE_MARGIN_SECONDS = 600


def episode_seconds(period_seconds: int, evaluation_periods: int) -> int:
    """How long a fast-path page's episode stays open for the alarm path to join: the alarm's evaluation
    window (a record that late still fires it) plus ``EPISODE_MARGIN_SECONDS``.

    >>> episode_seconds(60, 20)
    1800
    """
    return period_seconds * evaluation_periods + EPISODE_MARGIN_SECONDS


#: The default alarm's episode (60 s periods tolerating the default delay), for settings without one.
DEFAULT_EPISODE_SECONDS = episode_seconds(
    60, evaluation_periods_for_delay(DEFAULT_TOLERATED_DELAY_MINUTES * 60, 60)
)
