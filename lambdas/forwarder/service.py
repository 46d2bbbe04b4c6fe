"""Orchestration: one alarm notification or fast-path event in, one PagerDuty event or one dead-letter out.

The alarm's path reads top to bottom in ``forward_notification``: which detection and what it means
(episodes), the dedup key (the open episode's, when the fast path paged first), the routing key, then either
a resolve, or evidence (evidence, enrichment), a page (page) and a trigger (pagerduty); delivery and
dead-lettering come last. The fast path, ``forward_trail_event``, reads the same way without the search:
the CloudTrail event is its own evidence. The deadline (budget) is the only place that decides how time is
spent. The episode store is best effort: when it fails, the page still goes out (counted as
EpisodeStoreFailures; an extra alert is acceptable, a lost one is not).

Every I/O collaborator arrives in :class:`Dependencies`, so tests and the benchmark can run this against
moto's server and a local PagerDuty receiver, and the handler stays a thin adapter.

Outcomes (exactly one per notification, each logged and counted):
* page sent (trigger, possibly degraded) or resolve sent  -> metric PagesSent / ResolvesSent
  (degraded: evidence search failed or timed out, or building the full page failed -> the alarm alone)
* every event behind the alarm suppressed                 -> no page, metric Suppressed
* deliberate no-op (OK of a manual detection, ...)        -> metric Ignored
* fast-path event already paged (a redelivery)            -> no page, metric DuplicateEvents
* malformed/unknown input, or PagerDuty rejected (4xx)    -> dead-letter message, metric DeadLettered
* PagerDuty unreachable after retries, secret unreadable -> metric DeliveryFailures and the invocation raises;
  DLQ unwritable -> raises. Lambda's asynchronous retries apply, then its on-failure destination (the same
  dead-letter queue).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from detections.catalogue import Detection
from lambdas.forwarder import enrichment, episodes, page
from lambdas.forwarder.budget import Deadline
from lambdas.forwarder.enrichment import Evidence, Place, Window
from lambdas.forwarder.environment import ForwarderMetric
from lambdas.forwarder.episodes import Decision, Episode
from lambdas.forwarder.evidence import fetch_evidence
from lambdas.forwarder.models import (
    AlarmNotification,
    MalformedNotificationError,
    TrailEvent,
    parse_lambda_event,
)
from lambdas.forwarder.pagerduty import (
    RejectedEventError,
    RetryableDeliveryError,
    resolve_event,
    trigger_event,
)
from lambdas.forwarder.ports import (
    AccountAliasesPort,
    EpisodeStorePort,
    LoggerPort,
    LogsPort,
    PacerPort,
    PagerDutyPort,
    QueuePort,
)
from lambdas.forwarder.settings import ForwarderSettings

MAX_DEAD_LETTER_BYTES = 240 * 1024  # SQS allows 256 KiB per message; keep room for attributes


class RoutingKeyUnavailableError(RuntimeError):
    """The routing-key secret could not be read (after the SDK's retries): fail so Lambda retries later."""


@dataclass
class Dependencies:
    settings: ForwarderSettings
    logs: LogsPort
    sqs: QueuePort
    routing_key: Callable[[], str]  # cached read of the secret (Powertools parameters)
    account_alias: Callable[[str], str | None]
    pagerduty: PagerDutyPort
    pacer: PacerPort
    lookup_detection: Callable[[str], Detection]
    logger: LoggerPort
    count: Callable[[str, float], None]  # metric name, value
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: Open episodes and paged events; None: each path pages on its own keys (tests of one path).
    episodes: EpisodeStorePort | None = None
    #: The detections the fast path's rules deliver events for (their filter patterns identify the detection).
    fast_path_detections: Sequence[Detection] = ()
    #: The forwarder's own region and partition (the trail's log group is there); None: the event's own.
    home: Place | None = None
    #: The account the function runs in (only its alias can be read); None when unknown.
    own_account: Callable[[], str | None] = lambda: None


def forward_event(
    event: object, deps: Dependencies, remaining_seconds: Callable[[], float]
) -> dict[str, object]:
    """Every notification in a Lambda event, each to exactly one outcome; unreadable records dead-lettered."""
    deadline = Deadline.of(remaining_seconds)
    parsed = parse_lambda_event(event)
    outcomes: list[str] = []
    for failure in parsed.failures:
        deps.logger.error("Malformed alarm notification: dead-lettering it", extra={"reason": failure.reason})
        dead_letter(
            deps,
            "malformed-notification",
            failure.reason,
            original=failure.raw if failure.raw is not None else event,
        )
        outcomes.append("dead-lettered")
    for notification in parsed.notifications:
        outcomes.append(forward_notification(notification, deps, deadline))
    for trail_event in parsed.trail_events:
        outcomes += forward_trail_event(trail_event, deps, deadline)
    return {"outcomes": outcomes}


def forward_notification(notification: AlarmNotification, deps: Dependencies, deadline: Deadline) -> str:
    deps.logger.set_correlation_id(notification.alarm_arn)
    detection = episodes.map_to_detection(
        notification,
        deps.settings.alarm_name_prefix,
        deps.lookup_detection,
        namespace=deps.settings.metric_namespace,
    )
    decision = episodes.decide(notification, detection)
    _log_received(deps, notification, detection, decision)
    if decision.action == "ignore":
        deps.count(ForwarderMetric.IGNORED, 1)
        return "ignored"
    if decision.action == "dead-letter":
        dead_letter(deps, "unknown-alarm", decision.reason, original=_notification_record(notification))
        return "dead-lettered"

    key = episodes.dedup_key(
        notification, detection.id if detection else None, detection.resolve_policy if detection else None
    )
    routing_key = _routing_key(deps)
    original = _notification_record(notification)
    if decision.action == "resolve":
        return _deliver(
            deps, resolve_event(routing_key, key), key, original, deadline, ForwarderMetric.RESOLVES_SENT
        )

    window = enrichment.evaluation_window(notification)
    # Delivery's reserve is fixed now, before anything is spent on enrichment.
    enrichment_deadline = deadline.for_enrichment(deps.pagerduty.request_timeout)
    # Read first (cached per container after the first page), so its time counts against enrichment's.
    alias = _account_alias(deps, notification.account_id)
    evidence = _gather_evidence(deps, detection, decision, window, enrichment_deadline)
    if detection is not None and _has_fast_path(deps, detection):
        # Whichever path pages first opens the episode; the other lands on its alert. The episode belongs to
        # the account the calls were made in, which the evidence names: an organization trail's alarm lives
        # in the central account, the fast path keys a member account's event by that member account.
        account = episodes.incident_account(evidence.records, notification.account_id)
        key = _join_episode(deps, detection.id, account, key)
    event = _trigger_event(deps, notification, detection, evidence, key, routing_key, alias, window)
    if event is None:
        return "suppressed"
    return _deliver(deps, event, key, original, deadline, ForwarderMetric.PAGES_SENT)


def forward_trail_event(event: TrailEvent, deps: Dependencies, deadline: Deadline) -> list[str]:
    """The fast path: a CloudTrail event an EventBridge rule delivered, paged at once for each fast-path
    detection it matches (by our engine; no match still pages, as an unrecognised event)."""
    deps.logger.set_correlation_id(event.event_id)
    identified = episodes.identify(event.record, deps.fast_path_detections)
    deps.logger.info(
        "Fast-path event received",
        extra={
            "event_id": event.event_id,
            "event_name": event.record.get("eventName"),
            "account": event.account_id,
            "region": event.region,
            "detections": [d.id for d in identified.detections],
        },
    )
    if identified.problem:
        deps.count(ForwarderMetric.FAST_PATH_MISMATCHES, 1)
        deps.logger.error(
            "Fast-path event matches no detection: paging it anyway", extra={"event": event.event_id}
        )
    targets: Sequence[Detection | None] = identified.detections or (None,)
    return [_page_trail_event(event, detection, identified.problem, deps, deadline) for detection in targets]


def _page_trail_event(
    event: TrailEvent,
    detection: Detection | None,
    problem: str | None,
    deps: Dependencies,
    deadline: Deadline,
) -> str:
    detection_id = detection.id if detection else None
    paged_key = episodes.paged_event_key(event, detection_id)
    if _already_paged(deps, paged_key):
        deps.count(ForwarderMetric.DUPLICATE_EVENTS, 1)
        deps.logger.info("Fast-path event already paged: not paging again", extra={"event_key": paged_key})
        return "duplicate"
    outcome = enrichment.apply_suppressions(
        [dict(event.record)], deps.settings.suppressions, detection_id or "", deps.now()
    )
    if outcome.all_suppressed:
        deps.count(ForwarderMetric.SUPPRESSED, 1)
        deps.logger.info(
            "The fast-path event is suppressed: not paging",
            extra={"suppressions": sorted({s.reason for _, s in outcome.suppressed}), "event_key": paged_key},
        )
        return "suppressed"
    key = episodes.fast_path_dedup_key(event, detection_id)
    if detection_id is not None:
        key = _join_episode(deps, detection_id, event.account_id, key)
    routing_key = _routing_key(deps)
    alias = _account_alias(deps, event.account_id)
    try:
        full_page = page.build_event_page(
            event=event,
            detection=detection,
            match_problem=problem,
            account_alias=alias,
            own_account=deps.own_account(),
            home=deps.home or Place(event.region, event.partition),
            log_group=deps.settings.trail_log_group_name,
        )
    except Exception as error:  # a bug in composing the page must not cost the page
        deps.logger.exception("Building the fast-path page failed: paging with the event's identity alone")
        deps.count(ForwarderMetric.ENRICHMENT_FAILURES, 1)
        problem_text = f"building the page failed: {type(error).__name__}: {error}"[:500]
        full_page = page.minimal_event_page(event=event, detection=detection, problem=problem_text)
    original: dict[str, object] = {"fast_path_event": dict(event.record), "event_id": event.event_id}
    result = _deliver(
        deps, trigger_event(routing_key, key, full_page), key, original, deadline, ForwarderMetric.PAGES_SENT
    )
    if result == "paged":
        _record_paged(deps, paged_key)
    return result


def _episode_expiry(deps: Dependencies) -> datetime:
    return deps.now() + timedelta(seconds=deps.settings.episode_seconds)


def _join_episode(deps: Dependencies, detection_id: str, account_id: str, own_key: str) -> str:
    """The dedup key of the episode open for (detection, account), opening it with ``own_key`` if none is.
    A store failure pages on ``own_key``: at worst a second alert."""
    if deps.episodes is None:
        return own_key
    try:
        key = deps.episodes.open_episode(
            Episode(detection_id, account_id, own_key, _episode_expiry(deps)), deps.now()
        )
    except Exception as error:
        _episode_store_failed(deps, "open episode", error)
        return own_key
    if key != own_key:
        deps.logger.info("Joining the open episode's alert", extra={"dedup_key": key, "own_key": own_key})
    return key


def _has_fast_path(deps: Dependencies, detection: Detection) -> bool:
    """Only these detections share episodes; the others page by their alarm alone and skip the store."""
    return any(candidate.id == detection.id for candidate in deps.fast_path_detections)


def _already_paged(deps: Dependencies, paged_key: str) -> bool:
    if deps.episodes is None:
        return False
    try:
        return deps.episodes.already_paged(paged_key, deps.now())
    except Exception as error:
        _episode_store_failed(deps, "check for a redelivery", error)
        return False


def _record_paged(deps: Dependencies, paged_key: str) -> None:
    if deps.episodes is None:
        return
    try:
        deps.episodes.record_paged(paged_key, _episode_expiry(deps))
    except Exception as error:
        _episode_store_failed(deps, "remember the paged event", error)


def _episode_store_failed(deps: Dependencies, what: str, error: Exception) -> None:
    deps.count(ForwarderMetric.EPISODE_STORE_FAILURES, 1)
    deps.logger.warning(
        f"Episode store failed ({what}): paging anyway",
        extra={"error_type": type(error).__name__, "error": str(error)[:300]},
    )


def _log_received(
    deps: Dependencies, notification: AlarmNotification, detection: Detection | None, decision: Decision
) -> None:
    deps.logger.info(
        "Alarm notification received",
        extra={
            "alarm_name": notification.alarm_name,
            "state": notification.new_state,
            "previous_state": notification.old_state,
            "detection": detection.id if detection else None,
            "decision": decision.action,
            "decision_reason": decision.reason,
        },
    )


def _routing_key(deps: Dependencies) -> str:
    try:
        key = deps.routing_key()
    except Exception as error:  # Powertools raises GetParameterError wrapping the SDK error
        deps.count(ForwarderMetric.DELIVERY_FAILURES, 1)
        deps.logger.error(
            "Cannot read the PagerDuty routing key secret: failing the invocation so Lambda retries it",
            extra={"secret": deps.settings.routing_key_secret_name, "error_type": type(error).__name__},
        )
        raise RoutingKeyUnavailableError(
            f"routing key secret {deps.settings.routing_key_secret_name!r} unreadable: {type(error).__name__}"
        ) from None
    key = key.strip() if isinstance(key, str) else ""
    if len(key) != 32:
        # Say what is wrong without revealing any of the value.
        deps.logger.warning("Routing key secret is not 32 characters; PagerDuty will likely reject events")
    return key


def _account_alias(deps: Dependencies, account_id: str) -> str | None:
    """The alias is a nicety on the page: any failure reading it is logged and the page names the id."""
    try:
        return deps.account_alias(account_id)
    except Exception as error:
        deps.logger.warning("Account alias unavailable", extra={"error_type": type(error).__name__})
        return None


def _gather_evidence(
    deps: Dependencies,
    detection: Detection | None,
    decision: Decision,
    window: Window,
    deadline: Deadline,
) -> Evidence:
    """The records behind the alarm, as many as the deadline allows; counted, and never raising."""
    if detection is None:
        evidence = Evidence(complete=False, problems=[decision.reason])
    else:
        try:
            evidence = fetch_evidence(
                deps.logs,
                log_group=deps.settings.trail_log_group_name,
                patterns=detection.all_patterns,
                window=window,
                remaining_seconds=deadline,
                pacer=deps.pacer,
            )
        except Exception as error:  # enrichment is best effort: any failure still pages, saying why
            deps.logger.exception("Enrichment failed: paging with what is known")
            evidence = Evidence(
                complete=False, problems=[f"enrichment failed: {type(error).__name__}: {error}"[:500]]
            )
    deps.count(ForwarderMetric.EVENTS_FOUND, len(evidence.records))
    deps.count(ForwarderMetric.RETRIES, evidence.retries)
    if not evidence.complete:
        deps.count(ForwarderMetric.ENRICHMENT_FAILURES, 1)
        deps.logger.warning("Evidence incomplete", extra={"problems": evidence.problems})
    return evidence


def _trigger_event(
    deps: Dependencies,
    notification: AlarmNotification,
    detection: Detection | None,
    evidence: Evidence,
    key: str,
    routing_key: str,
    alias: str | None,
    window: Window,
) -> dict[str, object] | None:
    """The trigger for the evidence; None (logged and counted) when every event is suppressed. A bug in
    summarising the evidence must not cost the page: it then carries the alarm alone, saying why."""
    log_group = deps.settings.trail_log_group_name
    try:
        outcome = enrichment.apply_suppressions(
            evidence.records, deps.settings.suppressions, detection.id if detection else "", deps.now()
        )
        if outcome.all_suppressed and evidence.complete:
            deps.logger.info(
                "Every event behind the alarm is suppressed: not paging",
                extra={
                    "suppressed_events": len(outcome.suppressed),
                    "suppressions": sorted({s.reason for _, s in outcome.suppressed}),
                    "dedup_key": key,
                },
            )
            deps.count(ForwarderMetric.SUPPRESSED, 1)
            return None
        full_page = page.build_trigger_page(
            notification=notification,
            detection=detection,
            evidence=evidence,
            kept=list(outcome.kept),
            suppressed=list(outcome.suppressed),
            account_alias=alias,
            log_group=log_group,
            window=window,
        )
        return trigger_event(routing_key, key, full_page)
    except Exception as error:
        deps.logger.exception("Building the page from the evidence failed: paging with the alarm alone")
        deps.count(ForwarderMetric.ENRICHMENT_FAILURES, 1)
        problem = f"building the page from the evidence failed: {type(error).__name__}: {error}"[:500]
        alarm_only = page.minimal_trigger_page(
            notification=notification,
            detection=detection,
            problem=problem,
            log_group=log_group,
            window=window,
        )
        return trigger_event(routing_key, key, alarm_only)


def _deliver(
    deps: Dependencies,
    event: dict[str, object],
    key: str,
    original: dict[str, object],
    deadline: Deadline,
    metric: ForwarderMetric,
) -> str:
    try:
        result = deps.pagerduty.send(event, deadline)
    except RetryableDeliveryError:
        deps.count(ForwarderMetric.DELIVERY_FAILURES, 1)
        deps.logger.error(
            "PagerDuty unreachable after retries: failing the invocation", extra={"dedup_key": key}
        )
        raise
    except RejectedEventError as error:
        deps.logger.error(
            "PagerDuty rejected the event: dead-lettering it",
            extra={"reason": error.reason, "dedup_key": key},
        )
        dead_letter(
            deps,
            "pagerduty-rejected",
            error.reason,
            original=original,
            extra={
                "dedup_key": key,
                "event_action": event.get("event_action"),
                "summary": _summary_of(event),
            },
        )
        return "dead-lettered"
    deps.count(metric, 1)
    deps.logger.info(
        "PagerDuty accepted the event",
        extra={"dedup_key": key, "event_action": event["event_action"], "attempts": result.attempts},
    )
    return "paged" if event["event_action"] == "trigger" else "resolved"


def dead_letter(
    deps: Dependencies,
    reason_code: str,
    reason: str,
    *,
    original: object,
    extra: dict[str, object] | None = None,
) -> None:
    """Write the evidence of an undeliverable notification to the DLQ; raising if even that fails."""
    body: dict[str, object] = {
        "kind": "security-alert-forwarder/dead-letter",
        "reason_code": reason_code,
        "reason": reason,
        "dead_lettered_at": deps.now().isoformat(),
        **(extra or {}),
        "original": original,
    }
    text = json.dumps(body, default=str)
    if len(text.encode()) > MAX_DEAD_LETTER_BYTES:
        body["original"] = {
            "truncated": True,
            "head": json.dumps(original, default=str)[: MAX_DEAD_LETTER_BYTES // 2],
        }
        text = json.dumps(body, default=str)
    deps.sqs.send_message(
        QueueUrl=deps.settings.dead_letter_queue_url,
        MessageBody=text,
        MessageAttributes={"reason_code": {"DataType": "String", "StringValue": reason_code}},
    )
    deps.count(ForwarderMetric.DEAD_LETTERED, 1)


def _notification_record(notification: AlarmNotification) -> dict[str, object]:
    return {
        "alarm_name": notification.alarm_name,
        "alarm_arn": notification.alarm_arn,
        "new_state": notification.new_state,
        "old_state": notification.old_state,
        "state_change_time": notification.state_change_time_iso,
        "reason": notification.reason,
        "sns_message_id": notification.message_id,
        "delivered_by": notification.delivery,
    }


def _summary_of(event: dict[str, object]) -> str | None:
    payload = event.get("payload")
    return payload.get("summary") if isinstance(payload, dict) else None


def account_alias_reader(
    iam_client: AccountAliasesPort, own_account: Callable[[], str | None]
) -> Callable[[str], str | None]:
    """Alias of the account the function runs in, read once per container; None for other accounts/errors."""
    cache: dict[str, str | None] = {}

    def read(account_id: str) -> str | None:
        if own_account() not in (None, account_id):
            return None
        if "alias" not in cache:
            try:
                aliases = iam_client.list_account_aliases().get("AccountAliases", [])
                cache["alias"] = aliases[0] if aliases else None
            except (ClientError, BotoCoreError):
                cache["alias"] = None
        return cache["alias"]

    return read


__all__ = ["Dependencies", "MalformedNotificationError", "RoutingKeyUnavailableError", "forward_event"]
