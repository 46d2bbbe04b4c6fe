"""How noisy would the baseline have been? Per-detection counts over a replay, as pure functions.

Memory is bounded by the number of detections times the number of *distinct* principals and source IPs that
matched, not by the number of records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TOP_N = 5


def principal_of(record: Mapping[str, object]) -> str:
    """A readable principal: the ARN when there is one, else userName, principalId or the identity type."""
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return "unknown"
    for key in ("arn", "userName", "principalId", "invokedBy", "type"):
        value = identity.get(key)
        if isinstance(value, str) and value:
            return value
    return "unknown"


def _text(record: Mapping[str, object], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) and value else None


@dataclass
class DetectionStats:
    """Matches of one detection over a replay."""

    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    principals: Counter[str] = field(default_factory=Counter)
    source_ips: Counter[str] = field(default_factory=Counter)
    #: Matches per UTC day ("2023-07-10", the first 10 characters of eventTime; "unknown" without one).
    days: Counter[str] = field(default_factory=Counter)

    def add(self, record: Mapping[str, object]) -> None:
        event_time = _text(record, "eventTime")
        self.add_group(
            1,
            event_time,
            event_time,
            principal_of(record),
            _text(record, "sourceIPAddress") or "unknown",
            event_time[:10] if event_time is not None else "unknown",
        )

    def add_group(
        self,
        count: int,
        first_seen: str | None,
        last_seen: str | None,
        principal: str,
        source_ip: str,
        day: str,
    ) -> None:
        """``count`` matches sharing principal, source IP and day (one record, or one row of a GROUP BY)."""
        self.count += count
        # ISO 8601 UTC timestamps ("2023-07-10T11:42:44Z") order correctly as strings.
        if first_seen is not None and (self.first_seen is None or first_seen < self.first_seen):
            self.first_seen = first_seen
        if last_seen is not None and (self.last_seen is None or last_seen > self.last_seen):
            self.last_seen = last_seen
        self.principals[principal] += count
        self.source_ips[source_ip] += count
        self.days[day] += count

    def merge(self, other: DetectionStats) -> None:
        """Fold in the stats of a later part of the same replay (counters keep first-seen order)."""
        self.count += other.count
        if other.first_seen is not None and (self.first_seen is None or other.first_seen < self.first_seen):
            self.first_seen = other.first_seen
        if other.last_seen is not None and (self.last_seen is None or other.last_seen > self.last_seen):
            self.last_seen = other.last_seen
        self.principals.update(other.principals)
        self.source_ips.update(other.source_ips)
        self.days.update(other.days)


@dataclass
class ReplaySummary:
    """Totals of a replay plus one DetectionStats per catalogue detection (zero counts included)."""

    detection_ids: tuple[str, ...]
    records: int = 0
    matched_records: int = 0
    failed_files: int = 0
    stats: dict[str, DetectionStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for detection_id in self.detection_ids:
            self.stats.setdefault(detection_id, DetectionStats())

    def add(self, record: Mapping[str, object], matches: Sequence[str]) -> None:
        self.records += 1
        if matches:
            self.matched_records += 1
        for detection_id in matches:
            self.stats[detection_id].add(record)

    def merge(self, other: ReplaySummary) -> None:
        """Fold in the summary of the files that follow (merged in file order: the sequential result)."""
        self.records += other.records
        self.matched_records += other.matched_records
        self.failed_files += other.failed_files
        for detection_id, stats in other.stats.items():
            self.stats.setdefault(detection_id, DetectionStats()).merge(stats)

    @property
    def total_matches(self) -> int:
        return sum(s.count for s in self.stats.values())

    def matches_per_thousand(self) -> float:
        """Detection matches per 1,000 records: the noise figure."""
        return 1000.0 * self.total_matches / self.records if self.records else 0.0


def summary_to_dict(summary: ReplaySummary, top: int = TOP_N) -> dict[str, object]:
    """JSON-ready form; detections ordered by count (highest first), then catalogue order."""
    order = {detection_id: n for n, detection_id in enumerate(summary.detection_ids)}
    ranked = sorted(summary.stats.items(), key=lambda item: (-item[1].count, order[item[0]]))
    return {
        "records": summary.records,
        "matchedRecords": summary.matched_records,
        "matches": summary.total_matches,
        "matchesPerThousandRecords": round(summary.matches_per_thousand(), 2),
        "failedFiles": summary.failed_files,
        "detections": [
            {
                "id": detection_id,
                "count": stats.count,
                "firstSeen": stats.first_seen,
                "lastSeen": stats.last_seen,
                "topPrincipals": [{"principal": p, "count": n} for p, n in stats.principals.most_common(top)],
                "topSourceIPs": [
                    {"sourceIPAddress": ip, "count": n} for ip, n in stats.source_ips.most_common(top)
                ],
                "matchesPerDay": dict(sorted(stats.days.items())),
            }
            for detection_id, stats in ranked
        ],
    }


def format_summary(summary: ReplaySummary, top: int = 3) -> str:
    """Human-readable report: totals, then one block per detection that matched, noisiest first."""
    data = summary_to_dict(summary, top=top)
    lines = [
        f"Records: {summary.records:,}   matched: {summary.matched_records:,}   "
        f"detection matches: {summary.total_matches:,} "
        f"({summary.matches_per_thousand():.1f} per 1,000 records)"
        + (f"   failed files: {summary.failed_files}" if summary.failed_files else ""),
        "",
    ]
    detections = data["detections"]
    assert isinstance(detections, list)
    silent = [d["id"] for d in detections if d["count"] == 0]
    for entry in detections:
        if entry["count"] == 0:
            continue
        lines.append(
            f"{entry['id']}: {entry['count']:,}   first {entry['firstSeen']}   last {entry['lastSeen']}"
        )
        principals = ", ".join(f"{p['principal']} ({p['count']})" for p in entry["topPrincipals"])
        addresses = ", ".join(f"{a['sourceIPAddress']} ({a['count']})" for a in entry["topSourceIPs"])
        lines.append(f"    principals: {principals}")
        lines.append(f"    source IPs: {addresses}")
        per_day = entry["matchesPerDay"]
        busiest = sorted(per_day.items(), key=lambda item: (-item[1], item[0]))[:top]
        lines.append(
            f"    days with matches: {len(per_day)}; busiest: "
            + ", ".join(f"{day} ({count})" for day, count in busiest)
        )
    if silent:
        lines.extend(["", f"No matches ({len(silent)}): {', '.join(silent)}"])
    return "\n".join(lines)
