"""The forwarder's dependencies as typed ports: what the service needs of each, and nothing more.

boto3 clients, Powertools' Logger and the PagerDuty client satisfy them in the handler; the tests and the
benchmark pass in-memory fakes or moto-backed clients.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from lambdas.forwarder.pagerduty import DeliveryResult

if TYPE_CHECKING:  # pragma: no cover
    from lambdas.forwarder.episodes import Episode


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


class EpisodeStorePort(Protocol):
    """Open episodes and paged events, shared by both paths (DynamoDB in the deployment, see episode_store).

    Any method may raise (throttling, access denied, a timeout): the service then still pages.
    """

    def open_episode(self, episode: Episode, now: datetime) -> str:
        """Open ``episode`` unless one is open for its detection and account; the open episode's dedup key."""
        ...

    def already_paged(self, event_key: str, now: datetime) -> bool:
        """Whether a page for this event (and detection) was already accepted by PagerDuty."""
        ...

    def record_paged(self, event_key: str, expires_at: datetime) -> None:
        """Remember that PagerDuty accepted the page for this event, until ``expires_at``."""
        ...


class DynamoDBPort(Protocol):
    """DynamoDB: the episode table."""

    def get_item(self, **request: Any) -> Any: ...
    def put_item(self, **request: Any) -> Any: ...
