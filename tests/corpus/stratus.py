"""Which Stratus Red Team techniques the catalogue catches on their detonation logs, and the noise figure."""

from __future__ import annotations

from collections import defaultdict

from detections.catalogue import CATALOGUE
from detections.replay import CatalogueMatcher
from detections.summary import ReplaySummary
from tests.corpus.corpus import load


def caught_techniques(matcher: CatalogueMatcher) -> dict[str, set[str]]:
    """technique -> detections firing on at least one of its records (empty set = missed)."""
    by_technique: dict[str, set[str]] = defaultdict(set)
    for record in load("stratus_detonation_logs.jsonl"):
        by_technique[record.label["technique"]].update(matcher.match(record.event))
    return dict(by_technique)


def invictus_noise(matcher: CatalogueMatcher) -> ReplaySummary:
    summary = ReplaySummary(tuple(d.id for d in CATALOGUE))
    for record in load("invictus_aws_dataset.jsonl"):
        summary.add(record.event, matcher.match(record.event))
    return summary


def cis_only_matcher() -> CatalogueMatcher:
    return CatalogueMatcher([d for d in CATALOGUE if d.controls])


if __name__ == "__main__":  # python -m tests.corpus.stratus : print the coverage and noise figures
    full, cis = CatalogueMatcher(), cis_only_matcher()
    techniques = caught_techniques(full)
    cis_caught = [t for t, ids in caught_techniques(cis).items() if ids]
    print(
        f"Stratus techniques caught: {sum(bool(v) for v in techniques.values())}/{len(techniques)} "
        f"(CIS-only: {len(cis_caught)}/{len(techniques)})"
    )
    for technique, ids in sorted(techniques.items()):
        print(f"  {'caught' if ids else 'MISSED':6}  {technique}  {', '.join(sorted(ids))}")
    noise, cis_noise = invictus_noise(full), invictus_noise(cis)
    print(
        f"Invictus noise: {noise.matches_per_thousand():.1f} matches per 1,000 records "
        f"({noise.total_matches} matches, {noise.matched_records} of {noise.records} records); "
        f"CIS-only: {cis_noise.matches_per_thousand():.1f}"
    )
    for detection_id, stats in sorted(noise.stats.items(), key=lambda i: -i[1].count):
        if stats.count:
            print(f"  {stats.count:4}  {detection_id}")
