"""The built-in catalogue as a specification: exact compliance texts, CloudWatch limits, behaviour on records.

Behaviour on records is each rule's own cases file (detections/rules/<id>.cases.jsonl); this module holds
what spans rules (coverage, quotas, the scanners' texts). The rule files' loader has its own tests.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from detections.catalogue import CATALOGUE, SUMMARY_FIELDS, Detection, get_detection
from detections.filter_pattern import compile_pattern
from detections.rule_files import RuleCase, cases_path_of, load_cases
from tests.oracles.prowler import (
    ORGANIZATIONS_EVENT_NAMES,
    PROWLER_CHECKS,
    ROUTE_TABLE_EVENT_NAMES,
    ordered_regex,
    passes,
)
from tests.oracles.security_hub import PUBLISHED_PATTERNS

BY_ID = {d.id: d for d in CATALOGUE}
CASES: dict[str, tuple[RuleCase, ...]] = {d.id: load_cases(cases_path_of(Path(d.source))) for d in CATALOGUE}


def matches(detection: Detection, event: dict[str, object]) -> bool:
    return any(compile_pattern(p).matches_json(event) for p in detection.all_patterns)


def matches_as_log_line(detection: Detection, event: dict[str, object]) -> bool:
    """The same question through the raw-message path a metric filter uses (one JSON line per record)."""
    message = json.dumps(event, separators=(",", ":"))
    return any(compile_pattern(p).matches(message) for p in detection.all_patterns)


# --- Coverage and exact compliance texts -----------------------------------------------------------------


@pytest.mark.parametrize("control", sorted(PUBLISHED_PATTERNS))
def test_each_compliance_control_has_exactly_one_detection_carrying_the_published_text(control: str) -> None:
    owners = [d for d in CATALOGUE if control in d.controls]
    assert len(owners) == 1, f"{control} is covered by {[d.id for d in owners]}"
    assert owners[0].pattern == PUBLISHED_PATTERNS[control]


def test_all_fourteen_security_hub_cloudwatch_controls_are_covered() -> None:
    covered = {c for d in CATALOGUE for c in d.controls if c.startswith("CloudWatch.")}
    assert covered == {f"CloudWatch.{n}" for n in range(1, 15)}


def test_at_least_ten_detections_go_beyond_cis() -> None:
    beyond = [d for d in CATALOGUE if not any(c.startswith(("CloudWatch.", "CIS ")) for c in d.controls)]
    assert len(beyond) >= 10


# --- Shape and limits ------------------------------------------------------------------------------------


def test_ids_are_unique_stable_kebab_case() -> None:
    ids = [d.id for d in CATALOGUE]
    assert len(ids) == len(set(ids))
    for detection_id in ids:
        assert re.fullmatch(r"[a-z0-9-]{3,60}", detection_id), detection_id
        assert not detection_id.startswith("-") and "--" not in detection_id


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_detection_fields_are_complete_and_valid(detection: Detection) -> None:
    assert detection.severity in ("critical", "error", "warning", "info")
    assert detection.resolve_policy in ("resolve_on_ok", "manual")
    assert detection.title and detection.description and detection.runbook.strip()
    assert detection.mitre_attack and all(
        re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in detection.mitre_attack
    )
    assert all(re.fullmatch(r"CloudWatch\.\d{1,2}|CIS \d\.\d\.\d \d\.\d{1,2}", c) for c in detection.controls)
    assert detection.metric_name == detection.id
    assert detection.all_patterns == (detection.pattern, *detection.additional_patterns)


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_summary_template_uses_only_the_agreed_fields_and_renders(detection: Detection) -> None:
    fields = {name for _, name, _, _ in string.Formatter().parse(detection.summary_template) if name}
    assert fields <= set(SUMMARY_FIELDS), fields - set(SUMMARY_FIELDS)
    rendered = detection.summary_template.format(**{f: f"<{f}>" for f in SUMMARY_FIELDS})
    assert "{" not in rendered


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_every_pattern_is_one_cloudwatch_accepts(detection: Detection) -> None:
    for text in detection.all_patterns:
        compiled = compile_pattern(text)  # raises FilterPatternError on anything AWS would reject
        assert compiled.kind == "json"
        assert len(text) <= 1024
        assert compiled.regex_count <= 2, "at most 2 regular expressions per filter pattern"


def test_catalogue_stays_within_log_group_quotas() -> None:
    filters = [p for d in CATALOGUE for p in d.all_patterns]
    assert len(filters) <= 60, "100 metric filters per log group; leave room for others"
    with_regex = [p for p in filters if compile_pattern(p).regex_count]
    assert len(with_regex) <= 1, "5 regex-using filter patterns per log group, shared with anyone else"


def test_only_rate_type_detections_resolve_on_ok() -> None:
    resolving = {d.id for d in CATALOGUE if d.resolve_policy == "resolve_on_ok"}
    assert resolving == {"unauthorized-api-calls", "console-authentication-failures"}


def test_get_detection_finds_by_id_and_names_the_known_ids_otherwise() -> None:
    assert get_detection("root-account-usage").controls[0] == "CloudWatch.1"
    with pytest.raises(KeyError) as raised:
        get_detection("no-such-detection")
    assert "no-such-detection" in str(raised.value) and "root-account-usage" in str(raised.value)


# --- Prowler's checks (issue 4 part 2), through the one Prowler oracle ----------------------------------

ROUTE_CHECK = PROWLER_CHECKS["cloudwatch_changes_to_network_route_tables_alarm_configured"]
ORGANIZATIONS_CHECK = PROWLER_CHECKS["cloudwatch_log_metric_filter_aws_organizations_changes"]


def test_route_tables_prowler_variant_satisfies_every_prowler_version_where_the_cis_text_cannot() -> None:
    detection = get_detection("route-table-changes")
    (variant,) = detection.additional_patterns
    assert passes(ROUTE_CHECK, variant)
    assert passes(
        ordered_regex(event_source="ec2.amazonaws.com", event_names=ROUTE_TABLE_EVENT_NAMES), variant
    )
    oldest = ordered_regex(event_source=None, event_names=ROUTE_TABLE_EVENT_NAMES, quote_allowed=False)
    assert passes(oldest, variant)
    assert not passes(ROUTE_CHECK, detection.pattern)


def test_organizations_prowler_variant_has_the_21_events_in_prowlers_order() -> None:
    detection = get_detection("organizations-changes")
    (variant,) = detection.additional_patterns
    assert passes(ORGANIZATIONS_CHECK, variant)
    ordered = ordered_regex(event_source="organizations.amazonaws.com", event_names=ORGANIZATIONS_EVENT_NAMES)
    assert passes(ordered, variant)
    assert not passes(ORGANIZATIONS_CHECK, detection.pattern)


def test_prowler_variants_only_widen_what_the_cis_text_matches() -> None:
    # On the CIS events both filters match (one metric, one alarm); the variant adds nothing unrelated.
    for detection_id in ("route-table-changes", "organizations-changes"):
        detection = get_detection(detection_id)
        for case in CASES[detection_id]:
            cis = compile_pattern(detection.pattern).matches_json(case.record)
            variant = compile_pattern(detection.additional_patterns[0]).matches_json(case.record)
            if cis and detection_id == "organizations-changes":
                assert variant
            if variant and detection_id == "route-table-changes":
                assert cis


# --- Behaviour on records (each rule's cases file) ------------------------------------------------------


def test_every_built_in_detection_has_three_positives_and_three_near_misses() -> None:
    for detection_id, cases in CASES.items():
        assert sum(case.should_match for case in cases) >= 3, detection_id
        assert sum(not case.should_match for case in cases) >= 3, detection_id


# Running every case (built-in and the user's rulesDir) is tests/unit/detections/test_rule_cases.py.


def test_no_detection_matches_a_routine_read() -> None:
    from testkit.cloudtrail import api

    routine = [
        api("DescribeInstances", "ec2", read_only=True),
        api("GetObject", "s3", read_only=True),
        api("AssumeRole", "sts"),
        api("ListUsers", "iam", read_only=True),
    ]
    for event in routine:
        assert [d.id for d in CATALOGUE if matches(d, event)] == []
