"""`python -m detections test-metric-filter` prints exactly what `aws logs test-metric-filter` prints.

AWS CLI v2's JSON output is json.dump(response, indent=4, ensure_ascii=False) plus a newline
(awscli/formatter.py JSONFormatter); TestMetricFilter's response is {"matches": [{eventNumber, eventMessage,
extractedValues}]} with 1-based event numbers for the matching messages only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from detections.__main__ import main

REPO = Path(__file__).resolve().parents[3]
APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'


def run_cli(capsys: pytest.CaptureFixture[str], pattern: str, *messages: str) -> tuple[int, str, str]:
    code = main(["test-metric-filter", "--filter-pattern", pattern, "--log-event-messages", *messages])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_delimited_pattern_prints_matches_with_extracted_values(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the TestMetricFilter API example (Apache access log) and a second, non-matching message
    code, out, err = run_cli(
        capsys,
        "[ip, identity, user_id, timestamp, request, status_code = 200, size]",
        APACHE,
        "no match here",
    )
    # Then the output is the AWS CLI's JSON, byte for byte
    assert (code, err) == (0, "")
    assert out == (
        "{\n"
        '    "matches": [\n'
        "        {\n"
        '            "eventNumber": 1,\n'
        '            "eventMessage": "127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \\"GET /apache_pb.gif '
        'HTTP/1.0\\" 200 1534",\n'
        '            "extractedValues": {\n'
        '                "$ip": "127.0.0.1",\n'
        '                "$identity": "-",\n'
        '                "$user_id": "frank",\n'
        '                "$timestamp": "10/Oct/2000:13:25:15 -0700",\n'
        '                "$request": "GET /apache_pb.gif HTTP/1.0",\n'
        '                "$status_code": "200",\n'
        '                "$size": "1534"\n'
        "            }\n"
        "        }\n"
        "    ]\n"
        "}\n"
    )


def test_json_pattern_numbers_events_from_one_and_skips_non_matches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(
        capsys,
        '{ $.eventName = "ConsoleLogin" }',
        '{"eventName":"GetObject"}',
        '{"eventName":"ConsoleLogin","note":"caf\u00e9"}',
    )
    assert code == 0
    assert out == (
        "{\n"
        '    "matches": [\n'
        "        {\n"
        '            "eventNumber": 2,\n'
        '            "eventMessage": "{\\"eventName\\":\\"ConsoleLogin\\",\\"note\\":\\"caf\u00e9\\"}",\n'
        '            "extractedValues": {}\n'
        "        }\n"
        "    ]\n"
        "}\n"
    )


def test_no_match_prints_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "ERROR", "all good")
    assert (code, out) == (0, '{\n    "matches": []\n}\n')


def test_bad_pattern_exits_254_with_the_position_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "{ $.a IS NOT NULL }", "{}")
    assert (code, out) == (254, "")
    assert "InvalidParameterException" in err
    assert "Invalid filter pattern at position 9: 'IS NOT' is not supported" in err


def test_too_long_pattern_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "x" * 1025, "x")
    assert (code, out) == (254, "")
    assert "length less than or equal to 1024" in err


def test_more_than_50_messages_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "x", *(["x"] * 51))
    assert (code, out) == (254, "")
    assert "less than or equal to 50" in err


def test_exactly_50_messages_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "x", *(["x"] * 50))
    assert code == 0
    assert '"eventNumber": 50,' in out


def test_empty_message_fails_parameter_validation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "x", "x", "")
    assert (code, out) == (252, "")
    assert "logEventMessages[1], value: 0, valid min length: 1" in err


def test_missing_messages_is_a_usage_error_with_the_aws_cli_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["test-metric-filter", "--filter-pattern", "x", "--log-event-messages"])
    assert exited.value.code == 252
    assert "--log-event-messages: expected at least one argument" in capsys.readouterr().err


def test_missing_pattern_is_a_usage_error_with_the_aws_cli_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["test-metric-filter", "--log-event-messages", "x"])
    assert exited.value.code == 252
    assert "the following arguments are required: --filter-pattern" in capsys.readouterr().err


def test_other_commands_keep_argparse_usage_exit_code() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["match", "--no-such-option"])
    assert exited.value.code == 2


def test_module_entry_point_runs_as_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "detections", "test-metric-filter", "--filter-pattern", "%ERR%",
         "--log-event-messages", "an ERROR", "fine"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '{\n    "matches": [\n        {\n            "eventNumber": 1,\n'
        '            "eventMessage": "an ERROR",\n'
        '            "extractedValues": {}\n        }\n    ]\n}\n'
    )
