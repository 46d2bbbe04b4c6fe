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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from detections.catalogue import Detection
from detections.naming import DEFAULT_NAMESPACE, candidate_detection_ids
from lambdas.forwarder.models import AlarmNotification

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
    if len(key) > MAX_DEDUP_KEY:  # cannot happen with valid ids; guard so a bad id cannot break delivery
        key = key[: MAX_DEDUP_KEY - 21] + "~" + hashlib.sha256(key.encode()).hexdigest()[:20]
    return key
