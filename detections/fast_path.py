"""Which detections also page through EventBridge (the fast path), and why the others do not.

A detection's rule may set ``fast_path`` (True / False); unset (None), the fast path is on for ``critical``
and ``error`` severity where the EventBridge translation is exact. Never for a ``resolve_on_ok`` detection:
its alarm's OK resolves the alarm's alert, and could not close one a fast page opened. A detection forced on
whose pattern does not translate exactly, or that resolves on OK, is an error, not a silent fallback: the
fast path must page on exactly what the alarm pages on, and its alerts must close as the alarm's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from detections.catalogue import Detection
from detections.targets.eventbridge import (
    MAX_WILDCARD_RULES_PER_BUS,
    CompiledEventPattern,
    EventBridgeRefusal,
    compile_patterns,
)

#: Severities that get a fast path unless the rule says otherwise.
DEFAULT_FAST_PATH_SEVERITIES: tuple[str, ...] = ("critical", "error")

#: Template Metadata key of the home stack: detection id -> whether it has a fast path, why, and its rule's
#: detail-types and state (read back by demo/synth_summary.py).
FAST_PATH_METADATA_KEY = "SecurityBaselineFastPath"

RuleState = Literal["ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"]


class FastPathError(ValueError):
    """The catalogue's fast-path settings cannot be deployed as they are; the message names the fix."""


@dataclass(frozen=True)
class FastPathDecision:
    detection_id: str
    enabled: bool
    reason: str
    compiled: CompiledEventPattern | None

    @property
    def rule_state(self) -> RuleState:
        """Read-only management events reach only rules in the second state.

        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html
        """
        if self.compiled is not None and self.compiled.needs_read_only_events:
            return "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
        return "ENABLED"


def decide(detection: Detection) -> FastPathDecision:
    flag = detection.fast_path
    try:
        compiled: CompiledEventPattern | None = compile_patterns(detection.all_patterns)
        refusal = ""
    except EventBridgeRefusal as error:
        compiled, refusal = None, error.reason
    if flag is False:
        return FastPathDecision(detection.id, False, "fast_path = false in its rule", compiled)
    if detection.resolve_policy == "resolve_on_ok":
        # The alarm's OK resolves the alarm's own alert key; a fast page opens its alert before the alarm
        # exists, and no OK would ever close it.
        if flag is True:
            raise FastPathError(
                f'detection {detection.id}: fast_path = true with resolve_policy = "resolve_on_ok": the '
                'alarm\'s OK could not resolve the alert a fast page opens; set resolve_policy = "manual" '
                "or fast_path = false"
            )
        return FastPathDecision(
            detection.id, False, "resolve_policy = resolve_on_ok (its alarm's OK closes the alert)", compiled
        )
    if compiled is None:
        if flag is True:
            raise FastPathError(
                f"detection {detection.id}: fast_path = true, but its pattern has no exact EventBridge "
                f"translation ({refusal}); set fast_path = false or rewrite the pattern"
            )
        return FastPathDecision(detection.id, False, f"no exact EventBridge translation: {refusal}", None)
    if flag is True:
        return FastPathDecision(detection.id, True, "fast_path = true in its rule", compiled)
    if detection.severity in DEFAULT_FAST_PATH_SEVERITIES:
        return FastPathDecision(
            detection.id, True, f"{detection.severity} severity, exact translation", compiled
        )
    return FastPathDecision(
        detection.id, False, f"{detection.severity} severity (default: critical and error only)", compiled
    )


def has_fast_path(detection: Detection) -> bool:
    """``decide(detection).enabled``, compiling the pattern only when the flag and severity leave it open:
    what the forwarder asks of every packaged rule at cold start."""
    flag: bool | None = getattr(detection, "fast_path", None)
    if flag is False or (flag is None and detection.severity not in DEFAULT_FAST_PATH_SEVERITIES):
        return False
    return decide(detection).enabled


def plan(detections: Sequence[Detection]) -> list[FastPathDecision]:
    """One decision per detection, checked against the quotas of the bus their rules share."""
    decisions = [decide(detection) for detection in detections]
    wildcard_rules = [
        d.detection_id for d in decisions if d.enabled and d.compiled and d.compiled.uses_wildcards
    ]
    if len(wildcard_rules) > MAX_WILDCARD_RULES_PER_BUS:
        raise FastPathError(
            f"{len(wildcard_rules)} fast-path rules use wildcards ({', '.join(wildcard_rules)}); EventBridge "
            f"allows {MAX_WILDCARD_RULES_PER_BUS} per event bus and the quota cannot be raised; set "
            "fast_path = false on "
            f"{len(wildcard_rules) - MAX_WILDCARD_RULES_PER_BUS} of them"
        )
    return decisions


def enabled(decisions: Sequence[FastPathDecision]) -> list[FastPathDecision]:
    return [d for d in decisions if d.enabled]
