"""The built-in scenario is real CloudTrail, and user files are placed where CloudWatch Logs accepts them."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo.events_input import dominant, place_in_ingestion_window, read_event_files
from demo.scenario import ACCOUNT_ID, EXPECTED_DETECTIONS, attack_chain, write_scenario
from demo.simulation import event_time
from detections.catalogue import CATALOGUE, get_detection
from detections.filter_pattern import compile_pattern

DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(n) for n in ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24")
]
PRIVATE = ipaddress.ip_network("10.0.0.0/8")
START = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)

API_CALL_FIELDS = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
    "tlsDetails",
}


class TestBuiltinScenario:
    def test_is_deterministic(self) -> None:
        assert attack_chain(START).records == attack_chain(START).records

    def test_records_have_cloudtrails_fields(self) -> None:
        for record in attack_chain(START).records:
            required = API_CALL_FIELDS - (
                {"requestID"} if record["eventType"] == "AwsConsoleSignIn" else set()
            )
            assert required <= set(record), (record["eventName"], required - set(record))
            assert record["recipientAccountId"] == ACCOUNT_ID
            assert record["userIdentity"]["accountId"] == ACCOUNT_ID

    def test_uses_only_documentation_and_private_addresses(self) -> None:
        for record in attack_chain(START).records:
            address = ipaddress.ip_address(record["sourceIPAddress"])
            assert any(address in n for n in [*DOCUMENTATION_NETWORKS, PRIVATE]), address

    def test_event_ids_are_unique_and_records_are_in_time_order(self) -> None:
        records = attack_chain(START).records
        assert len({r["eventID"] for r in records}) == len(records)
        assert [r["eventTime"] for r in records] == sorted(r["eventTime"] for r in records)

    def test_spans_thirty_minutes_and_the_trail_is_silent_after_stop_logging(self) -> None:
        story = attack_chain(START)
        assert story.end - story.start == timedelta(minutes=30)
        assert story.records[-1]["eventName"] == "StopLogging"

    @pytest.mark.parametrize("detection_id", EXPECTED_DETECTIONS)
    def test_each_expected_detection_matches_a_record_of_the_attack(self, detection_id: str) -> None:
        patterns = [compile_pattern(p) for p in get_detection(detection_id).all_patterns]
        assert any(p.matches_json(r) for r in attack_chain(START).records for p in patterns)

    def test_background_traffic_alone_pages_for_nothing(self) -> None:
        background = [
            r for r in attack_chain(START).records if r["sourceIPAddress"].startswith(("10.", "192.0.2."))
        ]
        assert len(background) > 50
        for detection in CATALOGUE:
            patterns = [compile_pattern(p) for p in detection.all_patterns]
            assert not any(p.matches_json(r) for r in background for p in patterns), detection.id

    def test_written_scenario_reads_back_with_the_replay_reader(self, tmp_path: Path) -> None:
        path = write_scenario(tmp_path / "attack.jsonl", attack_chain(START))
        records, errors, skipped = read_event_files([path])
        assert (errors, skipped) == ([], 0)
        assert records == [json.loads(json.dumps(r)) for r in attack_chain(START).records]


class TestIngestionWindow:
    NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)

    def test_recent_records_are_used_as_they_are(self) -> None:
        records = [{"eventTime": "2026-11-24T05:00:00Z"}, {"eventTime": "2026-11-24T05:20:10Z"}]
        placed, offset = place_in_ingestion_window(records, now=self.NOW, settle=timedelta(minutes=15))
        assert offset == timedelta(0) and placed == records

    def test_old_records_move_together_to_just_before_now(self) -> None:
        records: list[dict[str, Any]] = [
            {"eventTime": "2023-07-10T12:00:05Z", "x": 1},
            {"eventTime": "2023-07-10T12:03:50Z"},
        ]
        placed, offset = place_in_ingestion_window(records, now=self.NOW, settle=timedelta(minutes=15))
        times = [event_time(r) for r in placed]
        assert times[1] - times[0] == timedelta(minutes=3, seconds=45)
        assert self.NOW - timedelta(minutes=16) <= times[1] <= self.NOW - timedelta(minutes=14)
        assert times[0].second == 5  # whole-minute offset: seconds within the minute are kept
        assert records[0]["eventTime"] == "2023-07-10T12:00:05Z"  # the caller's records are not modified
        assert offset > timedelta(days=1000)

    def test_a_span_longer_than_fourteen_days_is_refused(self) -> None:
        records = [{"eventTime": "2026-01-01T00:00:00Z"}, {"eventTime": "2026-01-20T00:00:00Z"}]
        with pytest.raises(ValueError, match="14-day"):
            place_in_ingestion_window(records, now=self.NOW, settle=timedelta(minutes=15))

    def test_records_without_time_are_skipped_and_reported(self, tmp_path: Path) -> None:
        path = tmp_path / "mixed.jsonl"
        path.write_text('{"eventTime": "2026-11-24T05:00:00Z", "eventID": "a"}\n{"eventID": "b"}\n')
        records, errors, skipped = read_event_files([path])
        assert [r["eventID"] for r in records] == ["a"]
        assert skipped == 1 and "has no eventTime" in errors[0]

    def test_dominant_account(self) -> None:
        records = [{"recipientAccountId": "1"}, {"recipientAccountId": "2"}, {"recipientAccountId": "2"}]
        assert dominant(records, "recipientAccountId", "0") == "2"
        assert dominant([], "recipientAccountId", "0") == "0"
