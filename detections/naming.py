"""How a detection is named in CloudWatch and EventBridge, in both directions: the one home of that contract.

Forwards (the alerting stack): a detection's metric filters publish to the metric ``metric_name(id)`` in the
configured namespace, its alarm is ``alarm_name(id, prefix)`` and says ``alarm_description(detection)``.
Backwards (the forwarder): an alarm notification names the detection by its metric (the alarm's Trigger
``MetricName`` in our ``Namespace``), which survives a renamed alarm or a changed prefix; the alarm name
minus the prefix and the ``[id]`` that opens the description are the fallbacks, in that order.

The fast path's EventBridge rule for a detection is ``fast_path_rule_name(id, prefix)``; its inverse reads the
detection back from a rule name or ARN (the rule ARN of an EventBridge dead-letter message's RULE_ARN
attribute, a rule listed in the console). The forwarder does not use it: EventBridge delivers a matched event
unchanged, so the event itself names no rule (its ``resources`` are the event's own, ``[]`` for CloudTrail);
the forwarder finds the detection by matching the record instead.

Pure standard library: the forwarder's Lambda asset carries this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from detections.rule import Detection

DEFAULT_NAMESPACE = "SecurityBaseline"
DEFAULT_ALARM_NAME_PREFIX = "security-baseline-"
ALARM_NAME_MAX_CHARS = 255
ALARM_DESCRIPTION_MAX_CHARS = 1024  # CloudFormation/CloudWatch limit for AlarmDescription
#: EventBridge rule names: 1-64 of letters, digits, ``.``, ``-``, ``_`` (API_PutRule).
RULE_NAME_MAX_CHARS = 64
_NOT_IN_RULE_NAMES = re.compile(r"[^.\-_A-Za-z0-9]")


def metric_name(detection_id: str) -> str:
    """The metric every filter of the detection feeds and its alarm reads: scanners (Security Hub
    CloudWatch.1-14, Prowler) pair filter and alarm by it, so it is the id itself."""
    return detection_id


def alarm_name(detection_id: str, name_prefix: str) -> str:
    name = f"{name_prefix}{detection_id}"
    if len(name) > ALARM_NAME_MAX_CHARS:
        raise ValueError(
            f"alarm name {name!r} is {len(name)} characters; CloudWatch allows {ALARM_NAME_MAX_CHARS}. "
            "Fix: shorten baseline.alarms.namePrefix."
        )
    return name


def metric_filter_name(detection_id: str, name_prefix: str, index: int) -> str:
    # The first filter carries the detection's own (CIS) pattern; later ones are scanner variants.
    return f"{name_prefix}{detection_id}" if index == 0 else f"{name_prefix}{detection_id}-variant-{index}"


def alarm_description(detection: Detection) -> str:
    """``[id] Title.`` first (read back by ``detection_id_from_description``), then severity, controls and
    the runbook's first line."""
    runbook_first_line = next((line.strip() for line in detection.runbook.splitlines() if line.strip()), "")
    controls = ", ".join(detection.controls) if detection.controls else "none"
    description = (
        f"[{detection.id}] {detection.title.rstrip('.')}. Severity: {detection.severity}. "
        f"Controls: {controls}. Runbook: {runbook_first_line}"
    )
    if len(description) > ALARM_DESCRIPTION_MAX_CHARS:
        description = description[: ALARM_DESCRIPTION_MAX_CHARS - 3] + "..."
    return description


def detection_id_from_metric(namespace: str | None, name: str | None, our_namespace: str) -> str | None:
    """The inverse of ``metric_name``, for a metric in our namespace only (another namespace's metric
    of the same name is not ours)."""
    return name if name and namespace == our_namespace else None


def detection_id_from_alarm_name(name: str, name_prefix: str) -> str | None:
    """The inverse of ``alarm_name``; None when the name does not carry the prefix (or the prefix is empty,
    when any alarm name would do and so none says anything)."""
    if name_prefix and name.startswith(name_prefix):
        return name[len(name_prefix) :]
    return None


def detection_id_from_description(description: str | None) -> str | None:
    """The ``[id]`` that ``alarm_description`` writes first; None when the description does not open so."""
    text = description or ""
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    return None


def candidate_detection_ids(
    *,
    metrics: Iterable[tuple[str | None, str | None]],
    alarm: str,
    description: str | None,
    namespace: str,
    name_prefix: str,
) -> list[str]:
    """Every id the alarm names, most reliable first: its metric (namespace, name), its name, its description.
    The caller takes the first one the catalogue knows. A metric-math alarm over several of our metrics
    names no single detection by metric: its name or description must say which."""
    by_metric = {detection_id_from_metric(ns, name, namespace) for ns, name in metrics} - {None}
    found = [*by_metric] if len(by_metric) == 1 else []
    found += [detection_id_from_alarm_name(alarm, name_prefix), detection_id_from_description(description)]
    return list(dict.fromkeys(candidate for candidate in found if candidate))


def rule_name_prefix(name_prefix: str) -> str:
    """The alarm name prefix as EventBridge allows it in a rule name (``/`` and ``:`` become ``-``)."""
    return _NOT_IN_RULE_NAMES.sub("-", name_prefix)


def fast_path_rule_name(detection_id: str, name_prefix: str) -> str:
    name = f"{rule_name_prefix(name_prefix)}{detection_id}"
    if len(name) > RULE_NAME_MAX_CHARS:
        raise ValueError(
            f"fast-path rule name {name!r} is {len(name)} characters; EventBridge allows "
            f"{RULE_NAME_MAX_CHARS}. Fix: shorten baseline.alarms.namePrefix or the rule's id, "
            "or set fast_path = false in its rule."
        )
    return name


def detection_id_from_rule(name_or_arn: str, name_prefix: str) -> str | None:
    """The inverse of ``fast_path_rule_name``, from a rule name or ARN
    (``arn:<partition>:events:<region>:<account>:rule/[<bus>/]<name>``); None when it is not one of ours."""
    name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
    prefix = rule_name_prefix(name_prefix)
    if prefix and name.startswith(prefix) and len(name) > len(prefix):
        return name[len(prefix) :]
    return None
