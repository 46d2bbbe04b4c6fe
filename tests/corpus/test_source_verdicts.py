"""Compare the catalogue with the corpus sources' own verdicts, where they are about the same thing."""

from __future__ import annotations

import pytest

from detections.replay import CatalogueMatcher
from tests.corpus.corpus import CorpusRecord, load
from tests.corpus.expected_disagreements import EXPECTED_DISAGREEMENTS
from tests.corpus.source_verdicts import (
    PANTHER_NOT_COMPARED,
    PANTHER_RULES,
    STREAMALERT_NOT_COMPARED,
    STREAMALERT_RULES,
    streamalert_rule_of,
)

pytestmark = pytest.mark.corpus
MATCHER = CatalogueMatcher()


def ours(record: CorpusRecord, detections: tuple[str, ...]) -> bool:
    return bool(set(MATCHER.match(record.event)) & set(detections))


def panther_comparisons() -> list[tuple[CorpusRecord, bool, bool]]:
    compared = []
    for record in load("panther_rule_tests.jsonl"):
        rule = record.label["rule_id"]
        if rule in PANTHER_RULES:
            compared.append(
                (record, bool(record.label["expected_result"]), ours(record, PANTHER_RULES[rule]))
            )
    return compared


def streamalert_comparisons() -> list[tuple[CorpusRecord, bool, bool]]:
    compared = []
    for record in load("streamalert_rule_tests.jsonl"):
        rule = streamalert_rule_of(record.source)
        if rule in STREAMALERT_RULES:
            source_says = rule in (record.label.get("trigger_rules") or [])
            compared.append((record, source_says, ours(record, STREAMALERT_RULES[rule])))
    return compared


def test_every_disagreement_with_a_source_verdict_is_explained_and_no_explanation_is_stale() -> None:
    comparisons = panther_comparisons() + streamalert_comparisons()
    disagreements = {record.record_id for record, source_says, we_say in comparisons if source_says != we_say}
    unexplained = sorted(disagreements - set(EXPECTED_DISAGREEMENTS))
    stale = sorted(set(EXPECTED_DISAGREEMENTS) - disagreements)
    assert unexplained == [], f"new disagreements, fix or explain in expected_disagreements.py: {unexplained}"
    assert stale == [], f"explained disagreements that no longer happen, remove them: {stale}"
    # The comparison is substantial: most mapped verdicts agree.
    agreed = len(comparisons) - len(disagreements)
    assert len(comparisons) >= 140 and agreed / len(comparisons) >= 0.65


def test_every_panther_rule_in_the_corpus_is_either_compared_or_excluded_with_a_reason() -> None:
    rules_reporting_cis = {
        r.label["rule_id"]
        for r in load("panther_rule_tests.jsonl")
        if "CIS" in (r.label.get("rule_reports") or {})
    }
    assert rules_reporting_cis <= set(PANTHER_RULES) | set(PANTHER_NOT_COMPARED)
    assert not set(PANTHER_RULES) & set(PANTHER_NOT_COMPARED)


def test_every_streamalert_rule_is_either_compared_or_excluded_with_a_reason() -> None:
    triggered = {
        rule for r in load("streamalert_rule_tests.jsonl") for rule in (r.label.get("trigger_rules") or [])
    }
    assert triggered <= set(STREAMALERT_RULES) | set(STREAMALERT_NOT_COMPARED)


def test_panther_test_scenario_attacker_root_logins_page() -> None:
    # The compromised-root-credentials scenario: every successful attacker root sign-in must page.
    logins = [
        r
        for r in load("panther_test_scenarios.jsonl")
        if r.label.get("actor") == "attacker"
        and r.event.get("eventName") == "ConsoleLogin"
        and (r.event.get("responseElements") or {}).get("ConsoleLogin") == "Success"
    ]
    assert logins
    for record in logins:
        assert "root-console-login" in MATCHER.match(record.event), record.record_id
