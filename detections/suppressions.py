"""Suppressions: the place where a platform team tunes noise without touching the (exact, CIS) patterns.

A suppression names one detection and narrows it to a principal ARN pattern, a source CIDR and/or an event
name; every field given must match for a CloudTrail record to be suppressed. Each one carries a reason and an
expiry date, so a suppression is a reviewed, time-boxed exception and never a silent permanent hole.

Pure standard library: used by the forwarder Lambda at run time and by the stack configuration at synth time.

JSON shape (the ``SUPPRESSIONS`` environment variable and the ``baseline.suppressions`` context key)::

    [{"detection": "root-account-usage", "principalArnPattern": "arn:aws:iam::*:role/BreakGlass",
      "sourceCidr": "203.0.113.0/24", "eventName": "ConsoleLogin", "expires": "2026-12-31",
      "reason": "Quarterly break-glass drill, ticket SEC-123"}]
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

_DETECTION_ID = re.compile(r"^[a-z0-9-]{3,60}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KNOWN_KEYS = ("detection", "principalArnPattern", "sourceCidr", "eventName", "expires", "reason")
_NARROWING_KEYS = ("principalArnPattern", "sourceCidr", "eventName")


@dataclass(frozen=True)
class Suppression:
    """One reviewed exception. ``expires`` is inclusive: the suppression applies through that day (UTC)."""

    detection: str
    reason: str
    expires: date
    principal_arn_pattern: str | None = None  # fnmatch-style, '*' matches any run of characters
    source_cidr: str | None = None
    event_name: str | None = None  # exact name, or an fnmatch-style pattern such as "Put*"

    def is_active(self, today: date) -> bool:
        return today <= self.expires

    def matches(self, record: Mapping[str, object]) -> bool:
        """True when every narrowing field of this suppression matches the CloudTrail record."""
        if self.principal_arn_pattern is not None and not any(
            fnmatchcase(arn, self.principal_arn_pattern) for arn in _principal_arns(record)
        ):
            return False
        if self.source_cidr is not None and not _ip_in(record.get("sourceIPAddress"), self.source_cidr):
            return False
        event_name = record.get("eventName")
        return self.event_name is None or (
            isinstance(event_name, str) and fnmatchcase(event_name, self.event_name)
        )


def parse_suppressions(raw: object) -> tuple[Suppression, ...]:
    """Validate the JSON form; raise ValueError naming the index, the field, the bad value and the fix."""
    if not isinstance(raw, list):
        raise ValueError(
            f"suppressions: expected a JSON array of objects, got {type(raw).__name__} {raw!r:.80}; "
            'use [] for none or [{"detection": ..., "expires": "YYYY-MM-DD", "reason": ..., ...}]'
        )
    return tuple(_parse_one(index, item) for index, item in enumerate(raw))


def suppressions_json(suppressions: Iterable[Suppression]) -> str:
    """The inverse of ``parse_suppressions``: the compact JSON of the forwarder's SUPPRESSIONS variable."""
    documents = []
    for suppression in suppressions:
        document = {
            "detection": suppression.detection,
            "principalArnPattern": suppression.principal_arn_pattern,
            "sourceCidr": suppression.source_cidr,
            "eventName": suppression.event_name,
            "expires": suppression.expires.isoformat(),
            "reason": suppression.reason,
        }
        documents.append({key: value for key, value in document.items() if value is not None})
    return json.dumps(documents, separators=(",", ":"), sort_keys=True)


def is_suppressed(
    record: Mapping[str, object],
    suppressions: Iterable[Suppression],
    today: date,
    *,
    detection_id: str | None = None,
) -> Suppression | None:
    """The first active suppression matching ``record``, or None.

    Pass ``detection_id`` so only that detection's suppressions apply; without it the caller must already
    have narrowed ``suppressions`` to one detection (see :func:`for_detection`).
    """
    for suppression in suppressions:
        if detection_id is not None and suppression.detection != detection_id:
            continue
        if suppression.is_active(today) and suppression.matches(record):
            return suppression
    return None


def for_detection(suppressions: Iterable[Suppression], detection_id: str) -> tuple[Suppression, ...]:
    return tuple(s for s in suppressions if s.detection == detection_id)


def _parse_one(index: int, item: object) -> Suppression:
    where = f"suppressions[{index}]"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(item).__name__} {item!r:.80}")
    unknown = sorted(set(item) - set(_KNOWN_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed keys are {list(_KNOWN_KEYS)}")

    detection = _required_str(item, "detection", where)
    if not _DETECTION_ID.match(detection):
        raise ValueError(
            f"{where}.detection: {detection!r} is not a detection id; use the catalogue id "
            "(lower-case kebab-case, e.g. 'root-account-usage'; see `python -m detections list`)"
        )
    reason = _required_str(item, "reason", where)
    expires_text = _required_str(item, "expires", where)
    if not _DATE.match(expires_text):
        raise ValueError(
            f"{where}.expires: {expires_text!r} is not a date; use YYYY-MM-DD, e.g. '2026-12-31'"
        )
    try:
        expires = date.fromisoformat(expires_text)
    except ValueError as error:
        raise ValueError(
            f"{where}.expires: {expires_text!r} is not a valid date ({error}); use YYYY-MM-DD"
        ) from None

    principal = _optional_str(item, "principalArnPattern", where)
    if principal is not None and not (principal.startswith("arn:") or principal == "*"):
        raise ValueError(
            f"{where}.principalArnPattern: {principal!r} is not an ARN pattern; "
            "use e.g. 'arn:aws:iam::123456789012:role/Deployer' or 'arn:aws:sts::*:assumed-role/Deployer/*'"
        )
    cidr = _optional_str(item, "sourceCidr", where)
    if cidr is not None:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as error:
            raise ValueError(
                f"{where}.sourceCidr: {cidr!r} is not a CIDR block ({error}); "
                "use a network address such as '203.0.113.0/24' or a single host '203.0.113.7/32'"
            ) from None
    event_name = _optional_str(item, "eventName", where)

    if principal is None and cidr is None and event_name is None:
        raise ValueError(
            f"{where}: a suppression must narrow the detection with at least one of {list(_NARROWING_KEYS)}; "
            "silencing a whole detection is a catalogue change, not a suppression"
        )
    return Suppression(
        detection=detection,
        reason=reason,
        expires=expires,
        principal_arn_pattern=principal,
        source_cidr=cidr,
        event_name=event_name,
    )


def _required_str(item: Mapping[str, object], key: str, where: str) -> str:
    if key not in item:
        raise ValueError(f"{where}: missing required key {key!r}")
    value = _optional_str(item, key, where)
    if value is None:
        raise ValueError(f"{where}.{key}: must not be null")
    return value


def _optional_str(item: Mapping[str, object], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}.{key}: expected a non-empty string, got {value!r:.80}")
    return value


def _principal_arns(record: Mapping[str, object]) -> list[str]:
    # An assumed-role session ARN changes per session; matching the issuing role too lets a team suppress
    # "the Deployer role" without guessing session names.
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return []
    arns = [identity.get("arn")]
    context = identity.get("sessionContext")
    if isinstance(context, Mapping) and isinstance(context.get("sessionIssuer"), Mapping):
        arns.append(context["sessionIssuer"].get("arn"))
    return [arn for arn in arns if isinstance(arn, str) and arn]


def _ip_in(address: object, cidr: str) -> bool:
    # sourceIPAddress is sometimes a service name ("cloudtrail.amazonaws.com"): never inside a CIDR.
    if not isinstance(address, str):
        return False
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
