"""Every rule's cases: the built-in rules and the user's own (cdk.json ``baseline.detections.rulesDir``).

This is how ``make test`` runs a user's rule cases: add ``<id>.cases.jsonl`` beside ``<id>.toml`` and each
line becomes one test here, named after the rule and the case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detections.catalogue import CATALOGUE
from detections.rule import Detection
from detections.rule_files import RuleCase, case_failures, cases_path_of, load_cases
from stacks.config import CONTEXT_KEY, BaselineConfig

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def configured_user_rules() -> tuple[Detection, ...]:
    """The rules of cdk.json's rulesDir, loaded with synth's validation (relative to the project folder)."""
    baseline = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"].get(CONTEXT_KEY, {})
    return BaselineConfig.from_mapping(baseline).detections.user_rules


def every_case() -> list[tuple[Detection, RuleCase]]:
    rules = (*CATALOGUE, *configured_user_rules())
    return [(rule, case) for rule in rules for case in load_cases(cases_path_of(Path(rule.source)))]


@pytest.mark.parametrize(
    ("detection", "case"), every_case(), ids=lambda value: getattr(value, "id", None) or f"line{value.line}"
)
def test_rule_gives_the_expected_outcome_on_its_case(detection: Detection, case: RuleCase) -> None:
    assert case_failures(detection, [case]) == []


def test_case_failures_reports_a_case_whose_outcome_is_wrong() -> None:
    detection = next(d for d in CATALOGUE if d.id == "root-account-usage")
    (match_case, *_) = load_cases(cases_path_of(Path(detection.source)))
    wrong = RuleCase(expect="no-match", case="flipped", record=match_case.record, line=7)

    (failure,) = case_failures(detection, [wrong])
    assert "line 7" in failure and "expects no-match but the rule matched" in failure
