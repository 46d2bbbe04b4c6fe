"""`python -m detections list` and `match`: the output contracts of issue 3, in-process and as a module."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from detections.__main__ import main
from detections.catalogue import CATALOGUE
from detections.cli_catalogue import replay
from testkit.cloudtrail import DENIED, api, console_login, iam_user, root

REPO = Path(__file__).resolve().parents[3]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def trail_file(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        json.dump({"Records": records}, handle)
    return path


# --- list ------------------------------------------------------------------------------------------------


def test_list_json_is_an_array_of_every_detection_with_the_contract_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(["list", "--format", "json", "--builtin-only"], capsys)
    assert code == 0 and err == ""
    listed = json.loads(out)
    assert [d["id"] for d in listed] == [d.id for d in CATALOGUE]
    for entry, detection in zip(listed, CATALOGUE, strict=True):
        assert {"id", "title", "severity", "pattern", "controls"} <= set(entry)
        assert entry["pattern"] == detection.pattern
        assert entry["controls"] == list(detection.controls)
        assert entry["additional_patterns"] == list(detection.additional_patterns)
        assert entry["runbook"] == detection.runbook and entry["resolve_policy"] == detection.resolve_policy


def test_list_table_has_one_line_per_detection(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["list", "--builtin-only"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(CATALOGUE) + 1
    assert lines[0].split()[:3] == ["ID", "SEVERITY", "CONTROLS"]
    (root_line,) = [line for line in lines if line.startswith("root-account-usage ")]
    assert "CloudWatch.1" in root_line


# --- match -----------------------------------------------------------------------------------------------


def test_match_json_prints_one_object_per_record_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = [console_login(root(), mfa="No"), api("DescribeInstances", "ec2", read_only=True)]
    second = [api("StopLogging", "cloudtrail"), api("DeleteDetector", "guardduty", **DENIED)]
    trail_file(tmp_path / "logs" / "a.json.gz", first)
    (tmp_path / "logs" / "b.jsonl").write_text("\n".join(json.dumps(r) for r in second))
    code, out, err = run_cli(["match", "--format", "json", str(tmp_path / "logs")], capsys)
    assert code == 0 and err == ""
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [
        {
            "eventID": first[0]["eventID"],
            "eventName": "ConsoleLogin",
            "matches": ["root-account-usage", "root-console-login"],
        },
        {"eventID": first[1]["eventID"], "eventName": "DescribeInstances", "matches": []},
        {
            "eventID": second[0]["eventID"],
            "eventName": "StopLogging",
            "matches": ["cloudtrail-configuration-changes"],
        },
        {
            "eventID": second[1]["eventID"],
            "eventName": "DeleteDetector",
            "matches": ["unauthorized-api-calls"],
        },
    ]


def test_match_text_lists_only_matching_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = trail_file(tmp_path / "a.json.gz", [api("ListBuckets", "s3"), api("PutKeyPolicy", "kms")])
    code, out, _ = run_cli(["match", str(path)], capsys)
    assert code == 0
    (line,) = out.splitlines()
    assert "PutKeyPolicy" in line and "arn:aws:iam::111122223333:user/alice" in line
    assert line.endswith("-> kms-key-policy-changed")


def test_summary_counts_first_last_principals_and_source_ips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = [
        console_login(iam_user(name), outcome="Failure", error_message="Failed authentication")
        for name in ("a", "b", "b")
    ]
    path = trail_file(tmp_path / "a.json.gz", [*failures, api("DescribeVpcs", "ec2")])
    code, out, _ = run_cli(["match", "--summary", "--format", "json", str(path)], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["records"] == 4 and summary["matchedRecords"] == 3 and summary["matches"] == 3
    top = summary["detections"][0]
    assert top["id"] == "console-authentication-failures" and top["count"] == 3
    assert top["firstSeen"] == failures[0]["eventTime"] and top["lastSeen"] == failures[2]["eventTime"]
    assert top["topPrincipals"][0] == {"principal": "arn:aws:iam::111122223333:user/b", "count": 2}
    assert top["topSourceIPs"] == [{"sourceIPAddress": "203.0.113.10", "count": 3}]
    assert summary["matchesPerThousandRecords"] == 750.0


def test_summary_text_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = trail_file(tmp_path / "a.json.gz", [api("StopLogging", "cloudtrail")])
    code, out, _ = run_cli(["match", "--summary", str(path)], capsys)
    assert code == 0
    assert out.startswith("Records: 1   matched: 1")
    assert "cloudtrail-configuration-changes: 1" in out and "No matches (" in out


def test_bad_files_are_reported_per_file_and_the_exit_code_says_so(tmp_path: Path) -> None:
    good = trail_file(tmp_path / "good.json.gz", [api("DeleteTrail", "cloudtrail")])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out, err = io.StringIO(), io.StringIO()
    code = replay(
        [str(bad), str(tmp_path / "missing.json"), str(good)],
        output_format="json",
        summary=False,
        out=out,
        err=err,
    )
    assert code == 1
    assert json.loads(out.getvalue())["matches"] == ["cloudtrail-configuration-changes"]
    messages = err.getvalue().splitlines()
    assert messages[0].startswith(f"error: {bad}: before the first record: invalid JSON")
    assert messages[1] == f"error: {tmp_path / 'missing.json'}: no such file or folder"
    assert messages[2] == "2 file(s) could not be read completely; see the errors above."


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    path = trail_file(tmp_path / "a.json.gz", [api("DescribeInstances", "ec2")] * 5000)
    err = io.StringIO()
    assert replay([str(path)], output_format="text", summary=True, out=io.StringIO(), err=err) == 0
    assert err.getvalue() == ""


def test_progress_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = trail_file(tmp_path / "a.json.gz", [api("DescribeInstances", "ec2")] * 5000)
    err = Terminal()
    assert replay([str(path)], output_format="text", summary=True, out=io.StringIO(), err=err) == 0
    assert "records" in err.getvalue() and err.getvalue().endswith("\r\033[K")


def test_help_documents_inputs_output_and_exit_status() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "detections", "match", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    text = " ".join(result.stdout.split())
    assert ".json.gz" in text and "JSON Lines" in text and "--summary" in text
    assert (
        "Exit status: 0 when every file was read; 1 when at least one file was missing or malformed" in text
    )


def test_module_entry_point_runs_match_end_to_end(tmp_path: Path) -> None:
    path = trail_file(tmp_path / "a.json.gz", [api("DeleteFlowLogs", "ec2")])
    result = subprocess.run(
        [sys.executable, "-m", "detections", "match", "--format", "json", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["matches"] == ["network-logging-deleted"]
