"""The forwarder's dependencies as typed ports: what the service needs of each, and nothing more.

boto3 clients, Powertools' Logger and the PagerDuty client satisfy them in the handler; the tests and the
benchmark pass in-memory fakes or moto-backed clients.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from lambdas.forwarder.pagerduty import DeliveryResult


class LogsPort(Protocol):
    """CloudWatch Logs: the evidence search."""

    def filter_log_events(self, **request: Any) -> Any: ...


class QueuePort(Protocol):
    """SQS: the dead-letter queue."""

    def send_message(self, **message: Any) -> Any: ...


class AccountAliasesPort(Protocol):
    """IAM: the account alias shown on the page."""

    def list_account_aliases(self) -> Any: ...


class PagerDutyPort(Protocol):
    """The Events API v2 client."""

    request_timeout: float

    def send(self, event: Mapping[str, object], remaining_seconds: Callable[[], float]) -> DeliveryResult: ...


class PacerPort(Protocol):
    """The rate limit shared by the container's FilterLogEvents calls."""

    def acquire(self, remaining_seconds: Callable[[], float]) -> bool: ...


class LoggerPort(Protocol):
    """Structured logging (Powertools Logger): ``extra`` carries the fields."""

    def set_correlation_id(self, value: str) -> None: ...
    def info(self, msg: object, *args: Any, **kwargs: Any) -> None: ...
    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None: ...
    def error(self, msg: object, *args: Any, **kwargs: Any) -> None: ...
    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None: ...
