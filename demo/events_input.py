"""The user's own CloudTrail files as demo input, placed where CloudWatch Logs will accept them.

Files are read by the replay command's reader (``detections.replay``: trail ``.json.gz`` objects, ``.json``,
JSON Lines, folders). CloudWatch Logs refuses log events older than 14 days or more than 2 hours in the
future, and the forwarder searches the log group around the alarm's time, so records outside that window are
moved as one block (every ``eventTime`` by the same offset, rewritten in a copy of the record) to end just
before now. The gaps between records, hence the simulated timeline, stay as in the files.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from demo.simulation import RecordTimeError, event_time
from detections.replay import ReplayError, iter_records

CLOUDWATCH_LOGS_MAX_AGE = timedelta(days=14)
SAFETY_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class LoadedEvents:
    records: tuple[dict[str, Any], ...]
    errors: tuple[str, ...]  # per-file problems (the run goes on with what could be read)
    skipped_without_time: int
    shifted_by: timedelta  # zero when the records could be used at their own times


def read_event_files(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], list[str], int]:
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    skipped = 0
    for item in iter_records(paths):
        if isinstance(item, ReplayError):
            errors.append(item.message)
            continue
        try:
            event_time(item.record)
        except RecordTimeError as error:
            skipped += 1
            if skipped <= 3:
                errors.append(f"{item.source}: record {item.position}: {error} (skipped)")
            continue
        records.append(item.record)
    return records, errors, skipped


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def place_in_ingestion_window(
    records: Sequence[dict[str, Any]], *, now: datetime, settle: timedelta
) -> tuple[list[dict[str, Any]], timedelta]:
    """Records at times CloudWatch Logs accepts at ``now``, ending ``settle`` before it (moved if needed)."""
    if not records:
        return [], timedelta(0)
    times = [event_time(r) for r in records]
    first, last = min(times), max(times)
    if last - first > CLOUDWATCH_LOGS_MAX_AGE - SAFETY_MARGIN - settle:
        raise ValueError(
            f"the records span {last - first}, more than CloudWatch Logs' 14-day ingestion window; "
            "replay a shorter period (one folder per day or week)"
        )
    latest_allowed = now - settle
    earliest_allowed = now - CLOUDWATCH_LOGS_MAX_AGE + SAFETY_MARGIN
    if earliest_allowed <= first and last <= latest_allowed:
        return list(records), timedelta(0)
    offset = latest_allowed - last
    offset = timedelta(seconds=round(offset.total_seconds() / 60) * 60)  # keep second-of-minute positions
    shifted = []
    for record, moment in zip(records, times, strict=True):
        moved = copy.deepcopy(record)
        moved["eventTime"] = _iso(moment + offset)
        shifted.append(moved)
    return shifted, offset


def dominant(records: Sequence[dict[str, Any]], key: str, default: str) -> str:
    """The most common value of a top-level string field (the account and region the demo deploys to)."""
    counts = Counter(str(r[key]) for r in records if isinstance(r.get(key), str) and r.get(key))
    return counts.most_common(1)[0][0] if counts else default
