"""The EventBridge delivery model (demo/eventbridge_delivery.py) and the receiver's alert accounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demo.eventbridge_delivery import (
    LOSS_PROBABILITY,
    SLOW_PROBABILITY,
    EventBridgeModelError,
    parse_eventbridge_model,
)
from demo.simulation import LogEvent
from demo.time_to_page import PATH_FAST, FastPage, fast_outcomes, percentile, summarize
from testkit.pagerduty_receiver import (
    RecordedRequest,
    account_alerts,
    incidents_with_several_alerts,
)

SEED = 20261130


class TestEventBridgeDeliveryModel:
    def test_the_assumed_model_is_seconds_with_a_rare_slow_tail_and_rare_losses(self) -> None:
        # Given 100,000 draws of the default model
        draws = parse_eventbridge_model("assumed").samples(100_000, SEED)
        delays = [d.delay_seconds for d in draws if d.delay_seconds is not None]
        # Then the body is seconds (the parameters documented in the module) ...
        assert 2.5 <= percentile(delays, 0.5) <= 3.5
        assert 9.0 <= percentile(delays, 0.95) <= 13.0
        assert 16.0 <= percentile(delays, 0.99) <= 24.0
        # ... a slow tail of one to five minutes at about its probability, and best-effort losses
        slow = sum(d > 60 for d in delays)
        assert 0.5 * SLOW_PROBABILITY * 100_000 <= slow <= 1.5 * SLOW_PROBABILITY * 100_000
        assert max(delays) <= 300
        lost = sum(d.lost for d in draws)
        assert 1 <= lost <= 3 * LOSS_PROBABILITY * 100_000

    def test_the_same_seed_gives_the_same_deliveries_and_another_seed_others(self) -> None:
        model = parse_eventbridge_model("assumed")
        assert model.samples(50, SEED) == model.samples(50, SEED)
        assert model.samples(50, SEED) != model.samples(50, SEED + 1)

    def test_fixed_and_none_lose_nothing(self) -> None:
        fixed = parse_eventbridge_model("fixed:7.5")
        assert fixed.name == "fixed:7.5"
        assert {d.delay_seconds for d in fixed.samples(1000, SEED)} == {7.5}
        assert {d.delay_seconds for d in parse_eventbridge_model("none").samples(1000, SEED)} == {0.0}

    @pytest.mark.parametrize("text", ["fast", "fixed:-1", "fixed:abc", "fixed:inf", ""])
    def test_an_unknown_model_is_refused_naming_the_option_and_the_forms(self, text: str) -> None:
        with pytest.raises(EventBridgeModelError, match=r"--eventbridge-delay.*'assumed'.*'fixed:N'.*'none'"):
            parse_eventbridge_model(text)


def _request(
    action: str, key: str | None, detection: str = "root-console-login", status: int = 202
) -> RecordedRequest:
    event: dict[str, object] = {"routing_key": "k" * 32, "event_action": action}
    if key is not None:
        event["dedup_key"] = key
    if action == "trigger":
        event["payload"] = {"summary": f"{detection} happened", "class": detection}
    return RecordedRequest("/v2/enqueue", b"", event, True, [], status)


class TestAlertAccounting:
    def test_first_trigger_opens_later_triggers_update_resolve_closes_and_a_trigger_after_it_reopens(
        self,
    ) -> None:
        view = account_alerts(
            [
                _request("trigger", "a"),
                _request("trigger", "a"),
                _request("trigger", "b", "trail-stopped"),
                _request("resolve", "a"),
                _request("resolve", "a"),
                _request("trigger", "a"),
            ]
        )
        assert [action[1] if action else None for action in view.actions] == [
            "opened",
            "updated",
            "opened",
            "resolved",
            "no open alert",
            "opened",
        ]
        assert [(a.number, a.dedup_key, a.triggers, a.resolved) for a in view.alerts] == [
            (1, "a", 2, True),
            (2, "b", 1, False),
            (3, "a", 1, False),
        ]
        assert view.alerts[1].detection == "trail-stopped"

    def test_refused_requests_touch_no_alert_and_keyless_triggers_each_open_one(self) -> None:
        view = account_alerts(
            [_request("trigger", "a", status=429), _request("trigger", None), _request("trigger", None)]
        )
        assert view.actions[0] is None
        assert len(view.alerts) == 2

    def test_an_incident_whose_two_paths_land_on_one_alert_passes(self) -> None:
        # fast path opens, alarm path updates the same key
        view = account_alerts([_request("trigger", "fast-key"), _request("trigger", "fast-key")])
        assert incidents_with_several_alerts(view, {"root-console-login episode 1": [0, 1]}) == {}

    def test_an_incident_that_produced_two_alerts_is_detected(self) -> None:
        # the alarm path used its own key instead of the fast path's: the responder sees two alerts
        view = account_alerts([_request("trigger", "fast-key"), _request("trigger", "alarm-key")])
        found = incidents_with_several_alerts(view, {"root-console-login episode 1": [0, 1]})
        assert list(found) == ["root-console-login episode 1"]
        assert [alert.dedup_key for alert in found["root-console-login episode 1"]] == [
            "fast-key",
            "alarm-key",
        ]


def _log_event(event_id: str) -> LogEvent:
    return LogEvent(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "{}", {"eventID": event_id})


class TestFastPathOutcomes:
    def test_each_record_is_raised_suppressed_joined_lost_or_missed(self) -> None:
        called = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        pages = [
            FastPage(_log_event("paged"), "d", True, False, called + timedelta(seconds=4)),
            FastPage(_log_event("suppressed"), "d", True, False, None, suppressed=True),
            FastPage(_log_event("joined"), "d", True, True, None),
            FastPage(_log_event("lost"), "d", False, False, None),
            FastPage(_log_event("dropped"), "d", True, False, None),
        ]
        outcomes = fast_outcomes(pages)
        assert [o.coverage for o in outcomes] == ["raised", "suppressed", "open episode", "lost", "missed"]
        assert outcomes[0].time_to_page == timedelta(seconds=4)
        assert {o.path for o in outcomes} == {PATH_FAST}
        (row,) = summarize(outcomes)
        assert (row.raised, row.lost, row.missed_within_tolerance, row.p50_seconds) == (1, 1, 1, 4.0)
