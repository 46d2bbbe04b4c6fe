"""The invocation's time budget: one deadline object, and every margin the forwarder keeps, defined here.

A page must leave before the Lambda timeout, whatever enrichment does. So the time left is split: delivery
keeps a reserve (at least one PagerDuty attempt, and a share of the time for retries with backoff);
enrichment gets the rest, and starts a FilterLogEvents call only when even that call's worst case leaves
one delivery attempt. Every caller asks the deadline; none keeps its own arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable

# The logs client's timeouts (handler.py builds its botocore Config from these). One FilterLogEvents call can
# take up to their sum, so enrichment only starts a call when that much time is left besides delivery's.
FILTER_LOG_EVENTS_CONNECT_TIMEOUT = 2
FILTER_LOG_EVENTS_READ_TIMEOUT = 10
FILTER_LOG_EVENTS_MAX_SECONDS = FILTER_LOG_EVENTS_CONNECT_TIMEOUT + FILTER_LOG_EVENTS_READ_TIMEOUT

#: Kept after a PagerDuty request's timeout, for reading the answer and returning from the invocation.
RESPONSE_MARGIN_SECONDS = 0.5
#: A request with less time than this cannot complete: give up instead of sending it.
MIN_REQUEST_TIMEOUT_SECONDS = 0.2
#: A retry is worth its backoff only if at least this much is left afterwards for the request.
RETRY_MARGIN_SECONDS = 0.7
#: The share of the time left that delivery keeps for its retries when enrichment starts.
DELIVERY_SHARE = 0.45


class Deadline:
    """The time left in the invocation (seconds, from the Lambda context) and what may still start in it.

    Callable, so it serves wherever a ``remaining_seconds`` function is expected.
    """

    def __init__(self, remaining_seconds: Callable[[], float]) -> None:
        self._remaining_seconds = remaining_seconds

    @classmethod
    def of(cls, remaining: Callable[[], float]) -> Deadline:
        return remaining if isinstance(remaining, Deadline) else cls(remaining)

    def __call__(self) -> float:
        return self._remaining_seconds()

    def expired(self) -> bool:
        return self() <= 0

    def allows_wait(self, seconds: float) -> bool:
        """Waiting ``seconds`` (pacing or backoff) still ends before the deadline."""
        return seconds < self()

    # --- delivery ---------------------------------------------------------------------------------------

    def request_timeout(self, wanted: float) -> float | None:
        """The timeout for a PagerDuty request starting now; None when none can complete in the time left."""
        timeout = min(wanted, self() - RESPONSE_MARGIN_SECONDS)
        return timeout if timeout > MIN_REQUEST_TIMEOUT_SECONDS else None

    def allows_retry_after(self, backoff: float) -> bool:
        return backoff + RETRY_MARGIN_SECONDS < self()

    # --- enrichment -------------------------------------------------------------------------------------

    def for_enrichment(self, request_timeout: float) -> Deadline:
        """What enrichment may spend: the time left minus delivery's reserve (fixed now, as enrichment
        starts), and never so much that a FilterLogEvents call's worst case eats the one delivery attempt."""
        one_delivery_attempt = request_timeout + RESPONSE_MARGIN_SECONDS
        delivery_reserve = max(one_delivery_attempt, DELIVERY_SHARE * self())

        def enrichment_time_left() -> float:
            left = self()
            return min(left - delivery_reserve, left - FILTER_LOG_EVENTS_MAX_SECONDS - one_delivery_attempt)

        return Deadline(enrichment_time_left)
