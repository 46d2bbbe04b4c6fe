"""The deadline: what may still start in the time left. Every margin of the forwarder lives in budget.py."""

from __future__ import annotations

import pytest

from lambdas.forwarder.budget import (
    DELIVERY_SHARE,
    FILTER_LOG_EVENTS_MAX_SECONDS,
    MIN_REQUEST_TIMEOUT_SECONDS,
    RESPONSE_MARGIN_SECONDS,
    RETRY_MARGIN_SECONDS,
    Deadline,
)


class Clock:
    def __init__(self, remaining: float) -> None:
        self.remaining = remaining

    def __call__(self) -> float:
        return self.remaining


def test_a_request_gets_its_timeout_only_while_it_can_complete() -> None:
    clock = Clock(60.0)
    deadline = Deadline(clock)
    assert deadline.request_timeout(5.0) == 5.0
    clock.remaining = 3.0
    assert deadline.request_timeout(5.0) == pytest.approx(3.0 - RESPONSE_MARGIN_SECONDS)
    clock.remaining = RESPONSE_MARGIN_SECONDS + MIN_REQUEST_TIMEOUT_SECONDS
    assert deadline.request_timeout(5.0) is None


def test_a_retry_must_leave_time_for_its_request() -> None:
    deadline = Deadline(Clock(2.0))
    assert deadline.allows_retry_after(2.0 - RETRY_MARGIN_SECONDS - 0.01)
    assert not deadline.allows_retry_after(2.0 - RETRY_MARGIN_SECONDS)


def test_enrichment_leaves_delivery_its_reserve_fixed_when_enrichment_starts() -> None:
    clock = Clock(60.0)
    enrichment = Deadline(clock).for_enrichment(request_timeout=5.0)
    reserve = DELIVERY_SHARE * 60.0  # larger than one attempt (5.5 s)
    assert enrichment() == pytest.approx(60.0 - reserve)
    clock.remaining = 40.0  # time spent: the reserve stays what it was
    assert enrichment() == pytest.approx(40.0 - reserve)


def test_enrichment_never_lets_a_worst_case_search_eat_the_one_delivery_attempt() -> None:
    enrichment = Deadline(Clock(15.0)).for_enrichment(request_timeout=5.0)
    one_attempt = 5.0 + RESPONSE_MARGIN_SECONDS
    assert enrichment() == pytest.approx(15.0 - FILTER_LOG_EVENTS_MAX_SECONDS - one_attempt)
    assert enrichment.expired()


def test_of_wraps_a_plain_function_once() -> None:
    deadline = Deadline(Clock(1.0))
    assert Deadline.of(deadline) is deadline
    assert Deadline.of(lambda: 2.5)() == 2.5
    assert deadline.allows_wait(0.5) and not deadline.allows_wait(1.0)
