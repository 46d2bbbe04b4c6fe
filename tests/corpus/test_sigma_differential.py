"""Every converted test Sigma rule, on every shared-corpus record: our filter pattern against pySigma's SQLite
backend (the independent evaluator in tests/unit/detections/sigma_oracle.py). Any disagreement fails, listed.

Known semantic gap, kept visible rather than hidden: Sigma compares strings case-insensitively, CloudWatch
case-sensitively. A disagreement of that kind would be listed here like any other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detections.filter_pattern import compile_pattern
from detections.sigma_import import import_file
from tests.corpus.corpus import all_corpus_files, iter_corpus
from tests.unit.detections.sigma_oracle import SigmaOracle

pytestmark = pytest.mark.corpus

CONVERTIBLE = sorted(
    (Path(__file__).resolve().parents[1] / "unit/detections/sigma_rules/convertible").glob("*.yml")
)


@pytest.fixture(scope="module")
def corpus_events() -> list[tuple[str, dict[str, object]]]:
    return [(r.record_id, r.event) for path in all_corpus_files() for r in iter_corpus(path)]


@pytest.mark.parametrize("path", CONVERTIBLE, ids=lambda p: p.stem)
def test_filter_pattern_and_sigma_agree_on_every_corpus_record(
    path: Path, corpus_events: list[tuple[str, dict[str, object]]]
) -> None:
    (outcome,) = import_file(path)
    assert outcome.rule is not None, outcome.refusal
    pattern = compile_pattern(outcome.rule.pattern)
    oracle = SigmaOracle(path.read_text(encoding="utf-8")).matches([event for _, event in corpus_events])
    disagreements = [
        f"{record_id}: filter pattern {ours}, Sigma/SQLite {theirs}"
        for (record_id, event), theirs in zip(corpus_events, oracle, strict=True)
        for ours in [pattern.matches_json(event)]
        if ours != theirs
    ]
    assert len(corpus_events) > 1000
    assert not disagreements, f"{len(disagreements)} disagreement(s):\n" + "\n".join(disagreements[:50])


def test_the_corpus_exercises_the_conversions_on_real_positives(
    corpus_events: list[tuple[str, dict[str, object]]],
) -> None:
    # Agreement on records that never match would prove little: real corpus records must hit these rules.
    # (region_enabled has no corpus positive: the one EnableRegion test record carries a wrong eventSource.)
    hits = {}
    for path in CONVERTIBLE:
        (outcome,) = import_file(path)
        assert outcome.rule is not None
        pattern = compile_pattern(outcome.rule.pattern)
        hits[path.stem] = sum(pattern.matches_json(event) for _, event in corpus_events)
    assert {name for name, count in hits.items() if count} >= {
        "console_signin_token_from_cli",
        "kms_imported_key_material",
        "ebs_default_encryption_disabled",
        "storage_deleted",
        "bedrock_guardrail_deleted_or_updated",
        "catalogue_suspicious_use_of_access_keys",
        "catalogue_data_store_deleted_or_locked_out",
        "catalogue_data_protection_turned_off",
        "catalogue_database_public_or_instance_exported",
    }, hits
