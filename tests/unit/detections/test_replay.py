"""Reading CloudTrail logs as people have them on disk: S3 delivery files, plain JSON, JSON Lines, folders."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import detections.replay as replay_module
from detections.replay import CatalogueMatcher, ReplayError, ReplayRecord, iter_file_records, iter_records
from testkit.cloudtrail import api, console_login, root


def events(count: int, name: str = "DescribeInstances") -> list[dict[str, object]]:
    return [api(name, "ec2", read_only=True) for _ in range(count)]


def write_trail_file(path: Path, records: list[dict[str, object]]) -> Path:
    """What a trail delivers to S3: gzip, one object with a Records array, on one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"Records": records}, handle, separators=(",", ":"))
    return path


def read(paths: list[Path]) -> tuple[list[ReplayRecord], list[ReplayError]]:
    items = list(iter_records(paths))
    return [i for i in items if isinstance(i, ReplayRecord)], [i for i in items if isinstance(i, ReplayError)]


def test_trail_delivery_file_is_read_record_by_record_in_order(tmp_path: Path) -> None:
    original = events(5)
    path = write_trail_file(
        tmp_path / "111122223333_CloudTrail_eu-west-1_20240502T1000Z_abc.json.gz", original
    )
    records, errors = read([path])
    assert errors == []
    assert [r.record for r in records] == original
    assert [r.position for r in records] == [1, 2, 3, 4, 5]
    assert {r.source for r in records} == {str(path)}


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(lambda recs: json.dumps({"Records": recs}, indent=2), id="pretty Records object"),
        pytest.param(lambda recs: json.dumps(recs), id="top-level array"),
        pytest.param(lambda recs: "\n".join(json.dumps(r) for r in recs) + "\n", id="JSON Lines"),
        pytest.param(lambda recs: json.dumps({"extra": 1, "Records": recs}), id="Records not the first key"),
        pytest.param(
            lambda recs: json.dumps({"Records": recs, "next": [1, {"a": "]"}]}), id="keys after Records"
        ),
        pytest.param(lambda recs: "\ufeff" + json.dumps({"Records": recs}), id="UTF-8 BOM"),
    ],
)
def test_plain_json_layouts(tmp_path: Path, layout: Callable[[list[dict[str, object]]], str]) -> None:
    original = events(3)
    path = tmp_path / "logs.json"
    path.write_text(layout(original), encoding="utf-8")
    assert list(iter_file_records(path)) == original


def test_single_record_file(tmp_path: Path) -> None:
    event = console_login(root())
    path = tmp_path / "one.json"
    path.write_text(json.dumps(event, indent=2))
    records, errors = read([path])
    assert [r.record for r in records] == [event] and errors == []


def test_records_larger_than_the_read_chunk_are_reassembled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tiny read chunk, every record and every token straddles chunk boundaries.
    monkeypatch.setattr(replay_module, "_CHUNK_CHARS", 7)
    original = events(20)
    original[3]["requestParameters"] = {"n": 12345678901234567890, "flag": True, "nothing": None}
    gz = write_trail_file(tmp_path / "a.json.gz", original)
    lines = tmp_path / "b.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in original))
    assert list(iter_file_records(gz)) == original
    assert list(iter_file_records(lines)) == original


def test_folders_are_walked_recursively_in_sorted_order_and_digests_skipped(tmp_path: Path) -> None:
    base = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "eu-west-1" / "2024" / "05"
    first = write_trail_file(base / "01" / "a.json.gz", events(2, "GetObject"))
    second = write_trail_file(base / "02" / "b.json.gz", events(3, "PutObject"))
    digest = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail-Digest" / "x_CloudTrail-Digest_y.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(b"not even gzip")
    (base / "notes.txt").write_text("ignored")
    records, errors = read([tmp_path])
    assert errors == []
    assert [r.source for r in records] == [str(first)] * 2 + [str(second)] * 3


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = write_trail_file(tmp_path / "download", events(2))
    assert len(list(iter_file_records(path))) == 2


def test_a_malformed_file_yields_what_it_could_read_then_one_error_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    good = events(2)
    broken = tmp_path / "a_broken.jsonl"
    broken.write_text(json.dumps(good[0]) + "\n" + '{"eventName": "X", oops}\n' + json.dumps(good[1]) + "\n")
    after = write_trail_file(tmp_path / "b_after.json.gz", events(1))
    records, errors = read([broken, after])
    assert [r.source for r in records] == [str(broken), str(after)]
    assert len(errors) == 1
    assert errors[0].source == str(broken)
    assert "after record 1" in errors[0].message and "invalid JSON" in errors[0].message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"", "empty file", id="empty"),
        pytest.param(b"   \n", "empty file", id="blank"),
        pytest.param(b'"just a string"', "expected a JSON object or array", id="string"),
        pytest.param(b'{"Records": [1, 2]}', "not a JSON object", id="non-object record"),
        pytest.param(
            b'{"Records": [{"eventName": "A"} {"eventName": "B"}]}', "expected ',' or ']'", id="no comma"
        ),
        pytest.param(b'{"Records": [{"eventName": "A"}', "expected ',' or ']'", id="unterminated array"),
        pytest.param(b"\xff\xfe{}", "not UTF-8", id="binary"),
    ],
)
def test_malformed_content_gets_a_clear_message(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    _, errors = read([path])
    assert len(errors) == 1 and expected in errors[0].message and str(path) in errors[0].message


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    path = write_trail_file(tmp_path / "t.json.gz", events(200))
    path.write_bytes(path.read_bytes()[:-40])
    records, errors = read([path])
    assert len(errors) == 1 and "gzip" in errors[0].message
    assert len(records) < 200


def test_missing_paths_and_empty_folders_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _, errors = read([tmp_path / "nope.json", tmp_path / "empty"])
    assert [e.message.split(": ", 1)[1] for e in errors] == [
        "no such file or folder",
        "folder holds no .json.gz, .json, .jsonl, .jsonl.gz, .ndjson, .ndjson.gz files",
    ]


class _TextWindow:
    largest = 0


def widest_text_window(monkeypatch: pytest.MonkeyPatch) -> _TextWindow:
    """Record the largest text window the reader's buffer ever holds (its memory bound) from now on."""
    window = _TextWindow()
    original_refill = replay_module._Buffer.refill

    def measured_refill(self: replay_module._Buffer) -> bool:
        result = original_refill(self)
        window.largest = max(window.largest, len(self.text))
        return result

    monkeypatch.setattr(replay_module._Buffer, "refill", measured_refill)
    return window


def test_memory_is_flat_the_reader_never_holds_the_whole_records_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 4 KiB chunk and a file ~100x larger, the text window never grows beyond a few chunks.
    monkeypatch.setattr(replay_module, "_CHUNK_CHARS", 4096)
    path = write_trail_file(tmp_path / "big.json.gz", events(1000))
    window = widest_text_window(monkeypatch)
    assert sum(1 for _ in iter_file_records(path)) == 1000
    text_size = len(gzip.decompress(path.read_bytes()).decode())
    assert text_size > 50 * 4096
    assert window.largest <= 3 * 4096


def test_a_malformed_record_early_in_a_large_file_is_reported_without_reading_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 4 KiB chunks and a ~100x larger file whose second record is broken
    monkeypatch.setattr(replay_module, "_CHUNK_CHARS", 4096)
    records = [json.dumps(r) for r in events(1000)]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join([records[0], '{"eventName": "X", oops}', *records[2:]]) + "\n")
    window = widest_text_window(monkeypatch)
    # When it is read, then the error comes at once: the window never grew towards the file's size
    found, errors = read([path])
    assert len(found) == 1 and "invalid JSON" in errors[0].message
    assert window.largest <= 2 * 4096


def test_values_cut_at_any_chunk_boundary_are_still_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Literals, numbers, escapes and strings split across tiny chunks must not look malformed
    monkeypatch.setattr(replay_module, "_CHUNK_CHARS", 7)
    record = {"eventName": "A", "t": True, "f": False, "n": None, "x": -1.5e-3, "s": '\u00e9"\\ \ud83d\ude00'}
    path = write_trail_file(tmp_path / "tiny.json.gz", [record, {**record, "eventName": "B"}])
    assert [r["eventName"] for r in iter_file_records(path)] == ["A", "B"]


# --- CatalogueMatcher ------------------------------------------------------------------------------------


def test_matcher_reports_each_detection_once_in_catalogue_order() -> None:
    matcher = CatalogueMatcher()
    # LeaveOrganization denied: CIS 4.15 text and the Prowler variant both match, plus unauthorized calls.
    event = api("LeaveOrganization", "organizations", error_code="AccessDenied")
    assert matcher.match(event) == ["organizations-changes", "unauthorized-api-calls"]


def test_matcher_agrees_with_evaluating_every_pattern_one_by_one() -> None:
    from detections.catalogue import CATALOGUE
    from detections.filter_pattern import compile_pattern
    from detections.rule_files import cases_path_of, load_cases

    matcher = CatalogueMatcher()
    for detection in CATALOGUE:
        for case in load_cases(cases_path_of(Path(detection.source))):
            event = case.record
            expected = [
                d.id for d in CATALOGUE if any(compile_pattern(p).matches_json(event) for p in d.all_patterns)
            ]
            assert matcher.match(event) == expected
