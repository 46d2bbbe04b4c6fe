"""Per-detection totals of a replay: the pure functions behind `match --summary`."""

from __future__ import annotations

from typing import Any

from detections.summary import ReplaySummary, format_summary, principal_of, summary_to_dict
from testkit.cloudtrail import api, assumed_role, root


def test_principal_prefers_the_arn_then_falls_back() -> None:
    assert principal_of(api("X", "s3", identity=assumed_role("deploy", "run"))) == (
        "arn:aws:sts::111122223333:assumed-role/deploy/run"
    )
    assert principal_of({"userIdentity": {"type": "AWSService", "invokedBy": "config.amazonaws.com"}}) == (
        "config.amazonaws.com"
    )
    assert principal_of({"userIdentity": {"type": "Unknown"}}) == "Unknown"
    assert principal_of({"eventName": "X"}) == "unknown"


def test_summary_tracks_counts_time_range_and_noise_per_thousand() -> None:
    summary = ReplaySummary(("a", "b"))
    early, late = api("X", "s3", identity=root()), api("Y", "s3")
    early["eventTime"], late["eventTime"] = "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"
    summary.add(late, ["a"])
    summary.add(early, ["a", "b"])
    summary.add(api("Z", "s3"), [])
    summary.add(api("Z", "s3"), [])
    stats = summary.stats["a"]
    assert (stats.count, stats.first_seen, stats.last_seen) == (2, early["eventTime"], late["eventTime"])
    assert summary.records == 4 and summary.matched_records == 2 and summary.total_matches == 3
    assert summary.matches_per_thousand() == 750.0
    data: dict[str, Any] = summary_to_dict(summary)  # a JSON document
    assert [d["id"] for d in data["detections"]] == ["a", "b"]
    assert data["detections"][0]["topPrincipals"][0]["count"] == 1


def test_empty_replay_has_zero_noise_and_lists_silent_detections() -> None:
    summary = ReplaySummary(("a",))
    assert summary.matches_per_thousand() == 0.0
    assert "No matches (1): a" in format_summary(summary)
