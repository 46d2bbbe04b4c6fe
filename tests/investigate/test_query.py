"""The query model: times, bad input (exit 2, the option named), and the one compiled filter pattern."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from detections.__main__ import main
from detections.catalogue import CATALOGUE
from detections.filter_pattern import compile_pattern
from detections.investigate import (
    Filters,
    UsageError,
    compile_filters,
    parse_time,
    render_json,
    time_range,
)
from tests.investigate.trail_data import CULPRIT_ARN, CULPRIT_IP, TABLE, dynamodb_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(["investigate", *argv])
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("36h", NOW - timedelta(hours=36)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-11-24", datetime(2026, 11, 24, tzinfo=UTC)),
        ("2026-11-24T14:07:31Z", datetime(2026, 11, 24, 14, 7, 31, tzinfo=UTC)),
        ("2026-11-24T16:07:31+02:00", datetime(2026, 11, 24, 14, 7, 31, tzinfo=UTC)),
    ],
)
def test_times_absolute_and_relative(text: str, expected: datetime) -> None:
    assert parse_time(text, "--since", NOW) == expected


def test_default_range_is_the_last_24_hours() -> None:
    window = time_range(None, None, NOW)
    assert (window.start, window.end) == (NOW - timedelta(hours=24), NOW)


def test_event_time_check_is_inclusive_and_second_precise() -> None:
    window = time_range("2026-11-24T14:00:00Z", "2026-11-24T15:00:00Z", NOW)
    assert window.contains_event_time("2026-11-24T14:00:00Z")
    assert window.contains_event_time("2026-11-24T15:00:00Z")
    assert not window.contains_event_time("2026-11-24T15:00:01Z")
    assert not window.contains_event_time("2026-11-24T13:59:59Z")
    assert not window.contains_event_time(None)


@pytest.mark.parametrize(
    ("argv", "option", "fix"),
    [
        (["--since", "1d", "--until", "2d"], "--since", "earlier than --until"),
        (["--since", "2026-11-24T10:00:00Z", "--until", "2026-11-24T10:00:00Z"], "--since", "range is empty"),
        (["--since", "last tuesday"], "--since", "ISO 8601"),
        (["--until", "soon"], "--until", "relative time"),
        (["--pattern", "{ $.eventName = "], "--pattern", "position 15"),
        (["--detection", "no-such-detection"], "--detection", "python -m detections list"),
        (["--event-name", "X", "--pattern", "ERROR"], "--pattern", "only JSON patterns"),
        (["--max-events", "0"], "--max-events", "positive"),
        (["--resource", "a", "--resource", "b"], "filters", "three wildcard selectors"),
        (["--source", "files"], "PATH", "needs PATHs"),
        (["--source", "events", "some/folder"], "PATH", "drop the PATHs"),
    ],
)
def test_bad_input_names_the_option_and_the_fix(argv, option, fix, capsys, tmp_path: Path) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {option}: ")
    assert fix in err
    assert err.count("error:") == 1


def test_a_detection_of_the_users_own_rules_is_looked_up_in_their_folder(capsys, tmp_path: Path) -> None:
    # Given a trail file: a CreateUser (examples/rules/iam-user-created.toml matches it) and a DeleteTable
    when = datetime.now(UTC) - timedelta(hours=1)
    created = {
        **dynamodb_event("CreateUser", when, CULPRIT_ARN, CULPRIT_IP),
        "eventSource": "iam.amazonaws.com",
    }
    deleted = dynamodb_event("DeleteTable", when, CULPRIT_ARN, CULPRIT_IP)
    trail = tmp_path / "trail.jsonl"
    trail.write_text(f"{json.dumps(created)}\n{json.dumps(deleted)}\n")
    rules = Path(__file__).resolve().parents[2] / "examples" / "rules"
    argv = ["--detection", "iam-user-created", "--since", "1d", "--format", "jsonl", str(trail)]

    # Without the folder, the id is unknown, and the error says where it looked and how to add a folder
    code, _, err = run(argv, capsys)
    assert code == 2 and err.startswith("error: --detection: no detection 'iam-user-created'")
    assert "--rules-dir DIR" in err
    # With it, the rule's pattern selects the CreateUser only
    code, out, err = run([*argv, "--rules-dir", str(rules)], capsys)
    assert code == 0, err
    assert [json.loads(line)["event"] for line in out.splitlines()] == ["CreateUser"]
    # A folder that is no rules folder is named as the problem
    code, _, err = run([*argv, "--rules-dir", str(tmp_path / "absent")], capsys)
    assert code == 2 and err.startswith("error: --rules-dir: ")


def test_an_unknown_filter_is_a_usage_error(capsys) -> None:
    code, _, err = run(["--user", "alice", "x"], capsys)
    assert code == 2
    assert "unrecognized arguments: --user" in err


def test_pattern_error_points_at_the_position(capsys) -> None:
    code, _, err = run(["--pattern", '{ $.eventName = "A" && }'], capsys)
    assert code == 2
    lines = err.splitlines()
    pattern_line = next(n for n, line in enumerate(lines) if line.strip().startswith("{"))
    column = lines[pattern_line + 1].index("^") - lines[pattern_line].index("{")
    assert f"position {column}" in err


def _shape(value: Any) -> Any:
    """An AST without source positions (and compiled regexes): what a pattern means, not where it was."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            *(
                _shape(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name not in ("position", "compiled")
            ),
        )
    if isinstance(value, tuple):
        return tuple(_shape(v) for v in value)
    return value


@pytest.mark.parametrize("text", [p for d in CATALOGUE for p in d.all_patterns], ids=lambda t: t[:60])
def test_rendering_a_parsed_pattern_compiles_back_to_the_same_expression(text: str) -> None:
    original = compile_pattern(text).json_expression
    assert original is not None
    rendered = compile_pattern("{ " + render_json(original) + " }").json_expression
    assert _shape(rendered) == _shape(original)


def test_every_detection_combines_with_the_other_filters() -> None:
    for detection in CATALOGUE:
        filters = Filters(
            event_names=("X",),
            detection_patterns=tuple(compile_pattern(p) for p in detection.all_patterns),
        )
        patterns = compile_filters(filters)
        assert all(p.kind == "json" and len(p.source) <= 1024 for p in patterns), detection.id
        # One pattern unless the detection's own patterns OR'ed do not fit in one.
        assert len(patterns) == 1 or len(detection.all_patterns) == len(patterns)


def _filters(**values: Any) -> Filters:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return Filters(**fields)


DELETE = dynamodb_event("DeleteTable", NOW - timedelta(days=6), CULPRIT_ARN, CULPRIT_IP)
OTHER_TABLE = dynamodb_event(
    "DeleteTable", NOW - timedelta(days=6), CULPRIT_ARN, CULPRIT_IP, table="orders-v2"
)


@pytest.mark.parametrize(
    ("filters", "record", "expected"),
    [
        (_filters(event_names=["DescribeTable", "DeleteTable"]), DELETE, True),
        (_filters(event_names=["DescribeTable"]), DELETE, False),
        (_filters(principals=[CULPRIT_ARN]), DELETE, True),
        (_filters(principals=["arn:aws:iam::111122223333:role/admin"]), DELETE, True),  # the session's issuer
        (_filters(principals=["admin"]), DELETE, True),  # role name
        (_filters(principals=["mallory"]), DELETE, True),  # session name
        (_filters(principals=["ASIAEXAMPLEMALLORY01"]), DELETE, True),  # access key id
        (_filters(principals=["trent"]), DELETE, False),
        (_filters(resources=[TABLE]), DELETE, True),
        (_filters(resources=[TABLE]), OTHER_TABLE, False),
        (_filters(resources=["arn:aws:dynamodb:us-east-1:111122223333:table/orders"]), DELETE, True),
        (_filters(source_ips=["203.0.113.*"]), DELETE, True),
        (_filters(source_ips=["198.51.100.7"]), DELETE, False),
        (_filters(accounts=["111122223333"], regions=["us-east-1"]), DELETE, True),
        (_filters(accounts=["111122223333"], regions=["eu-west-1"]), DELETE, False),  # AND across options
        (_filters(pattern=compile_pattern('{ $.requestParameters.tableName = "ord*" }')), DELETE, True),
        (
            _filters(event_names=["DeleteTable"], pattern=compile_pattern("{ $.readOnly IS TRUE }")),
            DELETE,
            False,
        ),
        (_filters(pattern=compile_pattern('"DeleteTable" "orders"')), DELETE, True),  # a terms pattern alone
    ],
)
def test_the_compiled_pattern_decides(filters: Filters, record: dict[str, Any], expected: bool) -> None:
    (pattern,) = compile_filters(filters)
    assert pattern.matches_json(record) is expected
    # The text sent to FilterLogEvents means the same on the raw message (as CloudWatch Logs sees it).
    import json

    assert compile_pattern(pattern.source).matches(json.dumps(record)) is expected


def test_no_filters_match_everything() -> None:
    assert [p.kind for p in compile_filters(Filters())] == ["all"]


def test_usage_error_text() -> None:
    assert str(UsageError("--since", "x; y")) == "--since: x; y"
