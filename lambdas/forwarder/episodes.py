"""Episodes: which detection an alarm is, what its state change means for PagerDuty, and the dedup key.

Pure: no I/O and no environment reads.

Dedup keys and episodes
-----------------------
PagerDuty groups events by ``dedup_key``: a trigger with an open alert's key is merged into it, a resolve
closes it, and after a resolve the same key opens a NEW alert. The SNS alarm message carries the time of the
transition it reports (``StateChangeTime``) and the previous state, but not when the episode being closed
began. So:

* ``manual`` detections (a human resolves the incident): the key identifies the ALARM episode,
  ``sb1/<detection>/<account>/<region>/<alarm-hash>/<StateChangeTime of the transition into ALARM>``.
  An SNS redelivery, a Lambda retry or the same state change arriving both by SNS and as an alarm action all
  carry the same StateChangeTime, hence the same key; the next ALARM episode has a new StateChangeTime and
  opens a new alert even while the previous one is still open. OK sends nothing.
* ``resolve_on_ok`` detections: the key identifies the alarm, ``sb1/<detection>/<account>/<region>/<hash>``.
  An OK notification (after ALARM, or after an un-notified INSUFFICIENT_DATA) resolves exactly that key
  (a no-op when no alert is open), and since PagerDuty opens a new alert
  for a trigger after a resolve, each ALARM episode still gets its own alert. Redeliveries dedupe as above.
  Known limit: a trigger redelivered *after* its episode was resolved opens a fresh alert (stale but visible,
  never lost); a lost resolve leaves the alert open for the next episode to join.
* Alarms not in the catalogue: like ``manual``, with ``unknown`` in place of the detection id.

The alarm ARN is hashed (it can be 300+ characters) so the key stays well under 255 characters.

One alert across both paths
---------------------------
The fast path pages on the CloudTrail event itself, seconds after the call; the alarm pages minutes later
for the same incident. An *episode* (``Episode``) ties them: keyed by (detection, account) - not region,
since the alarm lives in the home region and events come from every region - it carries the dedup key of the
first page and expires after the alarm's evaluation window plus a margin (``EPISODE_SECONDS`` in the
environment, from detections/alarm_window.py). The alarm path takes the account from its evidence (the
earliest matching call's ``recipientAccountId``): with an organization trail the alarm lives in the central
account while the calls, and their fast pages, are a member account's. Whichever path pages first opens it,
with a conditional put; every later page of the same detection and account, from either path, gets its key
back and so updates the same PagerDuty alert. Usually the fast path comes first; when the alarm does
(EventBridge is best effort), the late fast page still lands on the alarm's alert. Only detections with a
fast path use episodes: an alarm of any other detection keeps its own key, as before the fast path. For
those that do, a second ALARM episode of the same detection and account while the first one's episode is
open joins its alert (already resolved by a responder: PagerDuty opens a new alert for the trigger).
A fast-path event is remembered per (event id, detection) once PagerDuty accepted its page, so a
redelivered event never pages twice; it is written only after delivery, so a failed delivery retried by
Lambda still pages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from detections.catalogue import Detection
from detections.filter_pattern import compile_pattern
from detections.naming import DEFAULT_NAMESPACE, candidate_detection_ids
from lambdas.forwarder.models import AlarmNotification, TrailEvent

MAX_DEDUP_KEY = 255


def map_to_detection(
    notification: AlarmNotification,
    prefix: str,
    lookup: Callable[[str], Detection],
    *,
    namespace: str = DEFAULT_NAMESPACE,
) -> Detection | None:
    """The detection the alarm's metric names (see detections.naming), else its name minus the prefix, else
    the "[id]" that starts its description; None if none is in the catalogue."""
    candidates = candidate_detection_ids(
        metrics=[(metric.namespace, metric.name) for metric in notification.metrics],
        alarm=notification.alarm_name,
        description=notification.description,
        namespace=namespace,
        name_prefix=prefix,
    )
    for candidate in candidates:
        try:
            return lookup(candidate)
        except KeyError:
            continue
    return None


ActionKind = Literal["trigger", "resolve", "ignore", "dead-letter"]


@dataclass(frozen=True)
class Decision:
    action: ActionKind
    reason: str


def decide(notification: AlarmNotification, detection: Detection | None) -> Decision:
    """What this state change means for PagerDuty. See README "dedup keys and episodes"."""
    state = notification.new_state
    if detection is None:
        if state == "ALARM":
            return Decision(
                "trigger", "alarm not in the catalogue: degraded page so a security alarm is not lost"
            )
        return Decision("dead-letter", f"alarm not in the catalogue and state {state}: no policy to apply")
    if state == "ALARM":
        return Decision("trigger", "alarm entered ALARM")
    if state == "OK" and detection.resolve_policy == "resolve_on_ok":
        # Also after INSUFFICIENT_DATA: the stack sends no INSUFFICIENT_DATA notifications, so ALARM ->
        # INSUFFICIENT_DATA -> OK reaches us as "OK after INSUFFICIENT_DATA" while the alert is still open.
        # A resolve for a key with no open alert is a no-op in PagerDuty, so resolving is always safe.
        return Decision("resolve", f"alarm returned to OK (from {notification.old_state}); resolves on OK")
    if state == "OK":
        return Decision("ignore", "detection resolve policy is manual: a responder resolves the incident")
    return Decision("ignore", "INSUFFICIENT_DATA neither opens nor closes an episode")


def dedup_key(notification: AlarmNotification, detection_id: str | None, resolve_policy: str | None) -> str:
    alarm_hash = hashlib.sha256(notification.alarm_arn.encode()).hexdigest()[:20]
    base = f"sb1/{detection_id or 'unknown'}/{notification.account_id}/{notification.region}/{alarm_hash}"
    if detection_id is not None and resolve_policy == "resolve_on_ok":
        key = base
    else:
        key = f"{base}/{notification.state_change_time_iso}"
    return _bounded(key)


def _bounded(key: str) -> str:
    if len(key) > MAX_DEDUP_KEY:  # cannot happen with valid ids; guard so a bad id cannot break delivery
        key = key[: MAX_DEDUP_KEY - 21] + "~" + hashlib.sha256(key.encode()).hexdigest()[:20]
    return key


# --- the fast path and episodes across both paths ----------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """An open incident of one detection in one account: the dedup key every page of it uses."""

    detection_id: str
    account_id: str
    dedup_key: str
    expires_at: datetime


def fast_path_dedup_key(event: TrailEvent, detection_id: str | None) -> str:
    """The key a fast-path page opens its episode with: the event's own identity."""
    return _bounded(
        f"sb1/{detection_id or 'unknown'}/{event.account_id}/{event.region}/fast/{event.event_id}"
    )


def episode_item_key(detection_id: str, account_id: str) -> str:
    return f"episode/{detection_id}/{account_id}"


def incident_account(records: Iterable[Mapping[str, object]], fallback: str) -> str:
    """The account an alarm's incident happened in: the ``recipientAccountId`` of its earliest matching
    record (the one a fast page would have keyed its episode by), else ``fallback`` (the alarm's account)."""
    candidates = [
        (event_time, account)
        for record in records
        if isinstance(account := record.get("recipientAccountId"), str)
        and account
        and isinstance(event_time := record.get("eventTime"), str)
    ]
    return min(candidates)[1] if candidates else fallback


def paged_event_key(event: TrailEvent, detection_id: str | None) -> str:
    """Per detection: one event matching two detections is delivered by both rules and pages for each."""
    return f"event/{event.event_id}/{detection_id or 'unknown'}"


@dataclass(frozen=True)
class Identification:
    """Which fast-path detections a delivered record matches; ``problem`` when none does."""

    detections: tuple[Detection, ...]
    problem: str | None


def identify(record: Mapping[str, object], fast_path_detections: Iterable[Detection]) -> Identification:
    """The fast-path detections whose filter patterns match the record, by our engine.

    The event names no rule (EventBridge delivers it unchanged), so matching the record is how the detection
    is known; it also re-checks the EventBridge rule's verdict. No match means the two disagree, or the rules
    deployed differ from the rules packaged: the caller pages anyway and says so.
    """
    matched = tuple(
        detection
        for detection in fast_path_detections
        if any(compile_pattern(pattern).matches_json(record) for pattern in detection.all_patterns)
    )
    if matched:
        return Identification(matched, None)
    return Identification(
        (),
        "no fast-path detection's filter pattern matches this record, though an EventBridge rule delivered "
        "it: the EventBridge pattern and the filter pattern disagree, or the deployed rules differ from the "
        "packaged ones",
    )
