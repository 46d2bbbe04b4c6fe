"""Proof by differential testing: every compiled EventBridge pattern agrees with its filter pattern.

For every detection the compiler accepts, and every record (the catalogue's own cases, and the shared corpus
when present), the filter pattern's verdict (our engine) must equal the verdict of independent EventBridge
matchers on the record wrapped as CloudTrail publishes it: moto's EventBridge (always) and event-ruler (for
patterns inside its operator subset). Records of event types CloudTrail does not publish to EventBridge are
left out and counted. Any disagreement fails and is listed with detection, record and all verdicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from detections.catalogue import CATALOGUE
from detections.fast_path import enabled, plan
from detections.filter_pattern import compile_pattern
from detections.targets.eventbridge import (
    CompiledEventPattern,
    EventBridgeRefusal,
    compile_patterns,
    eventbridge_envelope,
    forwarding_patterns,
)
from testkit.eventbridge import MotoEventBridge
from testkit.moto_harness import MotoHarness
from testkit.rule_cases import catalogue_case_records
from tests.corpus.corpus import CORPUS_DIR, iter_corpus
from tests.eventbridge_oracles import event_ruler_matches, event_ruler_supports


def corpus_records() -> list[tuple[str, dict[str, Any]]]:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"shared corpus {CORPUS_DIR} not found (it lives outside the repo)")
    return [
        (record.record_id, record.event)
        for path in sorted(CORPUS_DIR.glob("*.jsonl"))
        for record in iter_corpus(path)
    ]


def compiled_catalogue() -> dict[str, CompiledEventPattern]:
    compiled: dict[str, CompiledEventPattern] = {}
    for detection in CATALOGUE:
        try:
            compiled[detection.id] = compile_patterns(detection.all_patterns)
        except EventBridgeRefusal:
            continue
    return compiled


@dataclass
class Comparison:
    compared: int
    unpublished: list[str]
    disagreements: list[str]
    event_ruler_covered: list[str]
    matches: dict[str, int]


def compare(records: list[tuple[str, dict[str, Any]]], aws: MotoHarness) -> Comparison:
    compiled = compiled_catalogue()
    published = [(label, record, eventbridge_envelope(record)) for label, record in records]
    unpublished = [label for label, _, envelope in published if envelope is None]
    kept = [(label, record, envelope) for label, record, envelope in published if envelope is not None]
    envelopes = [envelope for _, _, envelope in kept]
    moto = MotoEventBridge(aws).matches({d: c.pattern for d, c in compiled.items()}, envelopes)
    ruler_covered = [d for d, c in compiled.items() if event_ruler_supports(c.pattern)]
    detections = {d.id: d for d in CATALOGUE}
    disagreements: list[str] = []
    matches: dict[str, int] = {}
    for detection_id, pattern in compiled.items():
        filters = [compile_pattern(text) for text in detections[detection_id].all_patterns]
        matches[detection_id] = 0
        for index, (label, record, envelope) in enumerate(kept):
            engine = any(f.matches_json(record) for f in filters)
            matches[detection_id] += engine
            by_moto = index in moto[detection_id]
            by_ruler = (
                event_ruler_matches(pattern.pattern, envelope) if detection_id in ruler_covered else None
            )
            if by_moto != engine or (by_ruler is not None and by_ruler != engine):
                disagreements.append(
                    f"{detection_id} on {label}: filter pattern {engine}, moto {by_moto}, event-ruler "
                    f"{'n/a' if by_ruler is None else by_ruler}"
                )
    return Comparison(len(kept), unpublished, disagreements, ruler_covered, matches)


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoHarness]:
    with MotoHarness() as harness:
        yield harness


def test_the_compiler_accepts_every_fast_path_detection_and_refuses_some_with_reasons() -> None:
    decisions = plan(CATALOGUE)
    assert enabled(decisions), "no detection has a fast path"
    compiled = compiled_catalogue()
    assert all(d.detection_id in compiled for d in enabled(decisions))
    # The comparison below is only as strong as what it covers: every critical detection is in it.
    assert {d.id for d in CATALOGUE if d.severity == "critical"} <= set(compiled)


def test_compiled_patterns_agree_with_filter_patterns_on_the_catalogue_cases(aws: MotoHarness) -> None:
    result = compare(list(catalogue_case_records()), aws)
    assert result.compared > 100
    assert not result.disagreements, "\n".join(result.disagreements)
    # Each compiled detection must have matched something, or the comparison proves nothing about it.
    assert all(count > 0 for count in result.matches.values()), result.matches
    print(f"\nevent-ruler covers {len(result.event_ruler_covered)}: {', '.join(result.event_ruler_covered)}")


@pytest.mark.corpus
def test_compiled_patterns_agree_with_filter_patterns_on_the_shared_corpus(aws: MotoHarness) -> None:
    result = compare(corpus_records(), aws)
    assert result.compared > 1000
    assert not result.disagreements, "\n".join(result.disagreements)
    print(
        f"\ncompared {result.compared} corpus records; {len(result.unpublished)} of event types CloudTrail "
        f"does not publish to EventBridge; matches per detection: {result.matches}"
    )


@pytest.mark.corpus
def test_forwarding_rules_carry_every_event_a_fast_path_detection_matches(aws: MotoHarness) -> None:
    fast = enabled(plan(CATALOGUE))
    patterns = forwarding_patterns([d.compiled for d in fast if d.compiled])
    records = [*catalogue_case_records(), *corpus_records()]
    kept = [(label, r, e) for label, r, e in ((lbl, r, eventbridge_envelope(r)) for lbl, r in records) if e]
    moto = MotoEventBridge(aws).matches(
        {str(i): p.pattern for i, p in enumerate(patterns)}, [e for *_, e in kept]
    )
    forwarded = set().union(*moto.values())
    detections = {d.id: d for d in CATALOGUE}
    missed = [
        f"{decision.detection_id} on {label}"
        for decision in fast
        for index, (label, record, _) in enumerate(kept)
        if index not in forwarded
        and any(
            compile_pattern(t).matches_json(record) for t in detections[decision.detection_id].all_patterns
        )
    ]
    assert not missed, "\n".join(missed)


#: Records whose readOnly flag is not what CloudTrail writes for that call, with the evidence.
READ_ONLY_FLAG_NOT_CLOUDTRAILS = {
    "panther_rule_tests:49": "a hand-written Panther test log (userAgent 'Mozilla') marking StartLogging "
    "readOnly=true; StartLogging changes the trail, and CloudTrail records it readOnly=false",
}


def test_read_only_events_reach_every_fast_path_detection_that_matches_them() -> None:
    """A detection whose pattern matched a readOnly=true record must listen to read-only events."""
    records = list(catalogue_case_records())
    if CORPUS_DIR.is_dir():
        records += corpus_records()
    detections = {d.id: d for d in CATALOGUE}
    wrong = [
        f"{decision.detection_id} matched read-only {label} but its rule state is {decision.rule_state}"
        for decision in enabled(plan(CATALOGUE))
        for label, record in records
        if record.get("readOnly") is True
        and label not in READ_ONLY_FLAG_NOT_CLOUDTRAILS
        and decision.rule_state == "ENABLED"
        and any(
            compile_pattern(t).matches_json(record) for t in detections[decision.detection_id].all_patterns
        )
    ]
    assert not wrong, "\n".join(wrong)


def test_moto_deviation_false_matches_zero(aws: MotoHarness) -> None:
    """moto compares with Python ==, so [false] matches 0 (EventBridge compares JSON types); event-ruler not.

    Pinned so that the note in tests/eventbridge_oracles.py is revisited when a moto upgrade fixes it.
    """
    envelope = {"source": "aws.test", "detail-type": "AWS API Call via CloudTrail", "detail": {"readOnly": 0}}
    pattern = {"detail": {"readOnly": [False]}}
    assert MotoEventBridge(aws).matches({"p": pattern}, [envelope]) == {"p": {0}}
    assert not event_ruler_matches(pattern, envelope)
