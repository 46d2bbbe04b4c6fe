"""The demo's CloudWatch alarm evaluator, specified by the behaviour CloudWatch documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demo.alarm_evaluator import (
    AlarmDefinition,
    AlarmDefinitionError,
    AlarmSimulation,
    Datapoint,
    aggregate,
    evaluate,
    minutes_between,
    to_datapoints,
)

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def detection_alarm(**overrides: object) -> AlarmDefinition:
    settings: dict[str, object] = {
        "name": "security-baseline-root-account-usage",
        "metric_name": "root-account-usage",
        "namespace": "SecurityBaseline",
        "statistic": "Sum",
        "period_seconds": 60,
        "evaluation_periods": 1,
        "threshold": 1.0,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "treat_missing_data": "notBreaching",
    }
    settings.update(overrides)
    return AlarmDefinition(**settings)  # type: ignore[arg-type]


def points(values: dict[int, float], period_minutes: int = 1) -> dict[datetime, Datapoint]:
    """Datapoints keyed by bucket start, from {minute: value}."""
    return {minute(m * period_minutes): Datapoint(minute(m * period_minutes), v) for m, v in values.items()}


class TestSingleDatapointAlarm:
    def test_one_match_in_the_last_minute_alarms(self) -> None:
        # Given a Sum >= 1 over 60 s alarm and one matching event at 09:05:xx
        alarm = detection_alarm()
        # When it is evaluated at 09:06:00
        result = evaluate(alarm, points({5: 1.0}), minute(6), "OK")
        # Then it is in ALARM, with CloudWatch's reason text
        assert result.state == "ALARM"
        assert result.reason == (
            "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (14/03/26 09:05:00)] was greater than or "
            "equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
        )

    def test_the_period_still_running_is_not_evaluated(self) -> None:
        alarm = detection_alarm()
        assert evaluate(alarm, points({5: 1.0}), minute(5) + timedelta(seconds=59), "OK").state == "OK"

    def test_no_data_at_all_is_ok_when_missing_data_is_not_breaching(self) -> None:
        result = evaluate(detection_alarm(), {}, minute(6), "ALARM")
        assert result.state == "OK"
        assert result.reason == (
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated "
            "as [NonBreaching]."
        )

    def test_a_lone_breach_keeps_the_alarm_in_alarm_while_it_is_inside_the_evaluation_range(self) -> None:
        # CloudWatch evaluates the most recent *real* datapoints in its (wider) evaluation range, so a metric
        # that stops reporting keeps being re-evaluated on its last datapoint for a while.
        alarm = detection_alarm()
        data = points({5: 1.0})
        states = [evaluate(alarm, data, minute(m), "ALARM").state for m in range(6, 11)]
        assert states == ["ALARM", "ALARM", "ALARM", "OK", "OK"]

    def test_a_zero_datapoint_from_a_metric_filter_default_value_clears_the_alarm_at_once(self) -> None:
        alarm = detection_alarm()
        result = evaluate(alarm, points({5: 1.0, 6: 0.0}), minute(7), "ALARM")
        assert result.state == "OK"
        assert "was not greater than or equal to the threshold (1.0)" in result.reason
        assert "(minimum 1 datapoint for ALARM -> OK transition)" in result.reason


class TestMOfN:
    def test_two_of_three_needs_two_breaching_datapoints_listed_newest_first(self) -> None:
        alarm = detection_alarm(evaluation_periods=3, datapoints_to_alarm=2)
        assert evaluate(alarm, points({3: 0.0, 4: 1.0, 5: 0.0}), minute(6), "OK").state == "OK"
        result = evaluate(alarm, points({3: 2.0, 4: 0.0, 5: 1.0}), minute(6), "OK")
        assert result.state == "ALARM"
        assert result.reason.startswith(
            "Threshold Crossed: 2 out of the last 3 datapoints "
            "[1.0 (14/03/26 09:05:00), 2.0 (14/03/26 09:03:00)]"
        )
        assert "(minimum 2 datapoints for OK -> ALARM transition)" in result.reason

    def test_datapoints_to_alarm_defaults_to_evaluation_periods(self) -> None:
        alarm = detection_alarm(evaluation_periods=3)
        assert evaluate(alarm, points({3: 1.0, 4: 1.0, 5: 0.0}), minute(6), "OK").state == "OK"
        assert evaluate(alarm, points({3: 1.0, 4: 1.0, 5: 1.0}), minute(6), "OK").state == "ALARM"

    def test_enough_real_datapoints_in_the_range_means_missing_data_treatment_is_not_used(self) -> None:
        # 3 of 3, range 5: real datapoints at -5, -3, -2 (and -4, -1 missing) are the 3 most recent real ones.
        alarm = detection_alarm(evaluation_periods=3, treat_missing_data="breaching")
        data = points({1: 0.0, 3: 1.0, 4: 1.0})
        assert evaluate(alarm, data, minute(6), "OK").state == "OK"

    def test_too_few_real_datapoints_are_topped_up_with_missing_ones_treated_as_configured(self) -> None:
        data = points({5: 1.0})
        two_of_three = {"evaluation_periods": 3, "datapoints_to_alarm": 2}
        assert evaluate(
            detection_alarm(**two_of_three, treat_missing_data="breaching"), data, minute(6), "OK"
        ).state == ("ALARM")
        assert evaluate(
            detection_alarm(**two_of_three, treat_missing_data="notBreaching"), data, minute(6), "OK"
        ).state == ("OK")


class TestMissingDataTreatments:
    @pytest.mark.parametrize(
        ("treatment", "current", "expected"),
        [
            ("notBreaching", "ALARM", "OK"),
            ("breaching", "OK", "ALARM"),
            ("missing", "OK", "INSUFFICIENT_DATA"),
            ("ignore", "ALARM", "ALARM"),
            ("ignore", "OK", "OK"),
        ],
    )
    def test_a_range_without_any_datapoint(self, treatment: str, current: str, expected: str) -> None:
        alarm = detection_alarm(treat_missing_data=treatment)
        assert evaluate(alarm, {}, minute(10), current).state == expected  # type: ignore[arg-type]

    def test_missing_reports_how_many_datapoints_were_unknown(self) -> None:
        result = evaluate(
            detection_alarm(evaluation_periods=2, treat_missing_data="missing"), {}, minute(9), "OK"
        )
        assert result.reason == "Insufficient Data: 2 datapoints were unknown."

    @pytest.mark.parametrize("treatment", ["missing", "ignore"])
    def test_with_some_real_datapoints_missing_and_ignore_evaluate_those(self, treatment: str) -> None:
        alarm = detection_alarm(evaluation_periods=3, datapoints_to_alarm=1, treat_missing_data=treatment)
        assert evaluate(alarm, points({5: 3.0}), minute(6), "OK").state == "ALARM"
        assert evaluate(alarm, points({5: 0.0}), minute(6), "ALARM").state == "OK"


class TestLongerPeriods:
    def test_five_minute_period_sums_the_whole_bucket(self) -> None:
        alarm = detection_alarm(period_seconds=300, threshold=3.0)
        samples = [(minute(1), 1.0), (minute(2), 1.0), (minute(4) + timedelta(seconds=59), 1.0)]
        data = to_datapoints(samples, "Sum", 300)
        assert list(data) == [minute(0)]
        assert evaluate(alarm, data, minute(4), "OK").state == "OK"  # bucket 09:00-09:05 not complete yet
        assert evaluate(alarm, data, minute(5), "OK").state == "ALARM"


class TestStatistics:
    @pytest.mark.parametrize(
        ("statistic", "expected"),
        [("Sum", 3.0), ("SampleCount", 3.0), ("Average", 1.0), ("Minimum", 0.0), ("Maximum", 2.0)],
    )
    def test_aggregate(self, statistic: str, expected: float) -> None:
        assert aggregate(statistic, [1.0, 0.0, 2.0]) == expected

    def test_average_of_a_metric_filter_never_exceeds_one(self) -> None:
        # The bug in many public CIS constructs: Average of 1-valued samples is 1, so "> 1" never fires.
        alarm = detection_alarm(statistic="Average", comparison_operator="GreaterThanThreshold")
        data = to_datapoints([(minute(5), 1.0)] * 40, "Average", 60)
        assert evaluate(alarm, data, minute(6), "OK").state == "OK"


class TestSimulation:
    def test_transitions_over_simulated_minutes(self) -> None:
        alarm = detection_alarm(ok_actions=("arn:aws:sns:us-east-1:111122223333:alerts",))
        simulation = AlarmSimulation(alarm, points({5: 1.0, 6: 2.0}))
        simulation.settle(minute(0))
        assert simulation.state == "OK"
        for moment in minutes_between(minute(0), minute(15)):
            simulation.step(moment)
        assert [(t.at, t.old_state, t.new_state) for t in simulation.transitions] == [
            (minute(6), "OK", "ALARM"),
            (minute(10), "ALARM", "OK"),
        ]
        assert simulation.transitions[1].actions == ("arn:aws:sns:us-east-1:111122223333:alerts",)
        assert simulation.transitions[0].actions == ()

    def test_minutes_between_are_whole_minutes_after_the_start(self) -> None:
        moments = minutes_between(minute(0) + timedelta(seconds=30), minute(3))
        assert moments == [minute(1), minute(2), minute(3)]


class TestDefinitionValidation:
    @pytest.mark.parametrize(
        ("override", "fragment"),
        [
            ({"statistic": "p99"}, "Statistic 'p99'"),
            ({"comparison_operator": "LessThanLowerOrGreaterThanUpperThreshold"}, "ComparisonOperator"),
            ({"period_seconds": 10}, "Period 10"),
            ({"datapoints_to_alarm": 2}, "DatapointsToAlarm 2"),
            ({"treat_missing_data": "zero"}, "TreatMissingData 'zero'"),
        ],
    )
    def test_unsupported_settings_are_named(self, override: dict[str, object], fragment: str) -> None:
        with pytest.raises(AlarmDefinitionError, match="security-baseline-root-account-usage") as raised:
            detection_alarm(**override)
        assert fragment in str(raised.value)
