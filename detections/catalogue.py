"""The detection catalogue: the built-in rules, one file each in ``detections/rules/`` with its cases.

Each :class:`Detection` carries the exact CloudWatch Logs filter pattern that the alerting stack puts on the
trail's log group, the metadata the forwarder turns into a PagerDuty event, and a runbook for the responder.
The rules are data (``<id>.toml`` + ``<id>.cases.jsonl``, format and checks in :mod:`detections.rule_files`);
this module loads them on first use and keeps the reasoning that applies to all of them.

Two groups of detections:

* **Compliance** (``CloudWatch.1`` .. ``CloudWatch.14`` and CIS 1.4.0 4.15). Their ``pattern`` is the exact
  text Security Hub publishes (awsdocs/aws-security-hub-user-guide ``doc_source/cloudwatch-controls.md``) and
  CIS prints for 4.15. Security Hub fails a control if any term is added, so these patterns are never
  "improved": noise control belongs in the forwarder's suppressions. Where Prowler's checks want a different
  text, a second filter in ``additional_patterns`` feeds the *same* metric, so both scanners pass and nobody
  is paged twice.
* **Beyond CIS**: detections for threats the CIS set misses. Each one earns its place by catching a Stratus
  Red Team technique or a documented attack (named in ``description``). Unlike the CIS texts they require
  ``$.errorCode NOT EXISTS``: a denied attempt is already counted by ``unauthorized-api-calls``, and the page
  should say that the change *happened*. (The CloudTrail Insights detection is not about one call and has no
  errorCode to test; it is on only when the trail has Insights: ``requires = "insights"``.)

Severity follows PagerDuty (``critical`` > ``error`` > ``warning`` > ``info``): ``critical`` for root use and
for blinding the main threat detector; ``error`` for changes that expose data or create persistence;
``warning`` for changes that are routine for deploy pipelines but dangerous from a person; ``info`` for
activity that is only suspicious in context.

Resolve policy: a detection describes a *change*; a security change does not undo itself when the metric goes
back to 0, so the incident stays open until a human resolves it (``manual``). Only rate-type detections, where
the page means "this is happening now" (unauthorized API calls, console authentication failures), send a
resolve when the alarm returns to OK (``resolve_on_ok``).

Limits honoured by every pattern (checked by the loader and the tests with ``compile_pattern``): at most 1024
characters, at most 2 regular expressions per pattern, and one regex-using pattern in the whole catalogue
(CloudWatch allows 5 per log group, shared with anyone else's filters and users' own rules on the trail's
log group).

Order: the catalogue is sorted by id (the file names), so adding a rule file never reorders the others.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from detections.rule import SUMMARY_FIELDS, Detection, ResolvePolicy, Severity
from detections.rule_files import PACKAGED_RULES_DIR, detection_lookup, load_rules

__all__ = ["CATALOGUE", "SUMMARY_FIELDS", "Detection", "ResolvePolicy", "Severity", "get_detection"]

if TYPE_CHECKING:
    CATALOGUE: tuple[Detection, ...]


@functools.cache
def _builtin() -> tuple[Detection, ...]:
    # Loaded on first use, not at import: the forwarder imports Detection from here but ships only the rules
    # its deployment uses (without their cases) and loads those itself.
    return load_rules(PACKAGED_RULES_DIR)


def __getattr__(name: str) -> object:
    if name == "CATALOGUE":
        return _builtin()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_detection(detection_id: str) -> Detection:
    """Return the built-in detection with this id; KeyError naming the known ids otherwise."""
    return detection_lookup(_builtin())(detection_id)
