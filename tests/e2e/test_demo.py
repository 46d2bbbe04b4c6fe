"""``make demo`` as a test: an attack goes in through the synthesized pipeline, valid enriched pages come out.

Runs what the demo runs (cdk.out from a real ``cdk synth``, moto's server and the PagerDuty receiver on
loopback, the forwarder's asset in a Lambda-like process) and checks the results independently of the
demo's own checks: the schema is applied again to every request line written to disk, and "matching
evidence" is recomputed from the catalogue's patterns rather than taken from the pipeline.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo import scenario
from demo.checks import Page, incidents, outcomes_of, pages_of
from demo.cli import builtin_input, run_demo, user_input
from demo.pipeline import Delivery, FastDelivery, RunResult
from demo.time_to_page import PATH_ALARM, PATH_FAST
from detections.catalogue import CATALOGUE, get_detection
from detections.filter_pattern import compile_pattern
from testkit.moto_harness import MotoHarness
from testkit.pagerduty_receiver import (
    RecordedRequest,
    account_alerts,
    incidents_with_several_alerts,
    validate_event,
)


@dataclass
class DemoRun:
    code: int
    result: RunResult
    problems: list[str]
    output: list[str]
    output_dir: Path

    @property
    def pages(self) -> list[Page]:
        return pages_of(self.result)


def run(demo_input: Any, cdk_out: Path, output_dir: Path) -> DemoRun:
    lines: list[str] = []
    code, result, problems = run_demo(demo_input, cdk_out=cdk_out, output_dir=output_dir, out=lines.append)
    return DemoRun(code, result, problems, lines, output_dir)


def matching_event_ids(records: list[dict[str, Any]], detection_id: str) -> set[str]:
    patterns = [compile_pattern(p) for p in get_detection(detection_id).all_patterns]
    return {str(r["eventID"]) for r in records if any(p.matches_json(r) for p in patterns)}


@pytest.fixture(scope="module")
def builtin_run(synthesized_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run(builtin_input(datetime.now(UTC)), synthesized_cdk_out, tmp_path_factory.mktemp("demo-output"))


class TestBuiltinScenario:
    def test_the_run_succeeds_by_its_own_checks(self, builtin_run: DemoRun) -> None:
        assert builtin_run.problems == []
        assert builtin_run.code == 0
        assert builtin_run.output[-1].startswith("OK:")

    def test_at_least_five_distinct_detections_are_paged(self, builtin_run: DemoRun) -> None:
        distinct = {page.detection_id for page in builtin_run.pages}
        assert len(distinct) >= 5, distinct

    def test_every_detection_the_attack_is_written_for_is_paged(self, builtin_run: DemoRun) -> None:
        paged = {page.detection_id for page in builtin_run.pages}
        assert set(scenario.EXPECTED_DETECTIONS) <= paged
        assert set(scenario.EXPECTED_DETECTIONS) <= {d.id for d in CATALOGUE}

    def test_every_request_written_to_disk_is_schema_valid(self, builtin_run: DemoRun) -> None:
        path = builtin_run.output_dir / "pagerduty-events.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(builtin_run.result.requests) >= 5
        for line in lines:
            written = json.loads(line)
            _, errors = validate_event(json.dumps(written["event"]).encode())
            assert errors == [], errors
            assert written["response_status"] == 202
        assert any(f"{path}" in line for line in builtin_run.output)

    def test_pages_show_only_records_that_match_their_detection(self, builtin_run: DemoRun) -> None:
        records = [event.record for event in builtin_run.result.events]
        for page in builtin_run.pages:
            assert page.detection_id is not None
            shown = page.evidence_event_ids()
            assert shown, f"page for {page.detection_id} shows no evidence"
            assert shown <= matching_event_ids(records, page.detection_id), page.detection_id
            if isinstance(page.delivery, Delivery):  # the alarm path searched the log group for its evidence
                assert page.details["enrichment"]["status"] == "complete"
            else:  # the fast path's event is its own evidence
                assert shown == {str(page.delivery.fast.event.record["eventID"]) if page.delivery else ""}

    def test_no_page_carries_an_unresolved_cloudformation_intrinsic(self, builtin_run: DemoRun) -> None:
        # The deployed names (log group in the Logs Insights link, alarm, queue) are read back from the
        # templates; an intrinsic left unresolved would show up as "Fn::..." in what the responder sees.
        for page in builtin_run.pages:
            assert "Fn::" not in json.dumps(page.event) and "Fn%3A%3A" not in json.dumps(page.event)
            assert "Fn*3A*3A" not in json.dumps(page.event), page.detection_id

    def test_a_root_login_page_reads_as_a_responder_needs_it(self, builtin_run: DemoRun) -> None:
        # The fast path's page first, then the alarm path's on the same alert (same dedup_key)
        fast, alarm = [p for p in builtin_run.pages if p.detection_id == "root-console-login"]
        assert isinstance(fast.delivery, FastDelivery) and isinstance(alarm.delivery, Delivery)
        assert fast.event["dedup_key"] == alarm.event["dedup_key"]
        for page in (fast, alarm):
            assert page.payload["severity"] == "critical"
            assert scenario.ATTACKER_CONSOLE_IP in page.payload["summary"]
            assert page.details["evidence"]["source_ips"] == [scenario.ATTACKER_CONSOLE_IP]
        assert any(link["text"] == "CloudWatch alarm" for link in alarm.event["links"])

    def test_rate_detections_resolve_when_their_alarm_returns_to_ok(self, builtin_run: DemoRun) -> None:
        resolves = [
            r.event["dedup_key"]
            for r in builtin_run.result.requests
            if r.event.get("event_action") == "resolve"
        ]
        triggers = {
            p.event["dedup_key"]
            for p in builtin_run.pages
            if p.detection_id == "console-authentication-failures"
        }
        assert triggers and triggers <= set(resolves)

    def test_the_timeline_shows_the_alarm_transitions(self, builtin_run: DemoRun) -> None:
        text = "\n".join(builtin_run.output)
        assert "alarm root-console-login: OK -> ALARM" in text
        assert "alarm root-console-login: ALARM -> OK" in text
        assert "no records delivered until" in text  # the trail is silent after StopLogging

    def test_records_arrive_late_and_every_matching_one_is_paged_within_a_minute_of_arriving(
        self, builtin_run: DemoRun
    ) -> None:
        # Given the default delay model, records reach the log group minutes after their eventTime
        delays = [event.delay for event in builtin_run.result.events]
        assert max(delays) > timedelta(minutes=3)
        assert "(delay " in "\n".join(builtin_run.output)
        outcomes = [o for o in outcomes_of(builtin_run.result) if o.path == PATH_ALARM]
        # Then every record matching a detection (recomputed from the catalogue) has an outcome ...
        records = [event.record for event in builtin_run.result.events]
        for detection in {o.detection for o in outcomes}:
            expected = matching_event_ids(records, detection)
            assert {str(o.event.record["eventID"]) for o in outcomes if o.detection == detection} == expected
        # ... none is missed, and a record that raised a page was paged after it arrived, within a minute
        assert [o for o in outcomes if o.coverage == "missed"] == []
        raised = [o for o in outcomes if o.coverage == "raised"]
        assert raised
        for outcome in raised:
            assert outcome.time_to_page is not None
            after_arrival = outcome.time_to_page - outcome.event.delay
            assert timedelta(0) < after_arrival <= timedelta(seconds=60), outcome
        assert "metric filter -> alarm" in "\n".join(builtin_run.output)


class TestFastPath:
    """The fast path as `make demo` runs it: the synthesized EventBridge rules, moto's matcher, the asset."""

    def test_the_synthesized_rules_page_critical_detections_within_seconds_of_the_api_call(
        self, builtin_run: DemoRun
    ) -> None:
        assert builtin_run.result.fast_events, (
            "no fast-path rule in cdk.out: is baseline.fastPath.enabled on?"
        )
        fast = [o for o in outcomes_of(builtin_run.result) if o.path == PATH_FAST]
        raised = {o.detection: o for o in fast if o.coverage == "raised"}
        assert {"root-console-login", "cloudtrail-configuration-changes"} <= set(raised)
        for outcome in raised.values():
            assert outcome.time_to_page is not None
            assert outcome.time_to_page <= timedelta(seconds=60), outcome
        # nothing delivered went unpaged (lost on the way is the documented best-effort limit)
        assert [o for o in fast if o.coverage == "missed"] == []

    def test_the_fast_page_comes_before_the_alarm_paths_page_for_the_same_record(
        self, builtin_run: DemoRun
    ) -> None:
        outcomes = outcomes_of(builtin_run.result)
        fast = {
            (o.detection, o.event.record["eventID"]): o.paged_at
            for o in outcomes
            if o.path == PATH_FAST and o.paged_at
        }
        compared = 0
        for o in outcomes:
            key = (o.detection, o.event.record["eventID"])
            if o.path == PATH_ALARM and o.coverage == "raised" and key in fast and o.paged_at:
                assert fast[key] < o.paged_at, key
                compared += 1
        assert compared >= 3

    def test_exactly_one_pagerduty_alert_per_incident_recounted_from_the_requests_on_disk(
        self, builtin_run: DemoRun
    ) -> None:
        # The alerts are recounted from what the receiver wrote to disk, not taken from the run's own view.
        lines = (builtin_run.output_dir / "pagerduty-events.jsonl").read_text(encoding="utf-8").splitlines()
        written = [json.loads(line) for line in lines]
        requests = [
            RecordedRequest(w["path"], b"", w["event"], w["valid"], w["errors"], w["response_status"])
            for w in written
        ]
        view = account_alerts(requests)
        found = incidents(builtin_run.result, outcomes_of(builtin_run.result))
        assert found and incidents_with_several_alerts(view, found) == {}
        # and at least one incident reached PagerDuty from both paths, onto one alert
        both = [
            name
            for name, indexes in found.items()
            if len({alert.number for i in indexes if (alert := view.alert_of(i)) is not None}) == 1
            and any(i in d.request_indexes for d in builtin_run.result.fast_deliveries for i in indexes)
            and any(i in d.request_indexes for d in builtin_run.result.deliveries for i in indexes)
        ]
        assert both, found

    def test_the_timeline_shows_the_fast_page_then_the_alarm_paths_update_on_the_same_alert(
        self, builtin_run: DemoRun
    ) -> None:
        text = "\n".join(builtin_run.output)
        opened = re.findall(r"EventBridge -> forwarder: .*opened alert #(\d+)", text)
        updated = set(re.findall(r"SNS -> forwarder: .*updated alert #(\d+)", text))
        assert opened and set(opened) & updated
        assert "EventBridge fast path" in text and "metric filter -> alarm" in text  # time to page per path
        assert "Alerts at the local PagerDuty" in text


def test_without_the_episode_table_an_incident_gets_two_alerts_and_the_demo_fails(
    synthesized_cdk_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the forwarder's episode table missing (every store call fails: the forwarder still pages)
    monkeypatch.setattr(MotoHarness, "create_episode_table", lambda self, name: name)
    # When the built-in attack is replayed
    demo_run = run(builtin_input(datetime.now(UTC)), synthesized_cdk_out, tmp_path / "out")
    # Then the alarm path's pages open alerts of their own, and the demo says so and fails
    assert demo_run.code == 1
    doubled = [p for p in demo_run.problems if "PagerDuty alerts (one expected)" in p]
    assert any("root-console-login" in p for p in doubled), demo_run.problems


def test_a_users_own_cloudtrail_file_is_replayed(synthesized_cdk_out: Path, tmp_path: Path) -> None:
    # Given a trail-format .json.gz from long ago (CloudWatch Logs would refuse its times as they are)
    story = scenario.attack_chain(start=datetime(2024, 5, 2, 13, 0, tzinfo=UTC), seed=7)
    chosen = [
        r
        for r in story.records
        if r["eventName"] in ("ConsoleLogin", "StopLogging", "Decrypt", "ScheduleKeyDeletion")
    ]
    path = tmp_path / "111122223333_CloudTrail_us-east-1_20240502T1300Z_demo.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": chosen}).encode()))

    # When the demo replays it
    demo_run = run(user_input([path], datetime.now(UTC)), synthesized_cdk_out, tmp_path / "out")

    # Then the matching detections page, with evidence from the file, and the move in time is disclosed
    assert demo_run.problems == []
    paged = {page.detection_id for page in demo_run.pages}
    assert {
        "root-console-login",
        "cloudtrail-configuration-changes",
        "kms-cmk-disabled-or-scheduled-for-deletion",
    } <= paged
    assert "root-account-usage" in paged  # the root ConsoleLogin is also root activity
    file_ids = {str(r["eventID"]) for r in chosen}
    for page in demo_run.pages:
        assert page.evidence_event_ids() <= file_ids
    assert any("records moved by" in line for line in demo_run.output)
