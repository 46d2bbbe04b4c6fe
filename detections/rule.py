"""The shape of one detection, shared by the rule files' loader, the stacks, the forwarder and the tests.

Pure standard library and no I/O: importing this loads no rule file (the forwarder imports the type long
before it loads the rules it was deployed with).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from detections import naming

Severity = Literal["critical", "error", "warning", "info"]
ResolvePolicy = Literal["resolve_on_ok", "manual"]

SEVERITIES: tuple[Severity, ...] = ("critical", "error", "warning", "info")
RESOLVE_POLICIES: tuple[ResolvePolicy, ...] = ("resolve_on_ok", "manual")

#: Keys a ``summary_template`` may use: exactly the ones the forwarder fills from the matching CloudTrail
#: records (lambdas/forwarder/page.py builds its values from this tuple).
SUMMARY_FIELDS: tuple[str, ...] = (
    "title",
    "principal",
    "source_ip",
    "account",
    "region",
    "event_name",
    "count",
)

#: What a detection may require before it is switched on (``requires = "insights"``: CloudTrail Insights
#: events only exist when the trail has an Insights selector).
REQUIREMENTS: tuple[str, ...] = ("insights",)


@dataclass(frozen=True)
class SigmaMeta:
    """Provenance of a rule imported from Sigma (SigmaHQ's own id, level, tags and references)."""

    id: str
    level: str | None = None
    tags: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Detection:
    """One detection: a filter pattern on the trail's log group, one metric, one alarm, one kind of page."""

    id: str
    title: str
    description: str
    severity: Severity
    pattern: str
    controls: tuple[str, ...]
    mitre_attack: tuple[str, ...]
    runbook: str
    resolve_policy: ResolvePolicy
    summary_template: str
    additional_patterns: tuple[str, ...] = ()
    #: EventBridge fast path: None = the default (on for critical/error where the translation is exact).
    fast_path: bool | None = None
    #: A feature the deployment must have for this detection to be switched on (see REQUIREMENTS).
    requires: str | None = None
    sigma: SigmaMeta | None = None
    #: The rule file this came from ("" when built in code, e.g. by a test); for messages only.
    source: str = field(default="", compare=False)

    @property
    def metric_name(self) -> str:
        return naming.metric_name(self.id)

    @property
    def all_patterns(self) -> tuple[str, ...]:
        return (self.pattern, *self.additional_patterns)
